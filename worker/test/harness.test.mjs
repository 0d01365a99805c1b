// Self-test of harness.mjs on a tiny JS worker (fixtures/echo-worker.mjs): client IP, request.cf,
// bindings and their removal, the scheduled trigger, the loopback URL, fresh storage per start.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { basicAuth, DEFAULT_BINDINGS, DEFAULT_RATELIMITS, ROLLUP_CRON, start } from "./harness.mjs";

const scriptPath = fileURLToPath(new URL("./fixtures/echo-worker.mjs", import.meta.url));
let w;

before(async () => {
  w = await start({ scriptPath });
});
after(async () => {
  await w?.stop();
});

test("client IP: 127.0.0.1 by default, CF-Connecting-IP (or init.ip) when given", async () => {
  assert.equal((await (await w.fetch("/")).json()).ip, "127.0.0.1");
  assert.equal((await (await w.fetch("/", { ip: "203.0.113.7" })).json()).ip, "203.0.113.7");
  const res = await w.fetch("/", { headers: { "CF-Connecting-IP": "2001:db8::1" } });
  assert.equal((await res.json()).ip, "2001:db8::1");
});

test("request.cf is present offline and overridable per request", async () => {
  assert.equal((await (await w.fetch("/")).json()).country, "US");
  assert.equal((await (await w.fetch("/", { cf: { country: "NL" } })).json()).country, "NL");
});

test("default bindings and Basic Auth header", async () => {
  const body = await (await w.fetch("/", { headers: { Authorization: w.basic() } })).json();
  assert.deepEqual(
    body.bindings,
    ["ANALYTICS", ...Object.keys(DEFAULT_BINDINGS), ...Object.keys(DEFAULT_RATELIMITS)].sort(),
  );
  assert.equal(body.password, DEFAULT_BINDINGS.ANALYTICS_PASSWORD);
  assert.equal(body.authorization, basicAuth(DEFAULT_BINDINGS.ANALYTICS_PASSWORD));
  assert.equal(w.basic("x"), `Basic ${Buffer.from("admin:x").toString("base64")}`);
});

test("the URL serves external clients over loopback", async () => {
  assert.match(w.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const res = await fetch(`${w.url}/`, { headers: { "CF-Connecting-IP": "198.51.100.1" } });
  assert.equal((await res.json()).ip, "198.51.100.1");
});

test("scheduled() runs the cron handler", async () => {
  const when = new Date(Date.UTC(2025, 0, 2, 2, 15));
  const before = Date.now();
  assert.deepEqual(await w.scheduled(when), { outcome: "ok", noRetry: false });
  const after = Date.now();
  const seen = JSON.parse(await (await w.fetch("/last-scheduled")).text());
  assert.deepEqual(seen, { cron: ROLLUP_CRON, scheduledTime: when.getTime() });
  // Written with expirationTtl 3600 between the two readings (not at the scheduled time).
  const [key] = await w.keys("test:scheduled");
  const [earliest, latest] = [Math.floor(before / 1000) + 3600, Math.ceil(after / 1000) + 3600];
  assert.ok(key.expiration >= earliest && key.expiration <= latest, `expiration ${key.expiration} is absolute seconds in [${earliest}, ${latest}]`);
});

test("a binding can be removed, and every start has an empty store", async () => {
  const other = await start({ scriptPath, bindings: { ANALYTICS_PASSWORD: undefined } });
  try {
    const body = await (await other.fetch("/")).json();
    assert.equal(body.password, null);
    assert.ok(!body.bindings.includes("ANALYTICS_PASSWORD"));
    assert.deepEqual(await other.keys(), []);
    assert.notEqual(other.url, w.url);
  } finally {
    await other.stop();
  }
});
