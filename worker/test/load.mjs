#!/usr/bin/env node
// Load client, "nothing lost": starts the built worker in workerd through the harness, sends N
// events over real HTTP to its loopback address (`w.url`, not dispatchFetch) with C requests in
// flight, then pages through the whole `/analytics/export` and checks that every event answered
// 2xx is there exactly once, with the fields it was sent with, that no request got a 5xx, that
// refused events are absent and that the export holds nothing else.
//
//   node worker/test/load.mjs --events 20000 --concurrency 50
//   node worker/test/load.mjs --events 600 --concurrency 50 --ip-limit 100   # rate limits bite
//
// Options: --events N (default 2000), --concurrency C (50), --page-size L (export `limit`,
// 1000), --format ndjson|json (ndjson), --ip-limit / --session-limit (IP_LIMITER /
// SESSION_LIMITER limit per 60 s; default far above N), --message-every K (every Kth event is
// an authenticated `message_sent`, default 5), --ips K (spread the widget events over K client
// IPs with CF-Connecting-IP; default 1: no header, the worker sees 127.0.0.1), --no-keep-alive
// (`Connection: close`: at 200 in flight, keep-alive connections meet workerd's ~5 s idle close
// and a few requests fail with ECONNRESET; see docs/load.md), --json (print the result as JSON).
// Exit status 1 when the check fails.
//
//   import { runLoad, formatReport } from "./load.mjs";
//   const r = await runLoad({ events: 2000, concurrency: 50 });
//   r.check.ok; r.statuses; r.latency.p99; r.export.pages; r.check.problems
//
// Each event carries a unique `sessionId` in the tracker's exact form `session-{epochMillis}-{random}`
// (here `{random}` = 4 characters of a random run tag + the event's index in 5): ingestion keeps
// an id of that form as it is (any other is replaced by a keyed hash), so it is the event's
// identity in the export.

import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { basicAuth, start } from "./harness.mjs";

const WIDGET_TYPES = ["bubble_opened", "bubble_closed", "suggestion_clicked", "widget_loaded", "cta_clicked"];
const TOPICS = ["skills", "projects", "experience", "contact"];

/**
 * The events of a run: `{ i, id, type, body, headers, token, expect }`, where `expect` is the
 * event as the export must return it (every field but `timestamp`), after the worker's
 * cleaning (URL queries stripped, context headers filling absent fields).
 */
export function makeEvents(n, { messageEvery = 5, ips = 1, now = Date.now() } = {}) {
  // Nine characters after the epoch, as the tracker makes them (4 random + 5 of the index):
  // an id of any other form would be stored as a keyed hash.
  const tag = Math.random().toString(36).slice(2, 6).padEnd(4, "0");
  const events = [];
  for (let i = 0; i < n; i++) {
    const id = `session-${now}-${tag}${i.toString(36).padStart(5, "0")}`;
    const page = i % 7;
    const headers = { "Content-Type": "application/json" };
    let body;
    let expect;
    let token = false;
    if (messageEvery > 0 && i % messageEvery === 0) {
      // The chat backend's event: authenticated, every kind of field.
      const success = i % 40 !== 0;
      body = {
        eventType: "message_sent",
        sessionId: id,
        messageNumber: 1 + (i % 9),
        question: `Load question ${i % 50}: what about ${TOPICS[i % TOPICS.length]}?`,
        topic: TOPICS[i % TOPICS.length],
        entriesRetrieved: i % 6,
        responseLength: 100 + (i % 400),
        success,
        ragTimeMs: 5 + (i % 60),
        aiTimeMs: 400 + (i % 900),
        totalTimeMs: 420 + (i % 960),
        noRagMatch: i % 10 === 0,
        pageUrl: `https://load.example/p${page}`,
        pageTitle: `Load page ${page}`,
        ...(success ? {} : { errorType: "ai_timeout", errorMessage: "the model did not answer in time" }),
      };
      expect = { ...body };
      token = true;
    } else {
      // A widget event, as analytics.js sends it: page context partly in headers, some as
      // sendBeacon's text/plain, some with the session only in X-Session-ID.
      const type = WIDGET_TYPES[i % WIDGET_TYPES.length];
      body = { eventType: type };
      expect = { eventType: type, sessionId: id, pageUrl: `https://load.example/p${page}`, pageTitle: `Load page ${page}` };
      if (i % 3 === 0) headers["X-Session-ID"] = id;
      else body.sessionId = id;
      if (i % 2 === 0) {
        headers["X-Page-URL"] = encodeURIComponent(`https://load.example/p${page}?utm_source=load&n=${i}#top`);
        headers["X-Page-Title"] = encodeURIComponent(`Load page ${page}`);
      } else {
        body.pageUrl = `https://load.example/p${page}?ref=${i}`;
        body.pageTitle = `Load page ${page}`;
      }
      if (i % 4 === 1) {
        headers["X-Referrer"] = "https://www.google.com/search?q=load";
        expect.referrer = "https://www.google.com/search";
      }
      if (i % 11 === 3) headers["Content-Type"] = "text/plain;charset=UTF-8";
      if (ips > 1) headers["CF-Connecting-IP"] = `198.18.${Math.floor((i % ips) / 250)}.${1 + ((i % ips) % 250)}`;
    }
    events.push({ i, id, type: body.eventType, body: JSON.stringify(body), headers, token, expect });
  }
  return events;
}

