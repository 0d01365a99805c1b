// The demo's chat widget: a bubble opening a panel with suggested questions, a text box and a
// call to action. Every step calls trackEvent() from /analytics.js; questions go to the
// worker's fake chat backend (POST /demo/chat) with chatHeaders(), and that backend records
// message_sent with its timings, as a real chat backend would.
(function () {
  "use strict";
  var bubble = document.getElementById("bubble");
  var panel = document.getElementById("panel");
  var log = document.getElementById("log");
  var input = document.getElementById("question");

  function say(text, who) {
    var p = document.createElement("p");
    p.className = "msg " + who;
    p.textContent = text;
    log.appendChild(p);
    log.scrollTop = log.scrollHeight;
  }

  function open() {
    panel.hidden = false;
    bubble.setAttribute("aria-expanded", "true");
    trackEvent("bubble_opened");
    input.focus();
  }

  function close() {
    panel.hidden = true;
    bubble.setAttribute("aria-expanded", "false");
    trackEvent("bubble_closed");
    bubble.focus();
  }

  function ask(question) {
    question = question.trim();
    if (!question) return;
    say(question, "user");
    var headers = chatHeaders();
    headers["Content-Type"] = "application/json";
    fetch("/demo/chat", { method: "POST", headers: headers, body: JSON.stringify({ question: question }) })
      .then(function (r) {
        return r.json();
      })
      .then(function (a) {
        say(a.answer || a.error || "Sorry, something went wrong.", "bot");
      })
      .catch(function () {
        say("The chat is unavailable right now.", "bot");
      });
  }

  bubble.addEventListener("click", function () {
    if (panel.hidden) open();
    else close();
  });
  document.getElementById("close").addEventListener("click", close);
  document.getElementById("suggestions").addEventListener("click", function (e) {
    if (e.target.tagName !== "BUTTON") return;
    var question = e.target.textContent;
    trackEvent("suggestion_clicked", { question: question });
    ask(question);
  });
  document.getElementById("ask").addEventListener("submit", function (e) {
    e.preventDefault();
    ask(input.value);
    input.value = "";
  });
  document.getElementById("cta").addEventListener("click", function () {
    trackEvent("cta_clicked");
  });
})();
