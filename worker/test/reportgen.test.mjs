// reportgen against the real worker in workerd: `reportgen --url` fetches every export page
// over HTTP, its summary equals `reportgen --input` on the same events saved as a file, and
// `--publish` makes GET /analytics serve the very report it wrote.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { gunzipSync } from "node:zlib";
import { after, before, test } from "node:test";
import { WORKER_DIR, start, withoutPublishedNote } from "./harness.mjs";

const REPO = resolve(WORKER_DIR, "..");
const TYPES = ["widget_loaded", "bubble_opened", "suggestion_clicked", "bubble_closed", "cta_clicked"];
const EVENTS = 1200; // more than one export page (reportgen asks for 1,000 a page)

let w;
let dir;

function reportgen(args, env = {}) {
  const binary = join(REPO, "target", "debug", "reportgen");
  const [cmd, full] = existsSync(binary) ? [binary, args] : ["cargo", ["run", "-q", "-p", "reportgen", "--", ...args]];
  return spawnSync(cmd, full, { cwd: REPO, encoding: "utf8", env: { ...process.env, ...env } });
}

before(async () => {
  w = await start();
  dir = mkdtempSync(join(tmpdir(), "reportgen-e2e-"));
  const jobs = [];
  for (let i = 0; i < EVENTS; i++) {
    const backend = i % 3 === 0;
    const event = backend
      ? {
          eventType: i % 99 === 0 ? "rate_limited" : "message_sent",
          sessionId: `e2e-${i % 150}`,
          question: i % 7 === 0 ? "Do you ship on weekends?" : `Question ${i % 40}`,
          noRagMatch: i % 7 === 0,
          topic: ["skills", "projects", "contact"][i % 3 === 0 ? (i / 3) % 3 : 0],
          success: i % 30 !== 0,
          errorType: i % 30 === 0 ? "ai_timeout" : undefined,
          ragTimeMs: 5 + (i % 40),
          aiTimeMs: 400 + (i % 900),
          totalTimeMs: 420 + (i % 900),
        }
      : { eventType: TYPES[i % TYPES.length], sessionId: `e2e-${i % 150}` };
    const headers = { "Content-Type": "application/json", "X-Page-URL": `https://site.example/p${i % 4}`, "X-Referrer": i % 2 ? "https://www.google.com/" : "" };
    if (backend) headers.Authorization = `Bearer ${w.bindings.INGEST_TOKEN}`;
    jobs.push(async () => {
      const res = await w.fetch("/analytics-event", { method: "POST", headers, body: JSON.stringify(event) });
      await res.text();
      return res.status;
    });
  }
  for (let i = 0; i < jobs.length; i += 50) {
    for (const status of await Promise.all(jobs.slice(i, i + 50).map((job) => job()))) assert.equal(status, 204);
  }
});

