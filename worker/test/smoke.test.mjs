// Smoke test of the built worker in workerd: it answers, and the real local KV namespace
// behind it keeps values, metadata and TTLs as production does.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { start } from "./harness.mjs";

let w;

before(async () => {
  w = await start();
});
after(async () => {
  await w?.stop();
});

test("the built worker answers", async () => {
  // An unknown path gets the router's own 404 (not a Miniflare/workerd error page).
  const res = await w.fetch("/no-such-route");
  assert.equal(res.status, 404);
  assert.doesNotMatch(await res.text(), /miniflare|workerd|Uncaught/i);
});

test("the scheduled (cron) handler runs", async () => {
  // At its cron's time on a fixed day: the time is not the point here.
  assert.equal((await w.scheduled(new Date("2026-11-26T02:15:00Z"))).outcome, "ok");
});

test("KV round trip: value, metadata and expiration", async () => {
  const before = Date.now();
  await w.kv.put("smoke:1", "hello", { expirationTtl: 120, metadata: { type: "page_view", n: 1 } });
  const after = Date.now();
  await w.kv.put("smoke:2", "no ttl");

  const { keys, list_complete } = await w.kv.list({ prefix: "smoke:" });
  assert.equal(list_complete, true);
  assert.deepEqual(
    keys.map((k) => k.name),
    ["smoke:1", "smoke:2"],
  );
  assert.deepEqual(keys[0].metadata, { type: "page_view", n: 1 });
  // Put between the clock readings `before` and `after`: it expires 120 s after, to the second.
  const [earliest, latest] = [Math.floor(before / 1000) + 120, Math.ceil(after / 1000) + 120];
  assert.ok(
    keys[0].expiration >= earliest && keys[0].expiration <= latest,
    `expiration ${keys[0].expiration} is within [${earliest}, ${latest}]: 120 s after the put`,
  );
  assert.equal(keys[1].expiration, undefined);
  assert.equal(keys[1].metadata, undefined);

  const got = await w.kv.getWithMetadata("smoke:1");
  assert.equal(got.value, "hello");
  assert.deepEqual(got.metadata, { type: "page_view", n: 1 });

  const snap = await w.snapshot("smoke:");
  assert.deepEqual(
    snap.map((e) => [e.name, e.value, e.expiration === null]),
    [
      ["smoke:1", "hello", false],
      ["smoke:2", "no ttl", true],
    ],
  );
});

test("KV rejects a TTL under 60 s, as in production", async () => {
  await assert.rejects(w.kv.put("smoke:short", "x", { expirationTtl: 30 }), /at least 60/);
});
