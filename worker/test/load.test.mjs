// Load, nothing lost: events sent over real HTTP to the worker in workerd with many requests in
// flight, then the whole export read back through its cursor. Every event answered 2xx must be
// there exactly once with its fields, no request may get a 5xx, and refused events must not be
// there. The load client is load.mjs (also a CLI: `node test/load.mjs --events 20000`); the
// figures of a large run are in docs/load.md.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { inOneRatelimitWindow } from "./harness.mjs";
import { check, runLoad } from "./load.mjs";

/** Fails with the client's own list of problems, which names the events concerned. */
function assertChecked(r) {
  assert.deepEqual(r.check.problems, [], "the load check found problems");
  assert.equal(r.check.ok, true);
}

describe("2,000 events at concurrency 50, limits out of the way", () => {
  let r;

  test("every event is answered 204 and exported exactly once, unaltered", async () => {
    r = await runLoad({ events: 2000, concurrency: 50, format: "ndjson", pageSize: 1000 });
    assert.deepEqual(r.statuses, { 204: 2000 }, "no 4xx, no 5xx, no network error");
    assertChecked(r);
    assert.equal(r.check.accepted, 2000);
    assert.equal(r.check.exportedOnce, 2000);
    assert.equal(r.export.events, 2000, "the export holds exactly the sent events");
    assert.equal(new Set(r.exported.map((e) => e.sessionId)).size, 2000);
    assert.equal(r.exported.filter((e) => e.eventType === "message_sent").length, 400, "authenticated ones included");
    assert.ok(r.export.pages >= 2, `paged: ${r.export.pages} pages`);
    for (const ops of r.export.kvOps) assert.ok(ops >= 1 && ops <= 1000, `${ops} KV operations on an export page`);
    assert.equal(r.check.rateLimitedNotes.length, 0);
  });

  test("the check itself catches a lost, a duplicated, an altered and an unknown event", () => {
    assert.ok(r, "the run above completed");
    const exported = r.exported;
    const lost = check(r.sent, exported.slice(1));
    assert.equal(lost.ok, false);
    assert.deepEqual(lost.missing, [exported[0].sessionId]);

    const twice = check(r.sent, [...exported, exported[7]]);
    assert.equal(twice.ok, false);
    assert.deepEqual(twice.duplicated, [{ id: exported[7].sessionId, times: 2 }]);

    const altered = check(r.sent, exported.map((e, k) => (k === 3 ? { ...e, pageTitle: "Other" } : e)));
    assert.equal(altered.ok, false);
    assert.equal(altered.mismatched.length, 1);

    const late = check(r.sent, exported.map((e, k) => (k === 5 ? { ...e, timestamp: "2000-01-01T00:00:00Z" } : e)));
    assert.equal(late.mismatched.length, 1, "a timestamp outside the request's time is caught");

    const foreign = check(r.sent, [...exported, { timestamp: exported[0].timestamp, eventType: "bubble_opened", sessionId: "session-1-x" }]);
    assert.equal(foreign.unexpected.length, 1);

    const refused = r.sent.map((e, k) => (k === 9 ? { ...e, status: 429, retryAfter: "60" } : e));
    assert.equal(check(refused, exported).refusedPresent.length, 1, "a refused event that was stored is caught");
    const failed = r.sent.map((e, k) => (k === 11 ? { ...e, status: 503 } : e));
    assert.equal(check(failed, exported).serverErrors, 1);
  });
});

describe("300 events from one client IP with IP_LIMITER at 100 per 60 s", () => {
  const IP_LIMIT = 100;
  const ratelimits = {
    SESSION_LIMITER: { namespace_id: "4001", simple: { limit: 120, period: 60 } },
    IP_LIMITER: { namespace_id: "4002", simple: { limit: IP_LIMIT, period: 60 } },
    LIMIT_NOTES: { namespace_id: "4003", simple: { limit: 1, period: 60 } },
    AUTH_FAILURES: { namespace_id: "4004", simple: { limit: 10, period: 60 } },
  };

  test("the limit refuses the excess with 429 + Retry-After; what was accepted is exported once, the refused are not", async () => {
    // Miniflare's limiter counts in fixed windows aligned to the clock: the run (a fresh
    // worker, fresh limiter counts and sessions each time) is kept within one 60-s window,
    // run again if a slow machine made it cross a boundary, so the counts are exact.
    // JSON pages of 50: the envelope's nextCursor path, over several pages.
    const { result: r } = await inOneRatelimitWindow(60, () => runLoad({ events: 300, concurrency: 50, ratelimits, format: "json", pageSize: 50 }), { marginMs: 15_000 });
    assert.equal(r.ratelimitWindows, 1, "the sending spanned one limiter window");
    assertChecked(r);
    assert.deepEqual(Object.keys(r.statuses).sort(), ["204", "429"], `statuses ${JSON.stringify(r.statuses)}`);

    const widget = r.sent.filter((e) => e.type !== "message_sent");
    const backend = r.sent.filter((e) => e.type === "message_sent");
    assert.equal(widget.length, 240);
    assert.ok(backend.every((e) => e.status === 204), "the backend's events are limited per session, not per its IP");

    const accepted = widget.filter((e) => e.status === 204).length;
    assert.equal(accepted, IP_LIMIT, "exactly the limit gets through, even with 50 in flight");
    const refused = widget.filter((e) => e.status === 429);
    assert.equal(refused.length, widget.length - accepted);
    assert.ok(refused.every((e) => e.retryAfter === "60"));
    assert.ok(refused.every((e) => JSON.parse(e.responseBody).error.includes("too many events")));

    // One rate_limited note per IP and LIMIT_NOTES period, naming the IP limit and carrying
    // nothing a client sent.
    const notes = r.check.rateLimitedNotes;
    assert.equal(notes.length, 1);
    const refusedIds = new Set(refused.map((e) => e.id));
    assert.deepEqual(notes.map(({ timestamp, ...n }) => n), [{ eventType: "rate_limited", errorType: "worker_ip_limit" }]);

    // The export: the accepted events and the notes, nothing else.
    assert.equal(r.export.events, accepted + backend.length + notes.length);
    const exportedIds = r.exported.filter((e) => e.eventType !== "rate_limited").map((e) => e.sessionId);
    assert.equal(new Set(exportedIds).size, exportedIds.length);
    assert.ok(exportedIds.every((id) => !refusedIds.has(id)), "no refused event in the export");
    assert.ok(r.export.pages >= 3, `${r.export.pages} JSON pages`);
    assert.equal(refused.length, 240 - IP_LIMIT, "the limit did refuse the rest");
  });
});