after(async () => {
  await w?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The one snapshot folder under `out` (named after the window's end). */
function onlySnapshot(out) {
  const days = readdirSync(out).filter((d) => /^\d{4}-\d\d-\d\d$/.test(d));
  assert.equal(days.length, 1, `one snapshot under ${out}: ${days}`);
  return join(out, days[0]);
}

function summaryIn(out) {
  return JSON.parse(readFileSync(join(onlySnapshot(out), "summary.json"), "utf8"));
}

/** Two summaries of the same events over the same window; only the generation time differs. */
function assertSameReport(actual, expected) {
  assert.deepEqual({ ...actual, generatedAt: null }, { ...expected, generatedAt: null });
}

test("reportgen --url reads every page and equals reportgen --input on the saved export", () => {
  const saved = join(dir, "export.ndjson.gz");
  const fromUrl = reportgen(["--url", w.url, "--days", "30", "--out", join(dir, "url"), "--save-export", saved, "--publish"], {
    ANALYTICS_PASSWORD: w.bindings.ANALYTICS_PASSWORD,
  });
  assert.equal(fromUrl.status, 0, fromUrl.stderr);
  assert.match(fromUrl.stderr, /fetched page 2/, "followed the second page");
  const urlSummary = summaryIn(join(dir, "url"));
  assert.equal(urlSummary.dataQuality.eventsInWindow, EVENTS);
  for (const type of [...TYPES, "message_sent", "rate_limited"]) {
    assert.ok(urlSummary.conversationVolume.eventsByType[type] > 0, type);
  }

  // The saved export is gzip'd NDJSON: decompress it to a file and report on that, over the
  // window the worker applied (its end is exclusive, as --now's is).
  const text = gunzipSync(readFileSync(saved)).toString("utf8");
  assert.equal(text.trim().split("\n").length, EVENTS);
  const plain = join(dir, "export.ndjson");
  writeFileSync(plain, text);
  const fromFile = reportgen(["--input", plain, "--now", urlSummary.window.to, "--days", "30", "--out", join(dir, "file"), "-q"]);
  assert.equal(fromFile.status, 0, fromFile.stderr);
  const fileSummary = summaryIn(join(dir, "file"));
  assert.equal(fileSummary.generatedAt, urlSummary.window.to, "--now is the generation time");
  assertSameReport(fileSummary, urlSummary);
});

test("reportgen --url equals reportgen --input on the worker's own NDJSON export", async () => {
  // Independent of reportgen's fetching: the test pages through the export itself.
  const lines = [];
  let path = "/analytics/export?format=ndjson&days=30&limit=500";
  while (path) {
    const res = await w.fetch(path, { headers: { Authorization: w.basic() } });
    assert.equal(res.status, 200);
    lines.push(...(await res.text()).trim().split("\n"));
    const link = res.headers.get("Link");
    path = link ? link.match(/^<([^>]+)>/)[1] : null;
  }
  assert.equal(lines.length, EVENTS);
  const file = join(dir, "worker-export.ndjson");
  writeFileSync(file, lines.join("\n") + "\n");
  const fromUrl = reportgen(["--url", w.url, "--days", "30", "--out", join(dir, "url2"), "-q"], {
    ANALYTICS_PASSWORD: w.bindings.ANALYTICS_PASSWORD,
  });
  assert.equal(fromUrl.status, 0, fromUrl.stderr);
  const b = summaryIn(join(dir, "url2"));
  const fromFile = reportgen(["--input", file, "--now", b.window.to, "--days", "30", "--out", join(dir, "own"), "-q"]);
  assert.equal(fromFile.status, 0, fromFile.stderr);
  const own = summaryIn(join(dir, "own"));
  assert.equal(own.generatedAt, b.window.to, "--now is the generation time");
  assertSameReport(b, own);
});

test("--publish makes /analytics serve the report reportgen wrote, with the worker's line about it", async () => {
  const snapshot = onlySnapshot(join(dir, "url"));
  const local = readFileSync(join(snapshot, "index.html"), "utf8");
  const res = await w.fetch("/analytics", { headers: { Authorization: w.basic() } });
  assert.equal(res.status, 200);
  const served = await res.text();
  assert.equal(withoutPublishedNote(served), local);
  assert.ok(served.startsWith(local.slice(0, local.indexOf("<body>") + "<body>".length) + '<aside class="published-note"'), "the line opens the body");
  const summary = JSON.parse(readFileSync(join(snapshot, "summary.json"), "utf8"));
  assert.equal(res.headers.get("X-Report-Generated-At"), summary.generatedAt);
  assert.ok(existsSync(join(dir, "url", "index.html")), "the archive page");
  assert.ok(existsSync(join(dir, "url", "latest", "index.html")), "latest/");
});

test("a wrong password is one clear line, exit 2, and no report", () => {
  const out = join(dir, "denied");
  const run = reportgen(["--url", w.url, "--out", out], { ANALYTICS_PASSWORD: "wrong" });
  assert.equal(run.status, 2);
  assert.match(run.stderr, /401.*ANALYTICS_PASSWORD/);
  assert.equal(run.stderr.trim().split("\n").length, 1);
  assert.ok(!existsSync(out));
});

test("events posted and reported with no pause are all counted, round after round", async () => {
  // Nothing waits between the last accepted event and the report: the worker's export window
  // ends after the millisecond of its request, and reportgen takes that window as it is.
  let total = EVENTS;
  for (let round = 1; round <= 5; round++) {
    const posted = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const res = await w.fetch("/analytics-event", {
          method: "POST",
          headers: { "Content-Type": "application/json", Authorization: `Bearer ${w.bindings.INGEST_TOKEN}`, "X-Page-URL": "https://site.example/now" },
          body: JSON.stringify({ eventType: "message_sent", sessionId: `now-${round}-${i}`, question: "Right now?", success: true }),
        });
        await res.text();
        return res.status;
      }),
    );
    assert.deepEqual(new Set(posted), new Set([204]));
    total += posted.length;
    const out = join(dir, `no-pause-${round}`);
    const run = reportgen(["--url", w.url, "--out", out, "-q"], { ANALYTICS_PASSWORD: w.bindings.ANALYTICS_PASSWORD });
    assert.equal(run.status, 0, run.stderr);
    const summary = summaryIn(out);
    assert.equal(summary.dataQuality.eventsInWindow, total, `round ${round}: every event so far`);
    assert.equal(summary.dataQuality.eventsRead, total, `round ${round}`);
  }
});

test("reportgen's clock a day ahead of or behind the worker's changes nothing but the generation time", async () => {
  const res = await w.fetch("/analytics/export?format=json&days=30&limit=1", { headers: { Authorization: w.basic() } });
  const workerNow = Date.parse((await res.json()).generatedAt);
  const reports = [];
  for (const [name, offset] of [["ahead", 86_400_000], ["behind", -86_400_000]]) {
    const now = new Date(workerNow + offset).toISOString();
    const out = join(dir, `skew-${name}`);
    const run = reportgen(["--url", w.url, "--now", now, "--out", out, "-q"], { ANALYTICS_PASSWORD: w.bindings.ANALYTICS_PASSWORD });
    assert.equal(run.status, 0, run.stderr);
    const summary = summaryIn(out);
    assert.equal(Date.parse(summary.generatedAt), Date.parse(now), "--now is the generation time");
    // The window is the worker's: it ends after the worker's clock read at the export, far
    // from reportgen's a day away.
    const to = Date.parse(summary.window.to);
    assert.ok(to > workerNow && to < workerNow + 86_400_000 / 2, `${name}: window ${summary.window.to}, worker at ${new Date(workerNow).toISOString()}`);
    assert.equal(Date.parse(summary.window.to) - Date.parse(summary.window.from), 30 * 86_400_000);
    reports.push(summary);
  }
  const [ahead, behind] = reports;
  assert.equal(ahead.dataQuality.eventsInWindow, ahead.dataQuality.eventsRead);
  assert.equal(behind.dataQuality.eventsInWindow, ahead.dataQuality.eventsInWindow, "neither drops nor doubles an event");
  // The two exports are moments apart, so their windows may differ by a day row (midnight);
  // everything not counted per day is the same.
  for (const part of ["conversationVolume", "topicDistribution", "knowledgeGaps", "performance", "errors", "pagesAndSources", "dataQuality"]) {
    assert.deepEqual(behind[part], ahead[part], part);
  }
});