/** Nearest-rank percentile of an ascending array. */
function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Sends every event with `concurrency` requests in flight; fills `e.status`, `e.ms`, … */
async function send(url, events, { concurrency, ingestToken, keepAlive = true }) {
  let next = 0;
  async function lane() {
    while (next < events.length) {
      const e = events[next++];
      const headers = { ...e.headers };
      if (e.token) headers.Authorization = `Bearer ${ingestToken}`;
      if (!keepAlive) headers.Connection = "close";
      e.sentAt = Date.now();
      const t0 = performance.now();
      try {
        const res = await fetch(`${url}/analytics-event`, { method: "POST", headers, body: e.body });
        e.responseBody = await res.text();
        e.status = res.status;
        e.retryAfter = res.headers.get("Retry-After");
      } catch (error) {
        e.status = "error";
        e.error = String(error?.cause ?? error);
      }
      e.ms = performance.now() - t0;
      e.doneAt = Date.now();
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, events.length) }, lane));
}

/** Reads every page of the export; returns the events and per-page figures. */
export async function readExport(url, password, { format = "ndjson", pageSize = 1000, days = 30 } = {}) {
  const authorization = basicAuth(password);
  const pages = [];
  const events = [];
  const t0 = performance.now();
  let path = `/analytics/export?format=${format}&days=${days}&limit=${pageSize}`;
  while (path) {
    const p0 = performance.now();
    const res = await fetch(new URL(path, `${url}/`), { headers: { Authorization: authorization } });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`export page ${pages.length + 1}: ${res.status} ${text.slice(0, 300)}`);
    let got;
    if (format === "json") {
      const envelope = JSON.parse(text);
      got = envelope.events;
      path = envelope.nextCursor
        ? `/analytics/export?format=json&days=${days}&limit=${pageSize}&cursor=${encodeURIComponent(envelope.nextCursor)}`
        : null;
    } else {
      got = text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
      const link = res.headers.get("Link");
      path = link ? link.match(/^<([^>]+)>; rel="next"$/)?.[1] ?? null : null;
      if (link && !path) throw new Error(`unexpected Link header: ${link}`);
    }
    const declared = Number(res.headers.get("X-Export-Events"));
    if (declared !== got.length) throw new Error(`page ${pages.length + 1}: X-Export-Events ${declared}, body has ${got.length}`);
    events.push(...got);
    pages.push({ events: got.length, kvOps: Number(res.headers.get("X-KV-Operations")), ms: performance.now() - p0, bytes: text.length });
    if (pages.length > 100000) throw new Error("the export does not end");
  }
  return { events, pages, ms: performance.now() - t0 };
}

