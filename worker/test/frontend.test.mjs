// The site's side: /analytics.js (trackEvent, chatHeaders) unit-tested in a VM with a fake
// browser, served with an ETag, and the dev-only demo page driven in headless Debian Chromium
// against the worker in workerd: every click arrives once in the export, with its page context.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { runInNewContext } from "node:vm";
import { gzipSync } from "node:zlib";
import { after, before, describe, test } from "node:test";
import { chromium } from "playwright-core";
import { launchChromium } from "../../scripts/chromium.mjs";
import { WORKER_DIR, start, waitFor } from "./harness.mjs";

const TRACKER = readFileSync(join(WORKER_DIR, "assets", "analytics.js"), "utf8");
const SESSION = /^session-\d{13}-[a-z0-9]{9}$/;

/**
 * Runs the tracker in a fresh VM context with a fake browser. Returns the window and the
 * beacons it sent (parsed bodies).
 */
function runTracker({ navigator = {}, storage = "ok", beacon = "ok", readyState = "complete", dataEndpoint } = {}) {
  const sent = [];
  const fetched = [];
  const store = new Map();
  const localStorage = {
    getItem: (k) => (store.has(k) ? store.get(k) : null),
    setItem: (k, v) => store.set(k, String(v)),
  };
  const window = {
    fetch: (url, init) => {
      fetched.push({ url, body: JSON.parse(init.body), init });
      return Promise.resolve({});
    },
  };
  Object.defineProperty(window, "localStorage", {
    get() {
      if (storage === "blocked") throw new Error("SecurityError: storage is blocked");
      return localStorage;
    },
  });
  const nav = {
    onLine: true,
    sendBeacon(url, body) {
      if (beacon === "throws") throw new TypeError("beacon broken");
      if (beacon === "refuses") return false;
      sent.push({ url, body: JSON.parse(body), type: typeof body });
      return true;
    },
    ...navigator,
  };
  const listeners = {};
  const document = {
    title: "Pricing · Ünïcode",
    referrer: "https://www.google.com/search?q=secret",
    readyState,
    currentScript: {
      src: "https://analytics.example/analytics.js",
      getAttribute: (name) => (name === "data-endpoint" ? (dataEndpoint ?? null) : null),
    },
    addEventListener: (type, fn) => (listeners[type] = fn),
  };
  const location = { href: "https://site.example/pricing?email=a@b.c#plans" };
  window.window = window;
  runInNewContext(TRACKER, { window, document, navigator: nav, location, URL, JSON, Math, Date, Object, Promise, encodeURIComponent });
  return { window, sent, fetched, listeners, store, run: () => runInNewContext(TRACKER, { window, document, navigator: nav, location, URL, JSON, Math, Date, Object, Promise, encodeURIComponent }) };
}

describe("analytics.js in a fake browser", () => {
  test("sends widget_loaded once, with a spec session id and the page without its query", () => {
    const t = runTracker();
    assert.equal(t.sent.length, 1);
    const [{ url, body, type }] = t.sent;
    assert.equal(url, "https://analytics.example/analytics-event", "the script's own origin");
    assert.equal(type, "string", "a string beacon goes as text/plain");
    assert.equal(body.eventType, "widget_loaded");
    assert.match(body.sessionId, SESSION);
    assert.equal(body.pageUrl, "https://site.example/pricing");
    assert.equal(body.pageTitle, "Pricing · Ünïcode");
    assert.equal(body.referrer, "https://www.google.com/search");
    // Included a second time: no second widget_loaded.
    t.run();
    assert.equal(t.sent.length, 1);
    // The session id is kept across calls (localStorage).
    assert.ok(t.window.trackEvent("bubble_opened"));
    assert.equal(t.sent[1].body.sessionId, body.sessionId);
    assert.equal(t.store.get("chatbot-analytics-session"), body.sessionId);
  });

  test("waits for the DOM when loaded early, and honours data-endpoint", () => {
    const t = runTracker({ readyState: "loading", dataEndpoint: "https://worker.example/" });
    assert.equal(t.sent.length, 0);
    t.listeners.DOMContentLoaded();
    assert.equal(t.sent.length, 1);
    assert.equal(t.sent[0].url, "https://worker.example/analytics-event");
  });

  test("props are sent, but cannot change the type or the session", () => {
    const t = runTracker();
    t.window.trackEvent("suggestion_clicked", { question: "Price?", eventType: "message_sent", sessionId: "forged" });
    const body = t.sent[1].body;
    assert.equal(body.eventType, "suggestion_clicked");
    assert.equal(body.question, "Price?");
    assert.match(body.sessionId, SESSION);
  });

  test("Global Privacy Control or Do Not Track: nothing is sent and no headers are given", () => {
    for (const navigator of [{ globalPrivacyControl: true }, { doNotTrack: "1" }]) {
      const t = runTracker({ navigator });
      assert.equal(t.window.trackEvent("bubble_opened"), false);
      assert.equal(t.sent.length + t.fetched.length, 0, JSON.stringify(navigator));
      assert.deepEqual({ ...t.window.chatHeaders() }, {});
      assert.equal(t.store.size, 0, "nothing stored either");
    }
  });

  test("blocked storage: a session id in memory, the same for the page view", () => {
    const t = runTracker({ storage: "blocked" });
    t.window.trackEvent("bubble_opened");
    assert.equal(t.sent.length, 2);
    assert.match(t.sent[0].body.sessionId, SESSION);
    assert.equal(t.sent[1].body.sessionId, t.sent[0].body.sessionId);
  });

  test("a refused or broken beacon falls back to fetch keepalive; offline drops; never throws", () => {
    const refused = runTracker({ beacon: "refuses" });
    assert.equal(refused.fetched.length, 1);
    assert.equal(refused.fetched[0].init.keepalive, true);
    assert.equal(refused.fetched[0].init.headers["Content-Type"], "text/plain", "no CORS preflight");
    const broken = runTracker({ beacon: "throws" });
    assert.doesNotThrow(() => broken.window.trackEvent("bubble_opened"));
    assert.equal(broken.window.trackEvent(42), false, "a bad type is dropped, not thrown");
    const offline = runTracker({ navigator: { onLine: false } });
    assert.equal(offline.sent.length + offline.fetched.length, 0);
  });

  test("chatHeaders(): page context for the chat backend, percent-encoded", () => {
    const t = runTracker();
    const h = t.window.chatHeaders();
    assert.equal(decodeURIComponent(h["X-Page-URL"]), "https://site.example/pricing");
    assert.equal(decodeURIComponent(h["X-Page-Title"]), "Pricing · Ünïcode");
    assert.match(h["X-Page-Title"], /^[\x20-\x7e]*$/, "a valid header value");
    assert.equal(decodeURIComponent(h["X-Referrer"]), "https://www.google.com/search");
    assert.equal(h["X-Session-ID"], t.sent[0].body.sessionId);
  });
});

