// Hardening, end to end in workerd: hostile text goes in through ingestion and comes out inert
// in every output (the live page, the JSON/CSV export, the report reportgen builds from the
// worker, its SVG labels, embedded JSON and CSV files); failed logins lock a client out; the
// password never shows in logs or answers; a failing KV is a 503 with a one-line message.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { parse } from "parse5";
import { WORKER_DIR, inOneRatelimitWindow, start, waitFor, withoutPublishedNote } from "./harness.mjs";
import { parseCsv } from "./exports.mjs";

const REPO = resolve(WORKER_DIR, "..");

/** Strings a stranger could type into the chat, a page title or a referrer. */
const HOSTILE = [
  "<script>alert('x1')</script>",
  '"><img src=x onerror=alert(2)>',
  "</script><script>alert(3)</script>",
  "<svg onload=alert(4)><foreignObject>",
  "'><a href=\"javascript:alert(5)\">click</a>",
  "javascript:alert(6)",
  "{{ 7*7 }} {% raw %} ${7*7}",
  "]]><!-- <![CDATA[ </textarea></style></title>",
  "abc\u202Egnp.exe \u2066isolate\u2069",
  "nul\u0000byte bell\u0007 esc\u001b[31m",
  '=HYPERLINK("https://evil.example","x")',
  "+cmd|' /C calc'!A0",
  "-2+3",
  "@SUM(1+1)",
  "\t=1+1",
  "\r=1+1",
  // With the question, topic and error message all this long the body stays under 8 KiB.
  "A".repeat(2400),
];

/** Hostile strings that can travel in an HTTP header (no control characters). */
const HEADER_SAFE = HOSTILE.filter((s) => !/[\u0000-\u001f\u007f]/.test(s) && s.length < 1000 && /^[\x20-\x7e]*$/.test(s));

const INGEST_TOKEN = "test-ingest-token";

function reportgen(args, env = {}) {
  const binary = join(REPO, "target", "debug", "reportgen");
  const [cmd, full] = existsSync(binary) ? [binary, args] : ["cargo", ["run", "-q", "-p", "reportgen", "--", ...args]];
  return spawnSync(cmd, full, { cwd: REPO, encoding: "utf8", env: { ...process.env, ...env } });
}

async function post(w, event, { headers = {}, token } = {}) {
  const res = await w.fetch("/analytics-event", {
    method: "POST",
    headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}), ...headers },
    body: JSON.stringify(event),
  });
  return { status: res.status, body: await res.text(), headers: res.headers };
}

// ---- HTML checks -------------------------------------------------------------------------

/** Every element of a parse5 document, depth first. */
function* elements(node) {
  for (const child of node.childNodes ?? []) {
    if (child.tagName) yield child;
    yield* elements(child);
    if (child.content) yield* elements(child.content); // <template>
  }
}

const HTML_TAGS = new Set(
  ("html head meta title style body header nav main footer section article aside h1 h2 h3 h4 p a ul ol li " +
    "div span small strong em b i br hr table thead tbody tfoot tr th td caption figure figcaption details " +
    "summary time code pre abbr dl dt dd script noscript label").split(" "),
);
const SVG_TAGS = new Set("svg title desc g rect text polygon polyline path line circle ellipse tspan defs".split(" "));

/**
 * Asserts that an HTML page contains no element, attribute or URL an attacker could have put
 * there: only known tags, no event handler attributes, no script but JSON data, and links
 * only to http(s), data: downloads, fragments or the site's own paths, with rel="noopener noreferrer" on web links.
 * Returns the page's text, for checking that the hostile strings did arrive (as text).
 */
