// Whole-window downloads: `GET /analytics/export` without `limit` or `cursor` holds every event
// of the window, in every format, or says unmistakably that it does not. 5,000 events are sent
// over HTTP at concurrency 50 to the worker in workerd; then the three plain downloads, the
// paged export, and the same data read by workers whose KV budget (`KV_OP_BUDGET`) is lowered
// until a download cannot hold the window: each answer must be complete, an error before the
// first byte, or a download that fails visibly (an aborted body; a JSON envelope that says it
// is partial) — never one that ends cleanly short.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { start } from "./harness.mjs";
import { runLoad } from "./load.mjs";
import { sessionIds } from "./exports.mjs";

const EVENTS = 5000;

/** A plain download: its status and headers, its body, or how reading the body failed. */
async function download(w, format, query = "") {
  const res = await w.fetch(`/analytics/export?format=${format}${query}`, { headers: { Authorization: w.basic() } });
  try {
    return { status: res.status, headers: res.headers, body: await res.text(), failed: null };
  } catch (error) {
    return { status: res.status, headers: res.headers, body: null, failed: error };
  }
}

/** Asserts every id of `expected` is in `got` exactly once, and nothing else is. */
function assertExactlyOnce(got, expected, what) {
  const counts = new Map();
  for (const id of got) counts.set(id, (counts.get(id) ?? 0) + 1);
  const twice = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
  const missing = [...expected].filter((id) => !counts.has(id));
  const extra = [...counts.keys()].filter((id) => !expected.has(id));
  assert.deepEqual({ twice: twice.slice(0, 5), missing: missing.slice(0, 5), extra: extra.slice(0, 5) }, { twice: [], missing: [], extra: [] }, what);
  assert.equal(got.length, expected.size, what);
}

/** Reads pages with `limit` from `cursor` to the end; the session ids. */
async function pageFrom(w, cursor, days = 30) {
  const ids = [];
  let next = cursor;
  for (let n = 0; next; n++) {
    assert.ok(n < 10000, "the paged export ends");
    const res = await w.fetch(`/analytics/export?format=json&days=${days}&limit=1000&cursor=${encodeURIComponent(next)}`, {
      headers: { Authorization: w.basic() },
    });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    const page = JSON.parse(text);
    assert.equal(page.partial, false, "a page is never partial: it names the next");
    ids.push(...page.events.map((e) => e.sessionId));
    next = page.nextCursor;
  }
  return ids;
}