describe("the worker serves the tracker and, in development, the demo", () => {
  let w;
  let prod;
  let browser;

  before(async () => {
    [w, prod] = await Promise.all([start({ bindings: { DEMO_PAGE: "on" } }), start()]);
    browser = await launchChromium(chromium);
  });

  after(async () => {
    await browser?.close();
    await w?.stop();
    await prod?.stop();
  });

  test("GET /analytics.js: the source, under 2 KB gzip, cacheable with an ETag and 304", async () => {
    const res = await prod.fetch("/analytics.js");
    const text = await res.text();
    assert.equal(res.status, 200);
    assert.equal(text, TRACKER);
    assert.match(res.headers.get("Content-Type"), /^text\/javascript/);
    assert.match(res.headers.get("Cache-Control"), /max-age=3600/);
    const size = gzipSync(Buffer.from(text), { level: 9 }).length;
    assert.ok(size <= 2048, `${size} bytes gzip`);
    const etag = res.headers.get("ETag");
    assert.match(etag, /^"[0-9a-f]{16}"$/);
    const again = await prod.fetch("/analytics.js", { headers: { "If-None-Match": etag } });
    assert.equal(again.status, 304);
    assert.equal(await again.text(), "");
    assert.equal(again.headers.get("ETag"), etag);
  });

  test("the demo exists only with DEMO_PAGE=on", async () => {
    for (const path of ["/demo", "/demo/demo.js"]) {
      const res = await prod.fetch(path);
      await res.text();
      assert.equal(res.status, 404, path);
    }
    const chat = await prod.fetch("/demo/chat", { method: "POST", body: "{}" });
    await chat.text();
    assert.equal(chat.status, 404);
    const page = await w.fetch("/demo");
    await page.text();
    assert.equal(page.status, 200);
    assert.match(page.headers.get("Content-Security-Policy"), /script-src 'self'/);
  });

  async function exported(session) {
    const res = await w.fetch("/analytics/export?format=ndjson&limit=1000", { headers: { Authorization: w.basic() } });
    const text = await res.text();
    return text
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .filter((e) => (session ? e.sessionId === session : true));
  }

  /**
   * Opens the demo in a fresh context. `beacons`: the page's requests to /analytics-event, in
   * order; `answered`: those that finished or failed (`failed` says how).
   */
  async function openDemo(init) {
    const context = await browser.newContext();
    if (init) await context.addInitScript(init);
    const page = await context.newPage();
    const errors = [];
    const beacons = [];
    const answered = new Set();
    const failed = [];
    const isBeacon = (r) => r.url().endsWith("/analytics-event");
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    page.on("request", (r) => isBeacon(r) && beacons.push(r));
    page.on("requestfinished", (r) => isBeacon(r) && answered.add(r));
    page.on("requestfailed", (r) => {
      if (!isBeacon(r)) return;
      answered.add(r);
      failed.push(`${r.postData()}: ${r.failure()?.errorText}`);
    });
    await page.goto(`${w.url}/demo?utm_source=newsletter&email=a%40b.c#top`);
    return { context, page, errors, beacons, answered, failed };
  }

  async function clickAround(page) {
    await page.click("#bubble");
    await page.click("#suggestions button >> nth=1");
    await page.waitForSelector("text=Delivery takes 3 to 5 working days");
    await page.click("#cta");
    await page.click("#close");
  }

  /**
   * The export's events of `session` once it holds `n` of them (failing after 30 s, naming
   * what did arrive) and every beacon the page sent has been answered: read once more then, so
   * that a beacon sent twice shows as an event too many.
   */
  async function settle(demo, session, n) {
    let events = [];
    await waitFor(async () => (events = await exported(session)).length >= n, {
      what: `${n} events of ${session} in the export`,
      seen: () =>
        `${events.length}: ${events.map((e) => e.eventType).join(", ") || "none"}; ` +
        `the page sent ${demo.beacons.length} beacons, ${demo.answered.size} answered ${JSON.stringify(demo.failed)}`,
    });
    await waitFor(() => demo.beacons.every((r) => demo.answered.has(r)), {
      what: "answers to all the page's beacons",
      seen: () => `${demo.answered.size} of ${demo.beacons.length}`,
    });
    return exported(session);
  }

  test("clicking around the demo in Chromium: each event arrives once, with its page context", async () => {
    const demo = await openDemo();
    const { context, page, errors } = demo;
    await clickAround(page);
    const session = await page.evaluate(() => localStorage.getItem("chatbot-analytics-session"));
    assert.match(session, SESSION);
    const events = await settle(demo, session, 6);
    await context.close();
    assert.deepEqual(demo.failed, [], "no beacon failed");
    const types = events.map((e) => e.eventType).sort();
    assert.deepEqual(types, ["bubble_closed", "bubble_opened", "cta_clicked", "message_sent", "suggestion_clicked", "widget_loaded"]);
    for (const e of events) {
      assert.equal(e.pageUrl, `${w.url}/demo`, `${e.eventType}: no query string or fragment`);
      assert.equal(e.pageTitle, "Acme Bikes · Chatbot Analytics demo", `${e.eventType}: title (non-ASCII, through headers too)`);
    }
    const suggestion = events.find((e) => e.eventType === "suggestion_clicked");
    assert.equal(suggestion.question, "How long does delivery take?");
    const message = events.find((e) => e.eventType === "message_sent");
    assert.equal(message.question, "How long does delivery take?");
    assert.equal(message.topic, "delivery");
    assert.equal(message.noRagMatch, false);
    assert.ok(message.totalTimeMs >= message.ragTimeMs + message.aiTimeMs);
    assert.deepEqual(errors, []);
  });

  test("with Global Privacy Control on, the page sends no event at all", async () => {
    const before = (await exported()).filter((e) => e.eventType !== "message_sent").length;
    const { context, page, errors, beacons } = await openDemo(() => {
      Object.defineProperty(Navigator.prototype, "globalPrivacyControl", { get: () => true });
      // Every call that could send something, recorded as it is made (before any request).
      const calls = (window.__calls = []);
      const path = (url) => new URL(url, location.href).pathname;
      const { sendBeacon } = Navigator.prototype;
      Navigator.prototype.sendBeacon = function (url, data) {
        calls.push(`sendBeacon ${path(url)}`);
        return sendBeacon.call(this, url, data);
      };
      const { fetch } = window;
      window.fetch = function (input, init) {
        calls.push(`fetch ${path(input instanceof Request ? input.url : input)}`);
        return fetch.call(this, input, init);
      };
      const { open } = XMLHttpRequest.prototype;
      XMLHttpRequest.prototype.open = function (method, url, ...rest) {
        calls.push(`XMLHttpRequest ${path(url)}`);
        return open.call(this, method, url, ...rest);
      };
    });
    await clickAround(page);
    // The clicks ran their handlers (trackEvent included) before page.click returned: the one
    // call made is the chat's own request, which the answer on the page shows has been made.
    assert.deepEqual(await page.evaluate(() => window.__calls), ["fetch /demo/chat"]);
    await context.close();
    assert.equal(beacons.length, 0, beacons.map((r) => r.url()).join(", "));
    const after = (await exported()).filter((e) => e.eventType !== "message_sent").length;
    assert.equal(after, before);
    assert.deepEqual(errors, []);
  });

  test("with localStorage blocked, events still arrive, under one session id", async () => {
    const demo = await openDemo(() => {
      Object.defineProperty(window, "localStorage", {
        get() {
          throw new DOMException("blocked", "SecurityError");
        },
      });
    });
    const { context, page, errors, beacons } = demo;
    await clickAround(page);
    const first = await waitFor(() => beacons[0], { what: "the page's first beacon" });
    const session = JSON.parse(first.postData()).sessionId;
    assert.match(session, SESSION);
    const events = await settle(demo, session, 6);
    await context.close();
    const seen = new Set(beacons.map((r) => JSON.parse(r.postData()).sessionId));
    assert.equal(seen.size, 1, [...seen].join(", "));
    assert.equal(events.length, 6, events.map((e) => e.eventType).join(", "));
    assert.deepEqual(demo.failed, [], "no beacon failed");
    assert.deepEqual(errors, []);
  });
});