function assertInert(html, where) {
  const doc = parse(html);
  let scripts = 0;
  for (const el of elements(doc)) {
    const svg = el.namespaceURI === "http://www.w3.org/2000/svg";
    assert.ok((svg ? SVG_TAGS : HTML_TAGS).has(el.tagName), `${where}: unexpected <${el.tagName}>`);
    for (const { name, value } of el.attrs) {
      assert.ok(!/^on/i.test(name), `${where}: event handler attribute ${name}="${value}" on <${el.tagName}>`);
      assert.ok(!["src", "srcdoc", "formaction", "xlink:href", "action"].includes(name), `${where}: ${name} on <${el.tagName}>`);
      if (name === "href") {
        assert.match(value, /^(https?:\/\/|data:text\/csv|#|\/(?!\/))/, `${where}: link to ${value.slice(0, 80)}`);
        if (/^https?:/.test(value)) {
          assert.equal(el.attrs.find((a) => a.name === "rel")?.value, "noopener noreferrer", `${where}: rel of ${value}`);
        }
      }
      if (name === "style") assert.doesNotMatch(value, /url\(|expression/i, `${where}: style attribute`);
    }
    if (el.tagName === "script") {
      scripts++;
      assert.equal(el.attrs.find((a) => a.name === "type")?.value, "application/json", `${where}: a script that runs`);
    }
  }
  return { doc, scripts, text: textOf(doc) };
}

function textOf(node) {
  if (node.nodeName === "#text") return node.value;
  return (node.childNodes ?? []).map(textOf).join("");
}

/** The text of the first element matching `pred`. */
function find(doc, pred) {
  for (const el of elements(doc)) if (pred(el)) return el;
  return undefined;
}

// ---- CSV checks --------------------------------------------------------------------------


/** No cell a spreadsheet would run as a formula: none starts with = + - @ tab or CR. */
function assertNeutralised(csv, where) {
  const rows = parseCsv(csv);
  assert.ok(rows.length > 1, `${where}: has rows`);
  for (const row of rows) {
    for (const cell of row) {
      // A number such as -2.5 is data, not a formula.
      if (/^-?\d+(\.\d+)?(e-?\d+)?$/.test(cell)) continue;
      assert.doesNotMatch(cell, /^[=+\-@\t\r]/, `${where}: cell ${JSON.stringify(cell.slice(0, 60))} not neutralised`);
    }
  }
  return rows;
}

/** Miniflare options that append workerd's stdout and stderr (the worker's log) to `logs`. */
function captureLogs(logs) {
  return {
    handleRuntimeStdio(stdout, stderr) {
      stdout.on("data", (d) => logs.push(String(d)));
      stderr.on("data", (d) => logs.push(String(d)));
    },
  };
}

// ---- the corpus through the whole pipeline ------------------------------------------------

describe("hostile text through ingestion, the export, the live page and the report", () => {
  let w;
  let dir;
  const accepted = [];

  before(async () => {
    w = await start();
    dir = mkdtempSync(join(tmpdir(), "hardening-"));
    let i = 0;
    for (const text of HOSTILE) {
      i++;
      const session = `session-1764100000000-hostile${String(i).padStart(2, "0")}`;
      const headerText = HEADER_SAFE[i % HEADER_SAFE.length];
      const headers = {
        "X-Page-URL": `https://site.example/p${i}?token=secret#frag`,
        "X-Page-Title": headerText,
        "X-Referrer": i % 2 ? "javascript:alert(7)" : `https://evil.example/${encodeURIComponent(headerText)}`,
      };
      const asks = [
        [{ eventType: "widget_loaded", sessionId: session }, {}],
        [{ eventType: "suggestion_clicked", sessionId: session, question: text }, {}],
        [
          { eventType: "message_sent", sessionId: session, question: text, noRagMatch: true, topic: text, success: true, totalTimeMs: 900, ragTimeMs: 30, aiTimeMs: 850 },
          { token: INGEST_TOKEN },
        ],
        [
          { eventType: "message_sent", sessionId: session, question: text, success: false, errorType: text.slice(0, 200), errorMessage: text, totalTimeMs: 30000 },
          { token: INGEST_TOKEN },
        ],
      ];
      for (const [event, opts] of asks) {
        const res = await post(w, event, { ...opts, headers: { ...headers, ...(opts.headers ?? {}) } });
        assert.equal(res.status, 204, `${event.eventType} with ${JSON.stringify(text.slice(0, 40))}: ${res.body}`);
        accepted.push(event);
      }
    }
  });

  after(async () => {
    await w?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("a 10,000-character question is refused whole with 413, a page URL javascript: is dropped", async () => {
    const long = await post(w, { eventType: "message_sent", question: "B".repeat(10000) }, { token: INGEST_TOKEN });
    assert.equal(long.status, 413);
    assert.match(long.body, /at most 8192 are accepted/);
    const res = await post(w, { eventType: "bubble_opened", sessionId: "session-1764100000000-js0000000" }, { headers: { "X-Page-URL": "javascript:alert(1)" } });
    assert.equal(res.status, 204, res.body);
    const { events } = await exportJson(w);
    const stored = events.find((e) => e.sessionId === "session-1764100000000-js0000000");
    assert.ok(stored, "stored");
    assert.ok(!String(stored.pageUrl ?? "").startsWith("javascript:"), `pageUrl ${stored.pageUrl}`);
  });

  test("the JSON export holds the text cleaned, capped and without query strings", async () => {
    const { events } = await exportJson(w);
    const hostile = events.filter((e) => e.sessionId?.includes("hostile"));
    assert.equal(hostile.length, accepted.length);
    for (const e of hostile) {
      for (const [field, value] of Object.entries(e)) {
        if (typeof value !== "string") continue;
        assert.doesNotMatch(value, /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u202a-\u202e\u2066-\u2069]/, `${field} keeps control or bidi characters`);
        assert.ok(value.length <= 2000, `${field} is capped: ${value.length}`);
      }
      assert.ok(!e.pageUrl.includes("?") && !e.pageUrl.includes("#"), `page URL ${e.pageUrl}`);
      assert.ok(!String(e.referrer ?? "").includes("?"), `referrer ${e.referrer}`);
    }
    // The payloads arrived as data.
    assert.ok(hostile.some((e) => e.question === "<script>alert('x1')</script>"));
  });

  test("the CSV export neutralises every formula and reads back to the same events", async () => {
    const res = await w.fetch("/analytics/export?format=csv&limit=1000", { headers: { Authorization: w.basic() } });
    assert.equal(res.status, 200);
    const csv = await res.text();
    const rows = assertNeutralised(csv, "export CSV");
    const header = rows[0];
    const q = header.indexOf("question");
    assert.ok(rows.some((r) => r[q] === "'=HYPERLINK(\"https://evil.example\",\"x\")"), "neutralised with a leading quote");
    assert.ok(rows.some((r) => r[q] === "'@SUM(1+1)"));
  });

  test("the live /analytics page shows the questions as text and runs nothing", async () => {
    const res = await w.fetch("/analytics", { headers: { Authorization: w.basic() } });
    assert.equal(res.status, 200);
    const html = await res.text();
    const { text } = assertInert(html, "/analytics");
    assert.ok(text.includes("<script>alert('x1')</script>"), "the script payload is shown as text");
    assert.ok(text.includes('"><img src=x onerror=alert(2)>'));
  });

  test("the report built by reportgen --url: no injected markup in HTML, SVG, JSON or CSV", async () => {
    const out = join(dir, "reports");
    const r = reportgen(["--url", w.url, "--password-env", "PW", "--out", out, "-q", "--title", HOSTILE[1]], { PW: w.bindings.ANALYTICS_PASSWORD });
    assert.equal(r.status, 0, r.stderr);
    const [day] = readdirSync(out).filter((d) => /^\d{4}-\d{2}-\d{2}$/.test(d));
    const html = readFileSync(join(out, day, "index.html"), "utf8");
    const { doc, scripts, text } = assertInert(html, "report");
    assert.equal(scripts, 1, "one script: the embedded summary.json");
    assert.ok(text.includes("<script>alert('x1')</script>"), "payloads are shown as text");
    assert.equal(textOf(find(doc, (el) => el.tagName === "h1")), HOSTILE[1], "the title is text");
    // The CSP forbids any load, whatever got through.
    const csp = find(doc, (el) => el.tagName === "meta" && el.attrs.some((a) => a.name === "http-equiv" && a.value === "Content-Security-Policy"));
    assert.match(csp.attrs.find((a) => a.name === "content").value, /default-src 'none'/);
    // The embedded JSON is exactly summary.json and breaks out of nothing.
    const block = find(doc, (el) => el.tagName === "script");
    const embedded = JSON.parse(textOf(block));
    const summary = JSON.parse(readFileSync(join(out, day, "summary.json"), "utf8"));
    assert.deepEqual(embedded.knowledgeGaps, summary.knowledgeGaps);
    assert.ok(summary.knowledgeGaps.some((g) => g.question === "</script><script>alert(3)</script>"));
    assert.doesNotMatch(html, /<\/script><script>alert\(3\)/i, "no raw </script> from the data");
    // Every chart label is text inside the SVG, never markup.
    for (const el of elements(doc)) {
      if (el.namespaceURI === "http://www.w3.org/2000/svg" && el.tagName === "text") {
        assert.ok((el.childNodes ?? []).every((c) => c.nodeName === "#text"), "SVG text holds only text");
      }
    }
    // The CSV files: gaps.csv beside the report, and each data: download.
    assertNeutralised(readFileSync(join(out, day, "gaps.csv"), "utf8"), "gaps.csv");
    let downloads = 0;
    for (const el of elements(doc)) {
      const href = el.attrs.find((a) => a.name === "href")?.value ?? "";
      if (href.startsWith("data:text/csv")) {
        downloads++;
        const csv = decodeURIComponent(href.slice(href.indexOf(",") + 1));
        assertNeutralised(csv, `download ${el.attrs.find((a) => a.name === "download")?.value}`);
      }
    }
    assert.ok(downloads >= 5, `CSV downloads: ${downloads}`);
    // Published, it is served by /analytics as it was written, with the worker's line about it.
    const p = reportgen(["--url", w.url, "--password-env", "PW", "--out", join(dir, "published"), "-q", "--publish"], { PW: w.bindings.ANALYTICS_PASSWORD });
    assert.equal(p.status, 0, p.stderr);
    const served = await w.fetch("/analytics", { headers: { Authorization: w.basic() } });
    assertInert(await served.text(), "published report");
  });
});

async function exportJson(w) {
  const events = [];
  let cursor;
  do {
    const q = new URLSearchParams({ format: "json", limit: "1000", ...(cursor ? { cursor } : {}) });
    const res = await w.fetch(`/analytics/export?${q}`, { headers: { Authorization: w.basic() } });
    assert.equal(res.status, 200);
    const page = await res.json();
    events.push(...page.events);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return { events };
}

// ---- authentication ------------------------------------------------------------------------

describe("authentication: lockout, secrets kept out of logs and answers", () => {
  let w;
  const logs = [];
  const PASSWORD = "correct horse battery staple 7f3a";
  const LOCKOUT = "locking a client out of the dashboard after failed logins";
  /** Lockouts made so far in this block: each logs LOCKOUT once. */
  let lockouts = 0;
  const logged = (line) => logs.join("").split(line).length - 1;

  before(async () => {
    w = await start({
      bindings: { ANALYTICS_PASSWORD: PASSWORD },
      miniflare: captureLogs(logs),
    });
  });

  after(async () => {
    await w?.stop();
  });

  async function login(ip, password, path = "/analytics/data") {
    const headers = password === undefined ? {} : { Authorization: w.basic(password) };
    const res = await w.fetch(path, { ip, headers });
    return { status: res.status, body: await res.text(), retry: res.headers.get("Retry-After"), headers: JSON.stringify([...res.headers]) };
  }

  /** Waits until every lockout made so far has been logged, and no other. */
  async function lockoutsLogged() {
    await waitFor(() => logged(LOCKOUT) >= lockouts, {
      what: `${lockouts} lockout(s) in the worker's log`,
      seen: () => `${logged(LOCKOUT)} logged`,
    });
    assert.equal(logged(LOCKOUT), lockouts, "each lockout is logged once");
  }

  // The failures are counted by the AUTH_FAILURES limiter (10 per 60 s, in windows aligned to
  // the clock): each sequence of logins runs within one window (inOneRatelimitWindow), from a
  // fresh client IP if it has to run again. The lock itself is a KV key with its own TTL.
  test("after 10 failed logins a client gets 429 for 5 minutes, even with the right password", async () => {
    const locksBefore = new Set((await w.keys("authlock:")).map((k) => k.name));
    const lockingRuns = [];
    const { result } = await inOneRatelimitWindow(60, async (n) => {
      const ip = ["198.51.100.20", "198.51.100.22"][n];
      const guesses = [];
      for (let i = 0; i < 10; i++) guesses.push((await login(ip, `guess-${i}`)).status);
      const lockFrom = Date.now();
      const locked = await login(ip, "guess-10");
      const run = { ip, guesses, locked, lockFrom, lockTo: Date.now() };
      if (locked.status === 429) {
        lockouts++;
        lockingRuns.push(run);
      }
      return run;
    });
    const { ip, guesses, locked } = result;
    assert.deepEqual(guesses, Array(10).fill(401), "guesses 1 to 10");
    assert.equal(locked.status, 429);
    assert.equal(locked.retry, "300");
    assert.match(locked.body, /too many failed logins/);
    const right = await login(ip, PASSWORD);
    assert.equal(right.status, 429, "the right password does not get through a lockout");
    // Another client is not affected.
    assert.equal((await login("198.51.100.21", PASSWORD)).status, 200);
    // The lock is a KV key with a TTL, named by the salted IP hash, not the IP: one per run
    // that locked (this one, and one that crossed a window boundary after locking, if any).
    const locks = (await w.keys("authlock:")).filter((k) => !locksBefore.has(k.name));
    assert.equal(locks.length, lockingRuns.length);
    for (const lock of locks) assert.doesNotMatch(lock.name, /198\.51/);
    // Written during the locking request, with a 300-s TTL.
    const [earliest, latest] = [Math.floor(result.lockFrom / 1000) + 300, Math.ceil(result.lockTo / 1000) + 300];
    assert.ok(
      locks.some((k) => k.expiration >= earliest && k.expiration <= latest),
      `lock expirations ${locks.map((k) => k.expiration)}: one within [${earliest}, ${latest}]`,
    );
    await lockoutsLogged();
  });

  test("requests without credentials are not counted as failures", async () => {
    // Within one window, so that counting them would lock the client out.
    const { result: statuses } = await inOneRatelimitWindow(60, async (n) => {
      const ip = ["198.51.100.30", "198.51.100.32"][n];
      const statuses = [];
      for (let i = 0; i < 15; i++) statuses.push((await login(ip, undefined)).status);
      statuses.push((await login(ip, PASSWORD)).status);
      return statuses;
    });
    assert.deepEqual(statuses, [...Array(15).fill(401), 200]);
  });

  test("the password never appears in logs, answers or headers", async () => {
    const answers = [];
    const { result: statuses } = await inOneRatelimitWindow(60, async (n) => {
      const ip = ["198.51.100.40", "198.51.100.42"][n];
      const statuses = [];
      for (let i = 0; i < 12; i++) {
        const r = await login(ip, `${PASSWORD}-wrong-${i}`);
        statuses.push(r.status);
        answers.push(r.body, r.headers);
      }
      if (statuses.includes(429)) lockouts++; // the first 429 of a fresh client is its lockout
      return statuses;
    });
    assert.deepEqual(statuses, [...Array(10).fill(401), 429, 429], "locked out after 10");
    for (const path of ["/analytics", "/analytics/data", "/analytics/export"]) {
      const res = await w.fetch(path, { ip: "198.51.100.41", headers: { Authorization: w.basic(`${PASSWORD}x`) } });
      answers.push(await res.text(), JSON.stringify([...res.headers]));
    }
    // The log is read once the worker has logged a line after the last request: the cron's
    // summary of a day no other test rolls up.
    await w.scheduled(new Date("2001-02-03T02:15:00Z"));
    await waitFor(() => /rollup: 2001-02-02: [^\n]*2001-02-03: /.test(logs.join("")), {
      what: "the rollup's line in the worker's log",
      seen: () => JSON.stringify(logs.join("").slice(-500)),
    });
    await lockoutsLogged();
    const everything = logs.join("") + answers.join("");
    assert.ok(!everything.includes(PASSWORD), "the password or a guess containing it leaked");
    assert.ok(!everything.includes("198.51.100"), "a client IP leaked");
  });
});

// ---- faults --------------------------------------------------------------------------------

/** A KV namespace whose every operation fails, as Cloudflare's does in an outage. */
const FAILING_KV = `
class KvNamespace {
  async get() { throw new Error("KV GET failed: 503 Service Unavailable"); }
  async getWithMetadata() { throw new Error("KV GET failed: 503 Service Unavailable"); }
  async put() { throw new Error("KV PUT failed: 503 Service Unavailable"); }
  async list() { throw new Error("KV LIST failed: 503 Service Unavailable"); }
  async delete() { throw new Error("KV DELETE failed: 503 Service Unavailable"); }
}
export default function () { return new KvNamespace(); }
`;

describe("KV failures: a 503 with one line, the detail in the log, no crash", () => {
  let w;
  const logs = [];

  before(async () => {
    w = await start({
      kvScript: FAILING_KV,
      miniflare: captureLogs(logs),
    });
  });

  after(async () => {
    await w?.stop();
  });

  test("every route that needs KV answers 503 with Retry-After and a short message", async () => {
    const asks = [
      ["POST /analytics-event", () => post(w, { eventType: "bubble_opened", sessionId: "s-1" })],
      ["POST message_sent", () => post(w, { eventType: "message_sent", question: "q" }, { token: INGEST_TOKEN })],
      ...["/analytics", "/analytics/data", "/analytics/export"].map((path) => [
        `GET ${path}`,
        async () => {
          const res = await w.fetch(path, { headers: { Authorization: w.basic() } });
          return { status: res.status, body: await res.text(), headers: res.headers };
        },
      ]),
    ];
    for (const [what, ask] of asks) {
      const res = await ask();
      assert.equal(res.status, 503, `${what}: ${res.body}`);
      assert.equal(res.headers.get("Retry-After"), "30", what);
      const body = JSON.parse(res.body);
      assert.match(body.error, /analytics store is unavailable/, what);
      assert.doesNotMatch(res.body, /wasm|\.js:|\bat /, `${what}: internals in the answer`);
    }
    // The worker keeps serving: routes without KV still answer.
    const missing = await w.fetch("/nope");
    await missing.text();
    assert.equal(missing.status, 404);
    // The detail is in the log: the events' writes and the admin routes' reads failed.
    for (const line of [/KV PUT failed: 503/, /KV GET failed: 503/]) {
      await waitFor(() => line.test(logs.join("")), { what: `${line} in the worker's log`, seen: () => JSON.stringify(logs.join("").slice(-500)) });
    }
  });

  test("the failure is logged with its detail, and the cron survives it", async () => {
    // At its cron's time on a fixed day: the time is not the point here.
    const result = await w.scheduled(new Date("2026-11-26T02:15:00Z"), { allowFailure: true });
    assert.equal(result.outcome, "ok", "the rollup logs and returns");
    // The cron's own line, with the store's detail.
    const line = /rollup failed: [^\n]*KV (LIST|GET) failed: 503/;
    await waitFor(() => line.test(logs.join("")), { what: `${line} in the worker's log`, seen: () => JSON.stringify(logs.join("").slice(-500)) });
  });

  test("reportgen --url against it ends with one line and exit 2, leaving the archive alone", () => {
    const out = mkdtempSync(join(tmpdir(), "hardening-kv-"));
    try {
      // The first 503 asks to wait 30 s (Retry-After), past the run's 25-s budget: reportgen
      // gives up at once, however long that first answer took within the budget.
      const r = reportgen(["--url", w.url, "--password-env", "PW", "--out", out, "--timeout", "25"], { PW: w.bindings.ANALYTICS_PASSWORD });
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /giving up after 1 attempt \(--timeout 25 s\): the worker failed \(503\): the analytics store is unavailable/);
      assert.match(r.stderr, /the worker asked to wait 30 s/);
      assert.equal(r.stderr.trim().split("\n").length, 1, "one line");
      assert.deepEqual(readdirSync(out), [], "nothing written");
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

// ---- Second round: findings of the second security review, one test each ---------------

/**
 * A body of `total` bytes sent chunked, with no Content-Length, produced only as the reader
 * pulls it. Returns the stream and a function telling how many bytes were pulled so far.
 *
 * After the first `stallAfter` bytes (far past every limit), it produces nothing more until
 * `release()`: a worker that answers early closes the connection on the rest of the body,
 * and a client still writing may meet that reset before it has read the answer, on a busy
 * machine. A client that has stopped writing reads it first.
 */
function chunkedBody(total, chunkBytes = 64 * 1024, stallAfter = 12 * 1024 * 1024) {
  const chunk = new Uint8Array(chunkBytes).fill(0x61);
  let pulled = 0;
  let release;
  const released = new Promise((resolve) => (release = resolve));
  const stream = new ReadableStream({
    async pull(controller) {
      if (pulled >= stallAfter) await released;
      if (pulled >= total) return controller.close();
      pulled += chunk.length;
      controller.enqueue(chunk);
    },
  });
  return { stream, pulled: () => pulled, release };
}

describe("second round: bodies are cut at their limit, however they are sent", () => {
  let w;
  before(async () => {
    w = await start();
  });
  after(async () => w?.stop());

  test("30 MiB chunked without Content-Length to the ingestion route: 413 after 8 KiB", async () => {
    const total = 30 * 1024 * 1024;
    const { stream, pulled, release } = chunkedBody(total, 64 * 1024, 256 * 1024);
    const res = await w.fetch("/analytics-event", { method: "POST", headers: { "Content-Type": "application/json" }, body: stream, duplex: "half" });
    const text = await res.text();
    release();
    assert.equal(res.status, 413, text);
    // "more than": the reader stopped at the limit; before, the whole body was read and its
    // size given ("the request body is 31457316 bytes").
    assert.match(JSON.parse(text).error, /the request body is more than 8192 bytes; at most 8192 are accepted/);
    // The answer came before the client had sent it all: the worker stopped reading.
    assert.ok(pulled() < total, `the client had produced ${pulled()} of ${total} bytes when answered`);
    assert.equal((await w.snapshot("event:")).length, 0, "nothing stored");
  });

  test("a report over 10 MiB sent chunked is 413, and the published report stays", async () => {
    const auth = { Authorization: w.basic() };
    const html = "<!DOCTYPE html><html><body>kept</body></html>";
    assert.equal((await w.fetch("/analytics/report", { method: "PUT", headers: auth, body: html })).status, 201);
    const { stream, release } = chunkedBody(11 * 1024 * 1024, 64 * 1024, 10 * 1024 * 1024 + 256 * 1024);
    const res = await w.fetch("/analytics/report", { method: "PUT", headers: auth, body: stream, duplex: "half" });
    const text = await res.text();
    release();
    assert.equal(res.status, 413, text);
    assert.match(JSON.parse(text).error, /more than 10485760 bytes/);
    assert.equal(withoutPublishedNote(await (await w.fetch("/analytics", { headers: auth })).text()), html);
  });

  test("an event just at the limit, sent chunked, is read whole", async () => {
    const event = JSON.stringify({ eventType: "bubble_opened", sessionId: "session-1764100000000-chunked01" });
    const padded = event.slice(0, -1) + `,"x":"${"y".repeat(8192 - event.length - 7)}"}`;
    assert.equal(padded.length, 8192);
    const bytes = new TextEncoder().encode(padded);
    const stream = new ReadableStream({
      start(controller) {
        for (let at = 0; at < bytes.length; at += 1000) controller.enqueue(bytes.slice(at, at + 1000));
        controller.close();
      },
    });
    const res = await w.fetch("/analytics-event", { method: "POST", headers: { "Content-Type": "application/json" }, body: stream, duplex: "half" });
    assert.equal(res.status, 204, await res.text());
  });
});

describe("second round: a lockout keyed without an optional secret, by /64, and not against the admin's browser", () => {
  const PASSWORD = "correct horse battery staple 7f3a";
  let w;
  before(async () => {
    // No IP_HASH_SALT: before, every failure got 401 and per-IP limits were off.
    w = await start({ bindings: { ANALYTICS_PASSWORD: PASSWORD, IP_HASH_SALT: undefined } });
  });
  after(async () => w?.stop());

  async function login(ip, password, cookie) {
    const headers = { Authorization: w.basic(password) };
    if (cookie) headers.Cookie = cookie;
    const res = await w.fetch("/analytics/data", { ip, headers });
    return { status: res.status, body: await res.text(), setCookie: res.headers.get("Set-Cookie") };
  }

  test("without IP_HASH_SALT, 11 wrong passwords lock the address out", async () => {
    const { result } = await inOneRatelimitWindow(60, async (n) => {
      const ip = ["198.51.100.60", "198.51.100.61"][n];
      const statuses = [];
      for (let i = 0; i < 11; i++) statuses.push((await login(ip, `guess-${i}`)).status);
      statuses.push((await login(ip, PASSWORD)).status);
      return statuses;
    });
    assert.deepEqual(result, [...Array(10).fill(401), 429, 429]);
    for (const lock of await w.keys("authlock:")) assert.doesNotMatch(lock.name, /198\.51/);
    // The key comes from a random salt the worker made and keeps, not from the password.
    const [salt] = await w.snapshot("secret:salt");
    assert.match(salt.value, /^[0-9a-f]{64}$/);
    assert.equal(salt.expiration, null, "kept without a TTL");
  });

  test("IPv6 clients are one client per /64: its other addresses are locked too, the next /64 is not", async () => {
    const { result } = await inOneRatelimitWindow(60, async (n) => {
      const net = ["2001:db8:60:1", "2001:db8:61:1"][n];
      const statuses = [];
      for (let i = 0; i < 11; i++) statuses.push((await login(`${net}::${(i + 1).toString(16)}`, `guess-${i}`)).status);
      return { net, statuses, sibling: (await login(`${net}:ffff:ffff:ffff:fffe`, PASSWORD)).status };
    });
    assert.deepEqual(result.statuses, [...Array(10).fill(401), 429]);
    assert.equal(result.sibling, 429, "another address of the same /64 is the same client");
    assert.equal((await login(`${result.net.replace(/:1$/, ":2")}::1`, PASSWORD)).status, 200, "the next /64 is another client");
  });

  test("failures from the admin's network lock the network out, not the admin's known browser", async () => {
    const { result } = await inOneRatelimitWindow(60, async (n) => {
      const ip = ["198.51.100.70", "198.51.100.71"][n];
      // The admin logs in once: the answer makes the browser a known device.
      const first = await login(ip, PASSWORD);
      const cookie = first.setCookie?.split(";")[0];
      // Someone else on the same network guesses.
      const guesses = [];
      for (let i = 0; i < 11; i++) guesses.push((await login(ip, `guess-${i}`)).status);
      return {
        first,
        cookie,
        guesses,
        withoutCookie: (await login(ip, PASSWORD)).status,
        withCookie: await login(ip, PASSWORD, cookie),
        forged: (await login(ip, PASSWORD, cookie.replace(/.$/, (c) => (c === "0" ? "1" : "0")))).status,
      };
    });
    const { first, cookie, guesses, withoutCookie, withCookie, forged } = result;
    assert.equal(first.status, 200);
    assert.match(first.setCookie, /^analytics_device=[0-9a-f]+\.[0-9a-f]{64}; Path=\/analytics; .*HttpOnly; Secure; SameSite=Lax/);
    assert.ok(cookie);
    assert.deepEqual(guesses, [...Array(10).fill(401), 429], "the network is locked out");
    assert.equal(withoutCookie, 429, "without the cookie, the right password waits");
    assert.equal(withCookie.status, 200, `the known browser gets in: ${withCookie.body}`);
    assert.equal(withCookie.setCookie, null, "a known browser gets no new cookie");
    assert.equal(forged, 429, "a cookie with a wrong MAC is no cookie");
  });
});

describe("second round: crafted cursors", () => {
  let w;
  before(async () => {
    w = await start();
  });
  after(async () => w?.stop());

  test("a crafted cursor is a 400 naming `cursor`, not a panic", async () => {
    for (const cursor of ["2026-01-01~-8334601228800000", "2026-01-01~8000000000000000", "1900-01-01~0"]) {
      const res = await w.fetch(`/analytics/export?cursor=${encodeURIComponent(cursor)}`, { headers: { Authorization: w.basic() } });
      const text = await res.text();
      assert.equal(res.status, 400, `${cursor}: ${text}`);
      assert.match(JSON.parse(text).error, /`cursor`/);
    }
  });
});

describe("second round: personal data in the forms the review found stored as sent", () => {
  let w;
  before(async () => {
    w = await start();
  });
  after(async () => w?.stop());

  // Each of these was stored exactly as sent before the scrubber normalised text.
  const PHONES = ["0151/23456789", "030 / 1234 5678", "0151–2345–6789", "0151\u00a02345\u00a06789", "０１５１２３４５６７８９"];
  const EMAILS = ["john\u200b@example.com", "john＠example.com", "jürgen@müller.de"];

  test("no phone number or address survives in any text field, the URL path or the session id", async () => {
    const sent = [];
    for (const [i, pii] of [...PHONES, ...EMAILS].entries()) {
      const event = {
        eventType: "message_sent",
        sessionId: i === 0 ? "anna@example.com" : `session-1764100000000-pii00000${i}`,
        question: `call or write ${pii} please`,
        topic: `topic ${pii}`,
        errorType: `type ${pii}`,
        errorMessage: `failed for ${pii}`,
        success: false,
      };
      // The page URL in the body, percent-encoded as a browser sends it (a header would be
      // decoded once on its way in); the title in a header.
      event.pageUrl = `https://site.example/unsubscribe/${encodeURIComponent(pii)}`;
      const headers = { "X-Page-Title": `Hello ${encodeURIComponent(pii)}` };
      const res = await post(w, event, { token: INGEST_TOKEN, headers });
      assert.equal(res.status, 204, res.body);
      sent.push(pii);
    }
    const { events } = await exportJson(w);
    assert.equal(events.length, sent.length);
    const stored = JSON.stringify(events);
    for (const pii of [...sent, ...sent.map(encodeURIComponent), "anna@example.com", "%40", "23456789", "example.com", "müller"]) {
      assert.ok(!stored.includes(pii), `${JSON.stringify(pii)} survived: ${stored.slice(0, 400)}`);
    }
    // A session id not of the tracker's form is a keyed hash; the tracker's ids are kept.
    const ids = events.map((e) => e.sessionId);
    assert.equal(ids.filter((id) => /^h-[0-9a-f]{16}$/.test(id)).length, 1, ids.join(", "));
    assert.equal(ids.filter((id) => /^session-1764100000000-pii00000\d$/.test(id)).length, sent.length - 1);
    for (const e of events) {
      for (const field of ["question", "topic", "errorType", "errorMessage", "pageTitle"]) {
        assert.match(e[field], /\[(phone|email)\]/, `${field}: ${e[field]}`);
      }
      assert.match(e.pageUrl, /^https:\/\/site\.example\/unsubscribe\/\[(phone|email)\]$/);
    }
  });

  test("years, dates, times, prices and versions are stored as written", async () => {
    const question = "Since 1999, version 1.2.3 costs $1,299.99 from 2026-11-26 10:30 till 26.11.2026 14:30";
    const res = await post(w, { eventType: "suggestion_clicked", sessionId: "session-1764100000000-keep00001", question, topic: "pricing 2026" });
    assert.equal(res.status, 204, res.body);
    const { events } = await exportJson(w);
    const kept = events.find((e) => e.sessionId === "session-1764100000000-keep00001");
    assert.equal(kept.question, question);
    assert.equal(kept.topic, "pricing 2026");
  });
});
