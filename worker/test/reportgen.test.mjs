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
import { WORKER_DIR, start } from "./harness.mjs";

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

test("reportgen --url reads every page and equals reportgen --input on the saved export", () => {
  const now = new Date(Date.now() + 60_000).toISOString().replace(/\.\d+Z$/, "Z");
  const saved = join(dir, "export.ndjson.gz");
  const fromUrl = reportgen(
    ["--url", w.url, "--now", now, "--days", "30", "--out", join(dir, "url"), "--save-export", saved, "--publish"],
    { ANALYTICS_PASSWORD: w.bindings.ANALYTICS_PASSWORD },
  );
  assert.equal(fromUrl.status, 0, fromUrl.stderr);
  assert.match(fromUrl.stderr, /fetched page 2/, "followed the second page");
  const date = now.slice(0, 10);
  const urlSummary = JSON.parse(readFileSync(join(dir, "url", date, "summary.json"), "utf8"));
  assert.equal(urlSummary.dataQuality.eventsInWindow, EVENTS);
  for (const type of [...TYPES, "message_sent", "rate_limited"]) {
    assert.ok(urlSummary.conversationVolume.eventsByType[type] > 0, type);
  }

  // The saved export is gzip'd NDJSON: decompress it to a file and report on that.
  const text = gunzipSync(readFileSync(saved)).toString("utf8");
  assert.equal(text.trim().split("\n").length, EVENTS);
  const plain = join(dir, "export.ndjson");
  writeFileSync(plain, text);
  const fromFile = reportgen(["--input", plain, "--now", now, "--days", "30", "--out", join(dir, "file"), "-q"]);
  assert.equal(fromFile.status, 0, fromFile.stderr);
  const fileSummary = JSON.parse(readFileSync(join(dir, "file", date, "summary.json"), "utf8"));
  assert.deepEqual(fileSummary, urlSummary);
});

test("reportgen --url equals reportgen --input on the worker's own NDJSON export", async () => {
  // Independent of reportgen's fetching: the test pages through the export itself.
  const now = new Date(Date.now() + 60_000).toISOString().replace(/\.\d+Z$/, "Z");
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
  const fromFile = reportgen(["--input", file, "--now", now, "--days", "30", "--out", join(dir, "own"), "-q"]);
  assert.equal(fromFile.status, 0, fromFile.stderr);
  const fromUrl = reportgen(["--url", w.url, "--now", now, "--days", "30", "--out", join(dir, "url2"), "-q"], {
    ANALYTICS_PASSWORD: w.bindings.ANALYTICS_PASSWORD,
  });
  assert.equal(fromUrl.status, 0, fromUrl.stderr);
  const date = now.slice(0, 10);
  const a = JSON.parse(readFileSync(join(dir, "own", date, "summary.json"), "utf8"));
  const b = JSON.parse(readFileSync(join(dir, "url2", date, "summary.json"), "utf8"));
  assert.deepEqual(b, a);
});

test("--publish makes /analytics serve the report reportgen wrote", async () => {
  const date = readdirSync(join(dir, "url")).find((d) => /^\d{4}-\d\d-\d\d$/.test(d));
  const local = readFileSync(join(dir, "url", date, "index.html"), "utf8");
  const res = await w.fetch("/analytics", { headers: { Authorization: w.basic() } });
  assert.equal(res.status, 200);
  assert.equal(await res.text(), local);
  const summary = JSON.parse(readFileSync(join(dir, "url", date, "summary.json"), "utf8"));
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