describe(`whole-window downloads of ${EVENTS.toLocaleString("en")} events sent at concurrency 50`, () => {
  const dir = mkdtempSync(join(tmpdir(), "downloads-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  let accepted;

  test("plain CSV, NDJSON and JSON downloads each hold every event exactly once; paging too", async () => {
    const r = await runLoad({
      events: EVENTS,
      concurrency: 50,
      format: "json",
      pageSize: 1000,
      persistTo: dir,
      also: async (w) => {
        const out = {};
        for (const format of ["csv", "ndjson", "json"]) out[format] = await download(w, format);
        const live = await w.fetch("/analytics", { headers: { Authorization: w.basic() } });
        await live.text();
        out.live = { status: live.status, ops: Number(live.headers.get("X-KV-Operations")) };
        const data = await w.fetch("/analytics/data", { headers: { Authorization: w.basic() } });
        out.data = { status: data.status, ops: Number(data.headers.get("X-KV-Operations")), summary: await data.json() };
        return out;
      },
    });
    assert.deepEqual(r.statuses, { 204: EVENTS }, "every event accepted");
    assert.deepEqual(r.check.problems, [], "the paged export holds every event exactly once");
    assert.ok(r.export.pages >= 5, `${r.export.pages} pages`);
    for (const ops of r.export.kvOps) assert.ok(ops >= 1 && ops <= 1000, `${ops} KV operations on a page`);
    accepted = new Set(r.sent.map((e) => e.id ?? e.expect.sessionId));
    assert.equal(accepted.size, EVENTS);

    for (const format of ["csv", "ndjson", "json"]) {
      const d = r.also[format];
      assert.equal(d.failed, null, `${format}: the download completes`);
      assert.equal(d.status, 200, `${format}: ${d.body?.slice(0, 300)}`);
      assert.equal(d.headers.get("Link"), null, `${format}: no next page`);
      assert.match(
        d.headers.get("Content-Disposition") ?? "",
        new RegExp(`^attachment; filename="chatbot-events_\\d{4}-\\d\\d-\\d\\dT\\d{6}Z_\\d{4}-\\d\\d-\\d\\dT\\d{6}Z\\.${format}"$`),
      );
      assertExactlyOnce(sessionIds(format, d.body), accepted, `${format} download`);
      if (format === "json") {
        const envelope = JSON.parse(d.body);
        assert.equal(envelope.partial, false);
        assert.equal(envelope.nextCursor, null);
        assert.deepEqual(envelope.unreadable, {});
      }
    }
    for (const format of ["csv", "ndjson", "json"]) {
      // A streamed download reports the operations made before its first byte.
      const ops = Number(r.also[format].headers.get("X-KV-Operations"));
      assert.ok(ops >= 1 && ops <= 1000, `${format} download: ${ops} KV operations`);
    }
    assert.equal(r.also.live.status, 200);
    assert.ok(r.also.live.ops >= 1 && r.also.live.ops <= 1000, `/analytics: ${r.also.live.ops} KV operations`);
    assert.equal(r.also.data.status, 200);
    assert.ok(r.also.data.ops >= 1 && r.also.data.ops <= 1000, `/analytics/data: ${r.also.data.ops} KV operations`);
    assert.equal(r.also.data.summary.dataQuality.eventsInWindow, EVENTS);
  });

  test("with the KV budget lowered, no format ends cleanly with fewer events", async (t) => {
    assert.ok(accepted, "the run above completed");
    const seen = { complete: 0, refused: 0, aborted: 0, partial: 0 };
    // From a budget that cannot read one event to one that reads them all: every outcome.
    for (const budget of [60, 100, 140, 150, 160, 170, 190, 1000]) {
      const w = await start({ persistTo: dir, bindings: { KV_OP_BUDGET: String(budget) } });
      try {
        for (const format of ["csv", "ndjson", "json"]) {
          const what = `budget ${budget}, ${format}`;
          const d = await download(w, format);
          if (d.status === 503) {
            const { error } = JSON.parse(d.body);
            assert.match(error, /`limit` and `cursor`/, what);
            assert.match(error, /reportgen --url/, what);
            assert.match(error, new RegExp(`within the ${budget} storage operations`), what);
            seen.refused++;
            t.diagnostic(`${what}: 503`);
          } else if (d.failed) {
            // Where the runtime aborts an errored body, the client's read fails.
            assert.equal(d.status, 200, what);
            seen.aborted++;
          } else {
            assert.equal(d.status, 200, `${what}: ${d.body.slice(0, 300)}`);
            const ids = sessionIds(format, d.body);
            const envelope = format === "json" ? JSON.parse(d.body) : null;
            if (envelope?.partial) {
              assert.ok(ids.length < EVENTS, what);
              assert.match(envelope.message, /`limit` and `cursor`/, what);
              assert.ok(envelope.nextCursor, `${what}: a partial envelope says where to go on`);
              // Its cursor goes on where it stopped: together, every event exactly once.
              const rest = await pageFrom(w, envelope.nextCursor);
              assertExactlyOnce([...ids, ...rest], accepted, `${what}: partial download + the pages after it`);
              seen.partial++;
            } else {
              assertExactlyOnce(ids, accepted, what);
              seen.complete++;
              t.diagnostic(`${what}: complete`);
            }
          }
        }
      } finally {
        await w.stop();
      }
    }
    // The budget is counted before the first byte: a window it cannot hold is refused, one it
    // can is sent whole. (A download that stops after its first byte — KV failing, or writes
    // during it outgrowing the reserve — ends with a marker: the encoder's unit tests.)
    assert.ok(seen.refused > 0 && seen.complete > 0, `both outcomes reached: ${JSON.stringify(seen)}`);
  });
});
