/*! Chatbot Analytics widget tracker, served by the analytics worker at /analytics.js
 *
 *   <script src="https://YOUR-WORKER/analytics.js" defer></script>
 *   <script src="https://YOUR-WORKER/analytics.js" data-endpoint="https://YOUR-WORKER" defer></script>
 *
 * window.trackEvent(type, props): sends one event (fire and forget; returns whether it was
 *   handed to the browser). window.chatHeaders(): the page-context headers for requests to the
 *   chat backend. Sends widget_loaded once. No cookies; the session id lives in localStorage
 *   (memory when storage is blocked). Does nothing at all with Global Privacy Control or Do Not
 *   Track on. Never throws into the page.
 */
(function (w, d, n) {
  "use strict";
  if (w.trackEvent && w.trackEvent.chatbotAnalytics) return; // included twice

  var KEY = "chatbot-analytics-session";
  var script = d.currentScript;
  var endpoint = "/analytics-event";
  try {
    var base = (script && script.getAttribute("data-endpoint")) || (script && script.src) || location.href;
    endpoint = new URL("/analytics-event", base).href;
  } catch (e) {}

  var off = n.globalPrivacyControl === true || n.doNotTrack === "1" || w.doNotTrack === "1";
  var memory = null;

  function newSession() {
    return "session-" + Date.now() + "-" + Math.random().toString(36).slice(2, 11).padEnd(9, "0");
  }

  function session() {
    try {
      var id = w.localStorage.getItem(KEY);
      if (!/^session-\d+-[a-z0-9]{9}$/.test(id || "")) {
        id = newSession();
        w.localStorage.setItem(KEY, id);
      }
      return id;
    } catch (e) {
      return memory || (memory = newSession()); // storage blocked: this page view only
    }
  }

  // A URL without its query string and fragment (they can hold e-mail addresses or tokens).
  function bare(url) {
    try {
      var u = new URL(url);
      return /^https?:$/.test(u.protocol) ? u.origin + u.pathname : "";
    } catch (e) {
      return "";
    }
  }

  function context() {
    return { pageUrl: bare(location.href), pageTitle: d.title || "", referrer: bare(d.referrer) };
  }

  function trackEvent(type, props) {
    try {
      if (off || n.onLine === false || typeof type !== "string") return false;
      var event = context();
      for (var k in props || {}) if (Object.prototype.hasOwnProperty.call(props, k)) event[k] = props[k];
      event.eventType = type;
      event.sessionId = session();
      var body = JSON.stringify(event);
      // A string beacon is sent as text/plain: no CORS preflight, and it survives unload.
      if (n.sendBeacon && n.sendBeacon(endpoint, body)) return true;
      if (w.fetch) {
        w.fetch(endpoint, { method: "POST", body: body, keepalive: true, mode: "cors", credentials: "omit", headers: { "Content-Type": "text/plain" } })["catch"](function () {});
        return true;
      }
    } catch (e) {}
    return false;
  }
  trackEvent.chatbotAnalytics = true;

  // Headers for the chat backend's requests; values percent-encoded (titles need not be ASCII).
  function chatHeaders() {
    if (off) return {};
    try {
      var c = context();
      return {
        "X-Page-URL": encodeURIComponent(c.pageUrl),
        "X-Page-Title": encodeURIComponent(c.pageTitle),
        "X-Referrer": encodeURIComponent(c.referrer),
        "X-Session-ID": session(),
      };
    } catch (e) {
      return {};
    }
  }

  w.trackEvent = trackEvent;
  w.chatHeaders = chatHeaders;

  function loaded() {
    trackEvent("widget_loaded");
  }
  if (d.readyState === "loading") d.addEventListener("DOMContentLoaded", loaded, { once: true });
  else loaded();
})(window, document, navigator);