/** Same flat object, whatever the key order (the numbers sent are integers: no formatting question). */
function same(a, b) {
  const canon = (o) => JSON.stringify(Object.entries(o).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
  return canon(a) === canon(b);
}

/**
 * Compares what was sent with what the export returned. The rules:
 * - an event answered 2xx is exported exactly once, with exactly the fields it was sent with
 *   (after cleaning) and a timestamp within its request's time;
 * - an event answered 4xx (429 included) is not exported; 429s may have caused `rate_limited`
 *   notes of the worker's own, which name the limit (`errorType` `worker_session_limit` or
 *   `worker_ip_limit`) and carry nothing a client sent (at most one per limiter key and
 *   LIMIT_NOTES period, see handlers/ingest.rs `note_rate_limited`);
 * - no 5xx and no network error (an event whose request failed may be there once at most);
 * - nothing else is in the export.
 */
export function check(sent, exported) {
  const byId = new Map(sent.map((e) => [e.id, e]));
  const seen = new Map();
  const notes = [];
  const unexpected = [];
  const mismatched = [];
  for (const x of exported) {
    if (x.eventType === "rate_limited" && x.sessionId === undefined && /^worker_/.test(x.errorType ?? "")) {
      notes.push(x);
      continue;
    }
    const e = byId.get(x.sessionId);
    if (!e) {
      unexpected.push(x);
      continue;
    }
    seen.set(e.id, (seen.get(e.id) ?? 0) + 1);
    const { timestamp, ...fields } = x;
    const at = Date.parse(timestamp);
    // workerd and this process read the same clock; 1 s of slack for rounding and scheduling.
    if (!same(fields, e.expect) || !(at >= e.sentAt - 1000 && at <= e.doneAt + 1000)) {
      mismatched.push({ id: e.id, sent: e.expect, exported: x, sentAt: e.sentAt, doneAt: e.doneAt });
    }
  }
  const ok2xx = sent.filter((e) => typeof e.status === "number" && e.status >= 200 && e.status < 300);
  const missing = ok2xx.filter((e) => !seen.has(e.id)).map((e) => e.id);
  const duplicated = [...seen].filter(([, n]) => n > 1).map(([id, n]) => ({ id, times: n }));
  const refusedPresent = sent
    .filter((e) => typeof e.status === "number" && e.status >= 400 && e.status < 500 && seen.has(e.id))
    .map((e) => ({ id: e.id, status: e.status }));
  const serverErrors = sent.filter((e) => e.status === "error" || e.status >= 500);
  const any429 = sent.some((e) => e.status === 429);
  const badNotes = notes.filter((n) => {
    const { timestamp, eventType, errorType, ...fields } = n;
    return !any429 || !["worker_session_limit", "worker_ip_limit"].includes(errorType) || Object.keys(fields).length > 0;
  });
  const tooMany429WithoutRetryAfter = sent.filter((e) => e.status === 429 && e.retryAfter !== "60").length;
  const problems = [];
  if (missing.length) problems.push(`${missing.length} event(s) answered 2xx are missing from the export, e.g. ${missing.slice(0, 3).join(", ")}`);
  if (duplicated.length) problems.push(`${duplicated.length} event(s) exported more than once, e.g. ${JSON.stringify(duplicated.slice(0, 3))}`);
  if (refusedPresent.length) problems.push(`${refusedPresent.length} refused event(s) are in the export, e.g. ${JSON.stringify(refusedPresent.slice(0, 3))}`);
  if (serverErrors.length) {
    problems.push(
      `${serverErrors.length} request(s) got a 5xx or failed, e.g. ` +
        JSON.stringify(serverErrors.slice(0, 3).map((e) => ({ id: e.id, status: e.status, body: e.responseBody ?? e.error }))),
    );
  }
  if (unexpected.length) problems.push(`${unexpected.length} unexpected event(s) in the export, e.g. ${JSON.stringify(unexpected.slice(0, 2))}`);
  if (mismatched.length) problems.push(`${mismatched.length} event(s) exported with other fields or time, e.g. ${JSON.stringify(mismatched.slice(0, 2))}`);
  if (badNotes.length) problems.push(`${badNotes.length} rate_limited note(s) not matching a refused event, e.g. ${JSON.stringify(badNotes.slice(0, 2))}`);
  if (tooMany429WithoutRetryAfter) problems.push(`${tooMany429WithoutRetryAfter} 429(s) without Retry-After: 60`);
  const unknownOutcome = sent.filter((e) => typeof e.status !== "number" || e.status >= 500);
  const notFound = new Set(missing);
  return {
    ok: problems.length === 0,
    problems,
    accepted: ok2xx.length,
    exportedOnce: ok2xx.length - notFound.size,
    missing,
    duplicated,
    refusedPresent,
    serverErrors: serverErrors.length,
    unknownOutcomeExported: unknownOutcome.filter((e) => seen.has(e.id)).length,
    unexpected,
    mismatched,
    rateLimitedNotes: notes,
    badNotes,
  };
}

/**
 * One run: start the worker, send, read the export, check, stop.
 *
 * @param {object} [o]
 * @param {number} [o.events] how many events (default 2000).
 * @param {number} [o.concurrency] requests in flight (default 50).
 * @param {object} [o.ratelimits] the harness's rate-limiting bindings (default: limits far
 *   above `events`, so nothing is refused).
 * @param {number} [o.messageEvery] every Kth event is an authenticated message_sent (5).
 * @param {number} [o.ips] client IPs the widget events come from (1: loopback).
 * @param {"ndjson"|"json"} [o.format] export format read back (ndjson).
 * @param {number} [o.pageSize] export `limit` per page (1000, the worker's default).
 * @param {boolean} [o.keepAlive] reuse connections (true, fetch's default); false sends
 *   `Connection: close`, one TCP connection per event.
 * @param {(line: string) => void} [o.log] progress lines.
 */
export async function runLoad(o = {}) {
  const n = o.events ?? 2000;
  const concurrency = o.concurrency ?? 50;
  const high = { limit: Math.max(100000, 10 * n), period: 60 };
  const ratelimits = o.ratelimits ?? {
    SESSION_LIMITER: { namespace_id: "3001", simple: high },
    IP_LIMITER: { namespace_id: "3002", simple: high },
    LIMIT_NOTES: { namespace_id: "3003", simple: { limit: 1, period: 60 } },
    AUTH_FAILURES: { namespace_id: "3004", simple: { limit: 10, period: 60 } },
  };
  const log = o.log ?? (() => {});
  const w = await start({ ratelimits, bindings: o.bindings, persistTo: o.persistTo });
  try {
    const events = makeEvents(n, { messageEvery: o.messageEvery ?? 5, ips: o.ips ?? 1 });
    log(`worker at ${w.url}; sending ${n} events, ${concurrency} in flight`);
    const startedAt = Date.now();
    const t0 = performance.now();
    await send(w.url, events, { concurrency, ingestToken: w.bindings.INGEST_TOKEN, keepAlive: o.keepAlive ?? true });
    const ingestMs = performance.now() - t0;
    const endedAt = Date.now();
    log(`sent in ${(ingestMs / 1000).toFixed(2)} s; reading the export`);
    const exp = await readExport(w.url, w.bindings.ANALYTICS_PASSWORD, { format: o.format ?? "ndjson", pageSize: o.pageSize ?? 1000 });
    const statuses = {};
    for (const e of events) statuses[e.status] = (statuses[e.status] ?? 0) + 1;
    const lat = events.map((e) => e.ms).sort((a, b) => a - b);
    const lat2xx = events.filter((e) => e.status >= 200 && e.status < 300).map((e) => e.ms).sort((a, b) => a - b);
    const ratelimitWindows = (period) => Math.floor(endedAt / (period * 1000)) - Math.floor(startedAt / (period * 1000)) + 1;
    const result = {
      events: n,
      concurrency,
      format: o.format ?? "ndjson",
      pageSize: o.pageSize ?? 1000,
      ingestMs,
      startedAt,
      endedAt,
      // Miniflare's limiters count in fixed windows aligned to the clock (floor(now / period)):
      // how many of them the sending spanned.
      ratelimitWindows: ratelimitWindows(ratelimits.IP_LIMITER?.simple?.period ?? 60),
      requestsPerSecond: n / (ingestMs / 1000),
      acceptedPerSecond: lat2xx.length / (ingestMs / 1000),
      statuses,
      latency: {
        p50: percentile(lat, 50),
        p90: percentile(lat, 90),
        p99: percentile(lat, 99),
        max: lat.at(-1) ?? null,
        mean: lat.reduce((a, b) => a + b, 0) / (lat.length || 1),
      },
      latency2xx: { p50: percentile(lat2xx, 50), p99: percentile(lat2xx, 99), max: lat2xx.at(-1) ?? null },
      export: {
        pages: exp.pages.length,
        events: exp.events.length,
        ms: exp.ms,
        kvOps: exp.pages.map((p) => p.kvOps),
        kvOpsTotal: exp.pages.reduce((a, p) => a + p.kvOps, 0),
        kvOpsMax: Math.max(0, ...exp.pages.map((p) => p.kvOps)),
        pageMs: exp.pages.map((p) => p.ms),
        bytes: exp.pages.reduce((a, p) => a + p.bytes, 0),
      },
      check: check(events, exp.events),
      sent: events,
      exported: exp.events,
    };
    // More checks against the same worker and data, before it stops.
    if (o.also) result.also = await o.also(w, result);
    return result;
  } finally {
    await w.stop();
  }
}

const f1 = (x) => (x == null ? "-" : x.toFixed(1));

/** The human-readable report of a run. */
export function formatReport(r) {
  const lines = [
    `events sent:        ${r.events} at concurrency ${r.concurrency} over http (loopback)`,
    `ingestion:          ${(r.ingestMs / 1000).toFixed(2)} s → ${r.requestsPerSecond.toFixed(0)} requests/s, ${r.acceptedPerSecond.toFixed(0)} accepted events/s`,
    `statuses:           ${Object.entries(r.statuses).map(([s, c]) => `${s}×${c}`).join(", ")}`,
    `latency (ms):       p50 ${f1(r.latency.p50)}  p90 ${f1(r.latency.p90)}  p99 ${f1(r.latency.p99)}  max ${f1(r.latency.max)}  mean ${f1(r.latency.mean)}`,
    `latency 2xx (ms):   p50 ${f1(r.latency2xx.p50)}  p99 ${f1(r.latency2xx.p99)}  max ${f1(r.latency2xx.max)}`,
    `export (${r.format}):    ${r.export.events} events in ${r.export.pages} page(s) of ≤${r.pageSize}, read in ${(r.export.ms / 1000).toFixed(2)} s ` +
      `(${(r.export.bytes / 1e6).toFixed(2)} MB; page p50 ${f1([...r.export.pageMs].sort((a, b) => a - b)[Math.floor(r.export.pageMs.length / 2)])} ms)`,
    `KV ops (export):    ${r.export.kvOpsTotal} in all, at most ${r.export.kvOpsMax} on one page (X-KV-Operations)`,
    `rate_limited notes: ${r.check.rateLimitedNotes.length} (limiter windows spanned: ${r.ratelimitWindows})`,
    `check:              ${r.check.ok ? "OK" : "FAILED"} — ${r.check.accepted} accepted, ${r.check.exportedOnce} exported exactly once` +
      `, ${r.check.missing.length} missing, ${r.check.duplicated.length} duplicated, ${r.check.refusedPresent.length} refused-but-present` +
      `, ${r.check.serverErrors} 5xx/failed, ${r.check.unexpected.length} unexpected, ${r.check.mismatched.length} altered`,
  ];
  for (const p of r.check.problems) lines.push(`  problem: ${p}`);
  return lines.join("\n");
}

function parseArgs(argv) {
  const o = {};
  const num = (name, v) => {
    const x = Number(v);
    if (!Number.isInteger(x) || x < 0) throw new Error(`${name} needs a whole number, not ${v}`);
    return x;
  };
  for (let k = 0; k < argv.length; k++) {
    const a = argv[k];
    const v = () => argv[++k];
    switch (a) {
      case "--events": o.events = num(a, v()); break;
      case "--concurrency": o.concurrency = Math.max(1, num(a, v())); break;
      case "--page-size": o.pageSize = num(a, v()); break;
      case "--format": o.format = v(); break;
      case "--message-every": o.messageEvery = num(a, v()); break;
      case "--ips": o.ips = Math.max(1, num(a, v())); break;
      case "--ip-limit": o.ipLimit = num(a, v()); break;
      case "--session-limit": o.sessionLimit = num(a, v()); break;
      case "--json": o.json = true; break;
      case "--no-keep-alive": o.keepAlive = false; break;
      case "-h": case "--help":
        console.log("usage: node worker/test/load.mjs [--events N] [--concurrency C] [--page-size L] [--format ndjson|json]\n" +
          "       [--ip-limit N] [--session-limit N] [--message-every K] [--ips K] [--no-keep-alive] [--json]");
        process.exit(0);
      default: throw new Error(`unknown argument ${a} (see --help)`);
    }
  }
  if (o.ipLimit !== undefined || o.sessionLimit !== undefined) {
    const high = { limit: Math.max(100000, 10 * (o.events ?? 2000)), period: 60 };
    o.ratelimits = {
      SESSION_LIMITER: { namespace_id: "3001", simple: o.sessionLimit !== undefined ? { limit: o.sessionLimit, period: 60 } : high },
      IP_LIMITER: { namespace_id: "3002", simple: o.ipLimit !== undefined ? { limit: o.ipLimit, period: 60 } : high },
      LIMIT_NOTES: { namespace_id: "3003", simple: { limit: 1, period: 60 } },
      AUTH_FAILURES: { namespace_id: "3004", simple: { limit: 10, period: 60 } },
    };
  }
  return o;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  let o;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (error) {
    console.error(`load: ${error.message}`);
    process.exit(2);
  }
  const r = await runLoad({ ...o, log: (l) => console.error(`load: ${l}`) });
  if (o.json) {
    const { sent, exported, ...summary } = r;
    summary.check = { ...summary.check, rateLimitedNotes: summary.check.rateLimitedNotes.length, unexpected: summary.check.unexpected.slice(0, 20), mismatched: summary.check.mismatched.slice(0, 20) };
    console.log(JSON.stringify(summary, null, 2));
  } else {
    console.log(formatReport(r));
  }
  process.exit(r.check.ok ? 0 : 1);
}
