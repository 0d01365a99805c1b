// End-to-end tests of the worker running in workerd with a real local KV namespace: every
// route and status, CORS, authentication, bad input, keys and TTLs, paged export in all three
// formats, the rollup, the live summary against `reportgen`, publishing, the KV budget.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { WORKER_DIR, inOneRatelimitWindow, start, withoutPublishedNote } from "./harness.mjs";

const DAY = 86400;
const REPO = resolve(WORKER_DIR, "..");

/** POSTs one event; returns the response (body consumed). */
async function send(w, event, { token, headers = {}, ip } = {}) {
  const h = { "Content-Type": "application/json", ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  const res = await w.fetch("/analytics-event", { method: "POST", headers: h, body: JSON.stringify(event), ip });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

async function admin(w, path, init = {}) {
  const res = await w.fetch(path, { ...init, headers: { Authorization: w.basic(), ...(init.headers ?? {}) } });
  return { res, text: await res.text() };
}

/** Follows every page of the export in `format`, returning [all text bodies, per-page ops]. */
async function exportAll(w, format, limit) {
  const bodies = [];
  const ops = [];
  let path = `/analytics/export?format=${format}&days=30&limit=${limit}`;
  while (path) {
    const { res, text } = await admin(w, path);
    assert.equal(res.status, 200, text);
    bodies.push(text);
    ops.push(Number(res.headers.get("X-KV-Operations")));
    if (format === "json") {
      const cursor = JSON.parse(text).nextCursor;
      path = cursor ? `/analytics/export?format=json&days=30&limit=${limit}&cursor=${encodeURIComponent(cursor)}` : null;
    } else {
      const link = res.headers.get("Link");
      path = link ? link.match(/^<([^>]+)>; rel="next"$/)[1] : null;
    }
  }
  return { bodies, ops };
}

/**
 * A KV key written with `expirationTtl: ttl` by a request made between the clock readings
 * `before` and `after` (ms) expires between the two readings' seconds plus `ttl`.
 */
function assertExpiresIn(key, ttl, before, after) {
  const earliest = Math.floor(before / 1000) + ttl;
  const latest = Math.ceil(after / 1000) + ttl;
  assert.ok(
    key.expiration >= earliest && key.expiration <= latest,
    `${key.name}: expiration ${key.expiration} is not within [${earliest}, ${latest}] (written between ${before} and ${after} ms, TTL ${ttl} s)`,
  );
}

function message(i) {
  return {
    eventType: "message_sent",
    sessionId: `load-${i % 97}`,
    messageNumber: i,
    question: i % 10 === 0 ? `Do you know Haskell${"?".repeat(i % 3)}` : `Question ${i}`,
    topic: ["skills", "projects", null][i % 3],
    success: i % 25 !== 0,
    errorType: i % 25 === 0 ? "ai_timeout" : undefined,
    ragTimeMs: i % 50,
    aiTimeMs: 500 + (i % 700),
    totalTimeMs: 520 + (i % 700),
    noRagMatch: i % 10 === 0,
    pageUrl: `https://site.example/p${i % 5}?utm=${i}`,
    pageTitle: `Page ${i % 5}`,
    referrer: i % 2 ? "https://www.google.com/search?q=x" : undefined,
  };
}

describe("routes, auth, CORS and bad input", () => {
  let w;
  before(async () => {
    w = await start();
  });
  after(async () => w?.stop());

  test("unknown paths are 404 and wrong methods 405 with Allow", async () => {
    const notFound = await w.fetch("/nope");
    assert.equal(notFound.status, 404);
    assert.match(await notFound.text(), /no such route/);
    for (const [path, method, allow] of [
      ["/analytics-event", "GET", "POST, OPTIONS"],
      ["/analytics", "POST", "GET, HEAD"],
      ["/analytics/data", "DELETE", "GET, HEAD"],
      ["/analytics/export", "PUT", "GET, HEAD"],
      ["/analytics/report", "GET", "PUT"],
    ]) {
      const res = await w.fetch(path, { method });
      await res.text();
      assert.equal(res.status, 405, `${method} ${path}`);
      assert.equal(res.headers.get("Allow"), allow);
    }
  });

  test("the admin routes need Basic Auth", async () => {
    for (const path of ["/analytics", "/analytics/data", "/analytics/export"]) {
      const none = await w.fetch(path);
      await none.text();
      assert.equal(none.status, 401, path);
      assert.match(none.headers.get("WWW-Authenticate"), /^Basic realm=/);
      const wrong = await w.fetch(path, { headers: { Authorization: w.basic("guess") } });
      await wrong.text();
      assert.equal(wrong.status, 401, path);
      const user = await w.fetch(path, { headers: { Authorization: w.basic(undefined, "root") } });
      await user.text();
      assert.equal(user.status, 401, path);
      const { res } = await admin(w, path);
      assert.equal(res.status, 200, path);
    }
    const publish = await w.fetch("/analytics/report", { method: "PUT", body: "<!DOCTYPE html><p>x</p>" });
    await publish.text();
    assert.equal(publish.status, 401);
  });

  test("responses carry the security headers", async () => {
    const check = (res, what) => {
      assert.equal(res.headers.get("X-Content-Type-Options"), "nosniff", what);
      assert.equal(res.headers.get("Referrer-Policy"), "no-referrer", what);
      assert.match(res.headers.get("Content-Security-Policy"), /frame-ancestors 'none'/, what);
      assert.match(res.headers.get("Content-Security-Policy"), /default-src 'none'/, what);
      assert.doesNotMatch(res.headers.get("Content-Security-Policy"), /script-src|unsafe-eval/, what);
    };
    for (const path of ["/analytics", "/analytics/data", "/analytics/export", "/analytics/export?format=csv", "/analytics/export?format=ndjson"]) {
      const { res } = await admin(w, path);
      assert.equal(res.status, 200, path);
      check(res, path);
    }
    // Errors and the ingestion route too.
    for (const [what, init, path] of [
      ["401", {}, "/analytics"],
      ["404", {}, "/nowhere"],
      ["405", { method: "DELETE" }, "/analytics"],
      ["400", { method: "POST", body: "not json" }, "/analytics-event"],
      ["204", { method: "POST", body: JSON.stringify({ eventType: "bubble_opened" }) }, "/analytics-event"],
    ]) {
      const res = await w.fetch(path, init);
      await res.text();
      assert.equal(String(res.status), what, path);
      check(res, `${what} ${path}`);
    }
  });

  test("CORS preflight and headers on ingestion", async () => {
    const pre = await w.fetch("/analytics-event", {
      method: "OPTIONS",
      headers: { Origin: "https://site.example", "Access-Control-Request-Method": "POST" },
    });
    await pre.text();
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get("Access-Control-Allow-Origin"), "*");
    assert.match(pre.headers.get("Access-Control-Allow-Methods"), /POST/);
    assert.match(pre.headers.get("Access-Control-Allow-Headers"), /X-Page-URL/);
    const res = await send(w, { eventType: "bubble_opened" }, { headers: { Origin: "https://site.example" } });
    assert.equal(res.status, 204, res.body);
    assert.equal(res.headers.get("Access-Control-Allow-Origin"), "*");
  });

  test("bad events get 400/413/415 naming the problem, and nothing is stored", async () => {
    const before = (await w.keys("event:")).length;
    const cases = [
      [JSON.stringify({ eventType: "bubble_opened", question: "x".repeat(9000) }), "application/json", 413, /8192/],
      ["{not json", "application/json", 400, /not valid JSON/],
      ["[1,2]", "application/json", 400, /JSON object/],
      [JSON.stringify({ eventType: "page_scrolled" }), "application/json", 400, /page_scrolled.*not one of/],
      [JSON.stringify({ eventType: "cta_clicked", ragTimeMs: "fast" }), "application/json", 400, /ragTimeMs/],
      [JSON.stringify({ eventType: "cta_clicked", success: "yes" }), "application/json", 400, /success/],
      [JSON.stringify({ question: "hi" }), "application/json", 400, /eventType/],
      ["<event/>", "application/xml", 415, /application\/json/],
    ];
    for (const [body, type, status, pattern] of cases) {
      const res = await w.fetch("/analytics-event", { method: "POST", headers: { "Content-Type": type }, body });
      const text = await res.text();
      assert.equal(res.status, status, `${body.slice(0, 40)} → ${text}`);
      assert.match(JSON.parse(text).error, pattern);
    }
    assert.equal((await w.keys("event:")).length, before, "nothing stored");
  });

  test("sendBeacon's text/plain bodies are accepted", async () => {
    const res = await w.fetch("/analytics-event", {
      method: "POST",
      headers: { "Content-Type": "text/plain;charset=UTF-8" },
      body: JSON.stringify({ eventType: "widget_loaded", sessionId: "beacon-1" }),
    });
    await res.text();
    assert.equal(res.status, 204);
  });

  test("backend event types need the ingest token", async () => {
    const event = { eventType: "message_sent", sessionId: "session-1764100000000-forge0001", question: "forged?" };
    assert.equal((await send(w, event)).status, 401);
    const wrong = await send(w, event, { token: "nope" });
    assert.equal(wrong.status, 401);
    assert.match(wrong.headers.get("WWW-Authenticate"), /^Bearer/);
    assert.equal((await send(w, { eventType: "rate_limited", sessionId: "session-1764100000000-forge0001" })).status, 401);
    assert.equal((await send(w, event, { token: w.bindings.INGEST_TOKEN })).status, 204);
    const stored = (await w.snapshot("event:")).filter((k) => k.value.includes("session-1764100000000-forge0001"));
    assert.equal(stored.length, 1, "only the authorised message is stored");
  });

  test("keys, TTLs, metadata, page context and privacy", async () => {
    const before = Date.now();
    const res = await send(
      w,
      {
        eventType: "message_sent",
        question: "Mail me at jane@example.com or +44 20 7946 0958",
        errorMessage: "failed for bob@corp.io",
        success: false,
        timestamp: "1999-01-01T00:00:00Z",
      },
      {
        token: w.bindings.INGEST_TOKEN,
        ip: "203.0.113.77",
        headers: {
          "X-Page-URL": "https://site.example/about?email=jane@example.com#top",
          "X-Page-Title": "About",
          "X-Referrer": "https://www.google.com/search?q=secret",
          "X-Session-ID": "session-1764100000000-ctx000001",
        },
      },
    );
    const after = Date.now();
    assert.equal(res.status, 204, res.body);
    const [key] = (await w.snapshot("event:")).filter((k) => k.value.includes("session-1764100000000-ctx000001"));
    assert.match(key.name, /^event:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z:[0-9a-f]{12}$/);
    assertExpiresIn(key, 30 * DAY, before, after);
    const event = JSON.parse(key.value);
    assert.deepEqual(key.metadata, event, "the whole event is in the metadata");
    assert.equal(event.pageUrl, "https://site.example/about");
    assert.equal(event.referrer, "https://www.google.com/search");
    assert.equal(event.pageTitle, "About");
    assert.equal(event.sessionId, "session-1764100000000-ctx000001");
    assert.equal(event.question, "Mail me at [email] or [phone]");
    assert.equal(event.errorMessage, "failed for [email]");
    const stamped = Date.parse(event.timestamp);
    assert.ok(before <= stamped && stamped <= after, `the server sets the time: ${event.timestamp} within the request`);
    assert.equal(key.name.slice("event:".length, -13), event.timestamp, "the key is named by that time");
    const everything = JSON.stringify(await w.snapshot(""));
    assert.ok(!everything.includes("203.0.113.77"), "no IP address stored");
    assert.ok(!everything.includes("jane@example.com"), "no e-mail address stored");
  });

  test("an event too large for metadata is exported whole from its value", async () => {
    const question = "Why ".repeat(125);
    const errorMessage = "E".repeat(500);
    const res = await send(
      w,
      { eventType: "message_sent", sessionId: "session-1764100000000-big000001", question, errorMessage, pageTitle: "T".repeat(300) },
      { token: w.bindings.INGEST_TOKEN },
    );
    assert.equal(res.status, 204, res.body);
    const [key] = (await w.snapshot("event:")).filter((k) => k.value.includes("session-1764100000000-big000001"));
    assert.equal(key.metadata.truncated, true);
    assert.ok(JSON.stringify(key.metadata).length <= 1024);
    const { text } = await admin(w, "/analytics/export?format=ndjson");
    const exported = text.trim().split("\n").map((l) => JSON.parse(l)).find((e) => e.sessionId === "session-1764100000000-big000001");
    assert.equal(exported.question, question.trim(), "stored trimmed");
    assert.equal(exported.errorMessage, errorMessage);
  });

  test("query parameters are checked", async () => {
    for (const path of ["/analytics/data?days=0", "/analytics/data?days=91", "/analytics/data?days=x", "/analytics/export?format=xml", "/analytics/export?cursor=bogus"]) {
      const { res, text } = await admin(w, path);
      assert.equal(res.status, 400, `${path}: ${text}`);
      assert.ok(JSON.parse(text).error.length > 10);
    }
  });

  test("a malformed export cursor is a 400, not a retryable 503", async () => {
    // The last two decode but name no window an export can have handed out (the first made
    // the worker panic: `DateTime - TimeDelta` overflowed).
    for (const cursor of ["2026-11-26", "yesterday~1", "2026-11-26~soon~x", "2026-01-01~-8334601228800000", "2020-01-01~1577923200000"]) {
      const { res, text } = await admin(w, `/analytics/export?cursor=${encodeURIComponent(cursor)}`);
      assert.equal(res.status, 400, `${cursor}: ${text}`);
      assert.match(JSON.parse(text).error, /cursor/);
    }
  });

  test("publishing a report: served by /analytics (with a line about it), bounded, HTML only", async () => {
    const live = await admin(w, "/analytics");
    assert.equal(live.res.status, 200);
    assert.match(live.text, /Chatbot analytics — live/);
    assert.match(live.text, /--publish/);
    const html = "<!DOCTYPE html><html><head><title>Report</title></head><body><h1>Report 42</h1></body></html>";
    const put = await admin(w, "/analytics/report", { method: "PUT", body: html, headers: { "Content-Type": "text/html" } });
    assert.equal(put.res.status, 201, put.text);
    assert.equal(JSON.parse(put.text).bytes, html.length);
    const served = await admin(w, "/analytics");
    assert.equal(withoutPublishedNote(served.text), html);
    assert.match(served.res.headers.get("Content-Type"), /text\/html/);
    const notHtml = await admin(w, "/analytics/report", { method: "PUT", body: '{"a":1}' });
    assert.equal(notHtml.res.status, 415);
    const huge = await admin(w, "/analytics/report", { method: "PUT", body: "<!DOCTYPE html>" + "x".repeat(10 * 1024 * 1024) });
    assert.equal(huge.res.status, 413);
    assert.equal(withoutPublishedNote((await admin(w, "/analytics")).text), html, "the published report is intact");
    const accented = "<!DOCTYPE html><html lang=\"fr\"><body>Été — 漢字</body></html>";
    const put2 = await admin(w, "/analytics/report", {
      method: "PUT",
      body: accented,
      headers: { "X-Report-Generated-At": "2026-11-26T06:00:00Z" },
    });
    assert.equal(put2.res.status, 201, put2.text);
    const served2 = await admin(w, "/analytics");
    assert.equal(withoutPublishedNote(served2.text), accented);
    assert.equal(served2.res.headers.get("X-Report-Generated-At"), "2026-11-26T06:00:00Z");
    // A refresh or a base URL, which the CSP does not govern, would send whoever opens
    // /analytics elsewhere: refused, and the published report stays.
    for (const markup of [
      '<meta http-equiv="refresh" content="0;url=https://evil.example/">',
      "<META HTTP-EQUIV=Refresh CONTENT='0; URL=//evil.example'>",
      '<base href="https://evil.example/">',
    ]) {
      const bad = await admin(w, "/analytics/report", { method: "PUT", body: `<!DOCTYPE html><html><head>${markup}</head><body>x</body></html>` });
      assert.equal(bad.res.status, 400, `${markup}: ${bad.text}`);
      assert.match(JSON.parse(bad.text).error, /meta http-equiv|<base>/);
      assert.equal(withoutPublishedNote((await admin(w, "/analytics")).text), accented, `${markup}: the published report stays`);
    }
  });
});

describe("secrets not set: closed, never open", () => {
  let w;
  before(async () => {
    w = await start({ bindings: { ANALYTICS_PASSWORD: undefined, INGEST_TOKEN: undefined } });
  });
  after(async () => w?.stop());

  test("admin routes answer 503 with a message", async () => {
    for (const path of ["/analytics", "/analytics/data", "/analytics/export"]) {
      const res = await w.fetch(path, { headers: { Authorization: w.basic("anything") } });
      const text = await res.text();
      assert.equal(res.status, 503, path);
      assert.match(JSON.parse(text).error, /ANALYTICS_PASSWORD is not set/);
    }
  });

  test("backend events are refused; frontend ones still accepted", async () => {
    const res = await send(w, { eventType: "message_sent" }, { token: "" });
    assert.equal(res.status, 403);
    assert.match(JSON.parse(res.body).error, /INGEST_TOKEN is not set/);
    assert.equal((await send(w, { eventType: "bubble_opened" })).status, 204);
  });
});

describe("restricted origins", () => {
  let w;
  before(async () => {
    w = await start({ bindings: { ALLOWED_ORIGINS: "https://site.example, https://www.site.example" } });
  });
  after(async () => w?.stop());

  test("an allowed origin is echoed, another refused", async () => {
    const ok = await send(w, { eventType: "cta_clicked" }, { headers: { Origin: "https://www.site.example" } });
    assert.equal(ok.status, 204);
    assert.equal(ok.headers.get("Access-Control-Allow-Origin"), "https://www.site.example");
    const evil = await send(w, { eventType: "cta_clicked" }, { headers: { Origin: "https://evil.example" } });
    assert.equal(evil.status, 403);
    assert.equal(evil.headers.get("Access-Control-Allow-Origin"), null);
  });
});

describe("rate limits", () => {
  let w;
  before(async () => {
    w = await start({
      ratelimits: {
        SESSION_LIMITER: { namespace_id: "2001", simple: { limit: 3, period: 60 } },
        IP_LIMITER: { namespace_id: "2002", simple: { limit: 5, period: 60 } },
        LIMIT_NOTES: { namespace_id: "2003", simple: { limit: 1, period: 60 } },
      },
    });
  });
  after(async () => w?.stop());

  // The limiter counts in windows aligned to the clock (60 s here): each sequence runs within
  // one (inOneRatelimitWindow), with fresh keys if it has to run again.
  test("a session over its limit gets 429 and one rate_limited note that carries nothing the client sent", async () => {
    const { result } = await inOneRatelimitWindow(60, async (n) => {
      const session = ["greedy", "greedy-again"][n];
      const ip = ["198.51.100.1", "198.51.100.101"][n];
      const since = Date.now();
      const answers = [];
      const injected = { pageTitle: "injected title", pageUrl: "https://site.example/injected", referrer: "https://injected.example/" };
      for (let i = 0; i < 6; i++) answers.push(await send(w, { eventType: "suggestion_clicked", sessionId: session, ...injected }, { ip }));
      return { since, answers };
    });
    const { since, answers } = result;
    assert.deepEqual(answers.map((r) => r.status), [204, 204, 204, 429, 429, 429]);
    for (const r of answers.filter((r) => r.status === 429)) assert.equal(r.headers.get("Retry-After"), "60");
    // Notes of a first run that crossed a window boundary are older than this run's start.
    const events = (await w.snapshot("event:")).map((k) => JSON.parse(k.value));
    const limited = events.filter((e) => e.eventType === "rate_limited" && Date.parse(e.timestamp) >= since);
    assert.equal(limited.length, 1, "recorded once per session per period");
    const { timestamp, ...note } = limited[0];
    assert.deepEqual(note, { eventType: "rate_limited", errorType: "worker_session_limit" }, "which limit fired, and no field the client chose");
  });

  test("the chat backend's events are limited per session, not per its one IP", async () => {
    // Within one window, so that a limit per IP would show.
    const { result: statuses } = await inOneRatelimitWindow(60, async (n) => {
      const statuses = [];
      for (let i = 0; i < 8; i++) {
        const res = await send(w, { eventType: "message_sent", sessionId: `backend-${n}-${i}` }, { token: w.bindings.INGEST_TOKEN, ip: `198.51.100.${9 + 100 * n}` });
        statuses.push(`${res.status} ${res.body}`.trim());
      }
      return statuses;
    });
    assert.deepEqual(statuses, Array(8).fill("204"));
  });

  test("an IP over its limit gets 429 whatever the session", async () => {
    const { result: statuses } = await inOneRatelimitWindow(60, async (n) => {
      const statuses = [];
      for (let i = 0; i < 7; i++) {
        statuses.push((await send(w, { eventType: "widget_loaded", sessionId: `ip-${n}-${i}` }, { ip: `198.51.100.${2 + 100 * n}` })).status);
      }
      return statuses;
    });
    assert.deepEqual(statuses, [204, 204, 204, 204, 204, 429, 429]);
  });
});

describe("export, summary and rollup over 2,500 ingested events", () => {
  let w;
  const N = 2500;
  const frontend = 300;
  before(async () => {
    w = await start();
    const jobs = [];
    for (let i = 0; i < N; i++) jobs.push(() => send(w, message(i), { token: w.bindings.INGEST_TOKEN, ip: `192.0.2.${i % 200}` }));
    for (let i = 0; i < frontend; i++) {
      const type = ["bubble_opened", "bubble_closed", "suggestion_clicked", "widget_loaded", "cta_clicked"][i % 5];
      jobs.push(() => send(w, { eventType: type, sessionId: `load-${i % 97}` }, { headers: { "X-Referrer": "https://news.ycombinator.com/item?id=1" } }));
    }
    for (let i = 0; i < jobs.length; i += 50) {
      const results = await Promise.all(jobs.slice(i, i + 50).map((job) => job()));
      for (const r of results) assert.equal(r.status, 204, r.body);
    }
  });
  after(async () => w?.stop());

  test("every event comes back exactly once in all three formats, across pages", async () => {
    const stored = await w.snapshot("event:");
    assert.equal(stored.length, N + frontend);
    // Compared as parsed objects: number formatting is not the point here.
    const canon = (text) => JSON.stringify(JSON.parse(text));
    const expected = stored.map((k) => canon(k.value)).sort();

    const json = await exportAll(w, "json", 1000);
    assert.equal(json.bodies.length, 3, "three pages");
    const fromJson = json.bodies.flatMap((b) => JSON.parse(b).events.map((e) => JSON.stringify(e))).sort();
    assert.ok(fromJson.length === expected.length && fromJson.every((e, i) => e === expected[i]), "JSON pages = stored events");
    assert.equal(JSON.parse(json.bodies[0]).schemaVersion, 1);

    const ndjson = await exportAll(w, "ndjson", 1000);
    assert.equal(ndjson.bodies.length, 3);
    const fromNdjson = ndjson.bodies.flatMap((b) => b.trim().split("\n")).map(canon).sort();
    assert.ok(fromNdjson.length === expected.length && fromNdjson.every((e, i) => e === expected[i]), "NDJSON pages = stored events");

    const csv = await exportAll(w, "csv", 1000);
    assert.equal(csv.bodies.length, 3);
    for (const body of csv.bodies) assert.match(body, /^timestamp,eventType,sessionId,/);
    const rows = csv.bodies.reduce((n, b) => n + b.trim().split("\n").length - 1, 0);
    assert.equal(rows, N + frontend);

    for (const ops of [...json.ops, ...ndjson.ops, ...csv.ops]) assert.ok(ops >= 1 && ops <= 1000, `${ops} KV operations`);
  });

  test("/analytics/data equals reportgen --input on the same export", async () => {
    const { res, text } = await admin(w, "/analytics/data?days=30");
    assert.equal(res.status, 200);
    assert.ok(Number(res.headers.get("X-KV-Operations")) <= 1000);
    const live = JSON.parse(text);
    assert.equal(live.conversationVolume.messages, N);

    const { bodies } = await exportAll(w, "json", 5000);
    const dir = mkdtempSync(join(tmpdir(), "worker-e2e-"));
    try {
      const file = join(dir, "export.json");
      writeFileSync(file, bodies[0]);
      assert.equal(JSON.parse(bodies[0]).nextCursor, null, "one page holds them all");
      // Over the window the worker applied (`--now` is the exclusive end, as the worker's is).
      const run = reportgen(["--input", file, "--out", join(dir, "out"), "--days", "30", "--now", live.window.to, "-q"]);
      assert.equal(run.status, 0, run.stderr);
      const report = JSON.parse(readFileSync(join(dir, "out", live.window.to.slice(0, 10), "summary.json"), "utf8"));
      // The export was taken after the summary: the same events, and the same window; only
      // the generation time differs (the worker's is the millisecond before its window's end).
      assert.equal(Date.parse(live.window.to) - Date.parse(live.generatedAt), 1);
      assert.equal(report.generatedAt, live.window.to, "--now is the generation time");
      assert.deepEqual({ ...report, generatedAt: null }, { ...live, generatedAt: null });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the CSV pages hold the same events: reportgen reads them to the same summary", async () => {
    const { text } = await admin(w, "/analytics/data?days=30");
    const live = JSON.parse(text);
    const { bodies } = await exportAll(w, "csv", 1000);
    const [header] = bodies[0].split("\n");
    const rows = bodies.flatMap((b) => b.trimEnd().split("\n").slice(1));
    const dir = mkdtempSync(join(tmpdir(), "worker-csv-"));
    try {
      const file = join(dir, "export.csv");
      writeFileSync(file, [header, ...rows].join("\n") + "\n");
      const run = reportgen(["--input", file, "--out", join(dir, "out"), "--days", "30", "--now", live.window.to, "-q"]);
      assert.equal(run.status, 0, run.stderr);
      const report = JSON.parse(readFileSync(join(dir, "out", live.window.to.slice(0, 10), "summary.json"), "utf8"));
      assert.equal(report.generatedAt, live.window.to, "--now is the generation time");
      assert.deepEqual({ ...report, generatedAt: null }, { ...live, generatedAt: null });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the rollup writes daily: and gaps: with 90-day TTLs, and twice is the same as once", async () => {
    // The rollup runs as of the millisecond after the last event (the worker stamped them
    // while the suite ingested): it rolls up that day and the day before, so every event is
    // in, and the expected days and counts follow from the events, across midnight too.
    // (Their keys' metadata is the whole event: none of these is too large for it.)
    const events = (await w.keys("event:")).map((k) => k.metadata);
    assert.equal(events.length, N + frontend);
    assert.ok(events.every((e) => !e.truncated && e.timestamp && e.eventType), "whole events in the metadata");
    const at = new Date(Math.max(...events.map((e) => Date.parse(e.timestamp))) + 1);
    const today = at.toISOString().slice(0, 10);
    const yesterday = new Date(Date.parse(today) - DAY * 1000).toISOString().slice(0, 10);
    const expected = {};
    for (const day of [yesterday, today]) expected[day] = {};
    for (const e of events) {
      const byType = expected[e.timestamp.slice(0, 10)];
      assert.ok(byType, `event of ${e.timestamp} is not of ${yesterday} or ${today}`);
      byType[e.eventType] = (byType[e.eventType] ?? 0) + 1;
    }

    const before = Date.now();
    await w.scheduled(at);
    const after = Date.now();
    const strip = (keys) => keys.map(({ name, metadata, value }) => ({ name, metadata, value }));
    const once = [...(await w.snapshot("daily:")), ...(await w.snapshot("gaps:"))];
    await w.scheduled(at);
    const twice = [...(await w.snapshot("daily:")), ...(await w.snapshot("gaps:"))];
    assert.deepEqual(strip(twice), strip(once));
    const daily = once.filter((k) => k.name.startsWith("daily:"));
    assert.deepEqual(daily.map((k) => k.name), [`daily:${yesterday}`, `daily:${today}`]);
    let messages = 0;
    for (const key of daily) {
      const day = key.name.slice("daily:".length);
      const aggregate = JSON.parse(key.value);
      assert.equal(aggregate.date, day);
      assert.deepEqual(aggregate.eventsByType, expected[day], `${key.name}: the events of ${day} by type`);
      messages += aggregate.eventsByType.message_sent ?? 0;
    }
    assert.equal(messages, N, "every message_sent counted on its day");
    for (const key of once) assertExpiresIn(key, 90 * DAY, before, after);
    const gaps = once.filter((k) => k.name.startsWith("gaps:"));
    assert.equal(gaps.length, 1, "the Haskell question variants are one gap");
    const gap = JSON.parse(gaps[0].value);
    assert.equal(gap.normalized, "do you know haskell");
    assert.equal(Object.values(gap.days).reduce((a, b) => a + b, 0), N / 10);
    const { text } = await admin(w, "/analytics/export?format=json&limit=1");
    const envelope = JSON.parse(text);
    assert.equal(envelope.daily.length, daily.length);
    assert.equal(envelope.gaps[0].count, N / 10);
  });
});

describe("the KV budget with events too large for metadata", () => {
  let w;
  const N = 1100;
  before(async () => {
    w = await start();
    const jobs = [];
    for (let i = 0; i < N; i++) {
      const event = {
        eventType: "message_sent",
        sessionId: `large-${i}`,
        question: `Why ${i} `.padEnd(500, "?"),
        errorMessage: "E".repeat(500),
        pageTitle: "T".repeat(300),
        success: false,
      };
      jobs.push(() => send(w, event, { token: w.bindings.INGEST_TOKEN }));
    }
    for (let i = 0; i < jobs.length; i += 50) {
      for (const r of await Promise.all(jobs.slice(i, i + 50).map((job) => job()))) assert.equal(r.status, 204, r.body);
    }
  });
  after(async () => w?.stop());

  test("pages stay within 1,000 operations and together return every event once", async () => {
    const stored = await w.keys("event:");
    assert.equal(stored.length, N);
    assert.ok(stored.every((k) => k.metadata.truncated === true), "every event needs a value read");
    const { bodies, ops } = await exportAll(w, "ndjson", 5000);
    assert.ok(bodies.length >= 2, `${bodies.length} pages`);
    for (const n of ops) assert.ok(n <= 1000, `${n} KV operations on a page`);
    const sessions = bodies.flatMap((b) => b.trim().split("\n")).map((l) => JSON.parse(l).sessionId);
    assert.equal(sessions.length, N);
    assert.equal(new Set(sessions).size, N, "no event twice");
  });

  test("a live summary that cannot fit the budget says so instead of failing half way", async () => {
    const { res, text } = await admin(w, "/analytics/data");
    assert.equal(res.status, 503);
    assert.match(JSON.parse(text).error, /reportgen --url/);
  });
});

/** Runs reportgen (the debug build `cargo test` made, else through cargo). */
function reportgen(args) {
  const binary = join(REPO, "target", "debug", "reportgen");
  const [cmd, full] = existsSync(binary) ? [binary, args] : ["cargo", ["run", "-q", "-p", "reportgen", "--", ...args]];
  return spawnSync(cmd, full, { cwd: REPO, encoding: "utf8" });
}
