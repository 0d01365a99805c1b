// End-to-end harness: runs the built worker (build/index.js + index_bg.wasm, made by
// `npm run build`) in workerd through standalone Miniflare 4 (the npm `miniflare` package, not
// the copy inside wrangler), with a real local KV namespace `ANALYTICS`.
//
//   import { start } from "./harness.mjs";
//   const w = await start();                       // or start({ bindings: { ANALYTICS_PASSWORD: undefined } })
//   const res = await w.fetch("/analytics/data", { headers: { Authorization: w.basic() } });
//   await res.text();                              // always consume (or cancel) a body
//   await w.stop();
//
// What Miniflare 4 gives (checked with miniflare 4.20260730.0):
//
// - Requests: `mf.dispatchFetch(url, init)` (undici Request/Response). Miniflare always listens
//   on a socket; here `host: "127.0.0.1", port: 0` (a free port), and `w.url` is its address
//   (`http://127.0.0.1:PORT`, no trailing slash), reachable by external clients such as
//   `reportgen --url` or plain `fetch`/curl.
// - Client IP: Miniflare's entry worker sets `CF-Connecting-IP` to the peer address of the socket
//   (127.0.0.1 for dispatchFetch and for loopback clients) **unless the request already carries
//   a `CF-Connecting-IP` header**, which then reaches the worker unchanged. So a test picks the
//   client IP with `headers: { "CF-Connecting-IP": "203.0.113.7" }`, or the shortcut
//   `w.fetch(path, { ip: "203.0.113.7" })`. Works the same over the loopback port.
// - request.cf: `cf: false` only stops Miniflare from downloading real cf data from Cloudflare;
//   the worker still gets a fixed placeholder `request.cf` (country "US", colo "DFW", …).
//   `dispatchFetch(url, { cf: { country: "NL" } })` overrides fields per request (passed in an
//   `MF-CF-Blob` header, which the worker also sees among its headers).
// - Scheduled (cron) handler: `(await mf.getWorker()).scheduled({ scheduledTime: Date, cron })`
//   → `{ outcome: "ok" | "exception" | …, noRetry }`; `w.scheduled()` wraps it. (Over HTTP:
//   `GET /cdn-cgi/handler/scheduled?cron=…&time=<ms>` only with the Miniflare option
//   `unsafeTriggerHandlers: true`; without it the path goes to the worker's fetch handler.
//   `wrangler dev` 4.164 bundles a Miniflare 5 beta whose path is `/cdn-cgi/local/scheduled`.)
// - KV, read directly: `await mf.getKVNamespace("ANALYTICS")` (= `w.kv`), the Workers
//   KVNamespace API. `list({ prefix, cursor, limit })` →
//   `{ keys: [{ name, expiration?, metadata? }], list_complete, cursor?, cacheStatus }` where
//   `expiration` is absolute Unix time in **seconds** (absent for keys without TTL) and
//   `metadata` the parsed JSON (absent when none). `getWithMetadata(key)` →
//   `{ value, metadata, cacheStatus }`: no expiration there, only `list` shows it.
//   `put(key, value, { expirationTtl: 30 })` throws "Invalid expiration_ttl of 30. Expiration
//   TTL must be at least 60." as in production. `w.keys(prefix)` / `w.snapshot(prefix)` page
//   through every key.
// - Storage: `kvPersist: false` keeps the namespace in Miniflare's own temp directory, which
//   `dispose()` removes: every `start()` begins with an empty store. Pass `persistTo: DIR` to
//   keep it on disk (then that directory is yours to remove).
//
// Starting workerd takes ~1 s: share one instance per test file (before/after hooks) and use
// distinct session ids / IPs / KV prefixes between tests rather than a fresh start each.

import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";

export const WORKER_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const SCRIPT_PATH = join(WORKER_DIR, "build", "index.js");

/** `compatibility_date` of wrangler.toml, so tests run what `wrangler dev`/deploy run. */
export const COMPATIBILITY_DATE =
  readFileSync(join(WORKER_DIR, "wrangler.toml"), "utf8").match(
    /^\s*compatibility_date\s*=\s*"([^"]+)"/m,
  )?.[1] ?? "2025-01-01";

/** The id of wrangler.toml's `ANALYTICS` namespace, under which `wrangler kv --local` keeps it. */
export const KV_ID =
  readFileSync(join(WORKER_DIR, "wrangler.toml"), "utf8").match(
    /binding\s*=\s*"ANALYTICS"[^[]*?\n\s*id\s*=\s*"([^"]+)"/,
  )?.[1] ?? "ANALYTICS";

/** The cron of wrangler.toml's `[triggers]` (the daily rollup). */
export const ROLLUP_CRON = "15 2 * * *";

/** Secrets and vars the worker reads; tests override them per `start()`. */
export const DEFAULT_BINDINGS = Object.freeze({
  ANALYTICS_PASSWORD: "test-password",
  INGEST_TOKEN: "test-ingest-token",
  IP_HASH_SALT: "test-salt",
  ALLOWED_ORIGINS: "*",
});

/**
 * Cloudflare rate-limiting bindings as wrangler.toml declares them, with limits high enough
 * for bulk tests; a test of the limits passes its own `ratelimits`.
 */
export const DEFAULT_RATELIMITS = Object.freeze({
  SESSION_LIMITER: { namespace_id: "1001", simple: { limit: 100000, period: 60 } },
  IP_LIMITER: { namespace_id: "1002", simple: { limit: 100000, period: 60 } },
  LIMIT_NOTES: { namespace_id: "1003", simple: { limit: 1, period: 60 } },
  AUTH_FAILURES: { namespace_id: "1004", simple: { limit: 10, period: 60 } },
});

/** `Authorization` header value for Basic Auth. */
export function basicAuth(password, user = "admin") {
  return `Basic ${Buffer.from(`${user}:${password}`, "utf8").toString("base64")}`;
}

/**
 * A published report as it was uploaded: `GET /analytics`'s answer without the line the worker
 * adds at the top of the report's body (when it was generated and published, a link to the
 * live numbers). Throws unless the answer holds that line exactly once.
 */
export function withoutPublishedNote(html) {
  const notes = html.match(/<aside class="published-note"[^]*?<\/aside>/g) ?? [];
  if (notes.length !== 1) throw new Error(`expected one published-report note, found ${notes.length}`);
  return html.replace(notes[0], "");
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `probe` (sync or async) until it returns a truthy value, which it returns. After
 * `timeout` ms (30 s) it fails with `what` and `seen()`'s account of what was there instead,
 * so a slow machine only ever waits longer, and a failure names what did arrive.
 */
export async function waitFor(probe, { timeout = 30_000, interval = 25, what = "the condition", seen } = {}) {
  const start = performance.now();
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (performance.now() - start >= timeout) {
      const detail = seen ? `; instead: ${await seen()}` : "";
      throw new Error(`waited ${timeout / 1000} s for ${what}${detail}`);
    }
    await sleep(interval);
  }
}

/**
 * Runs `attempt(n)` so that every request it makes is counted in one window of Miniflare's
 * rate-limiting bindings, and returns `{ result, attempts }` (`attempts`: how many runs it
 * took, 1 or 2).
 *
 * Miniflare's limiter (like Cloudflare's) counts in fixed windows aligned to the clock: a key's
 * count starts again whenever `floor(Date.now() / (period * 1000))` changes (workerd's clock,
 * the same system clock as this process's). A sequence of requests that straddles such a
 * boundary has its count reset half way, and a test of "the Nth request is refused" would fail
 * on the clock, not on the worker. So:
 *
 * - before the attempt, if less than `marginMs` (default a twelfth of the period: 5 s of 60)
 *   is left of the current window, it waits for the next one, and it starts no sooner than
 *   `guardMs` (1 s) into a window: it waits at most `marginMs + guardMs`;
 * - it reads the window before and after the attempt. Every request the attempt made was
 *   counted by the limiter at a moment between the two readings, so equal readings (taken
 *   `guardMs` wide, against any skew between the two processes' readings) prove that one
 *   window held them all, and the attempt's outcome is the verdict;
 * - if they differ (a machine slower than the margin), it runs `attempt(1)` once more instead
 *   of failing, after waiting for a window with twice the first attempt's time left (or for a
 *   fresh window, when that is more than the period). `attempt(1)` must use fresh keys
 *   (session ids, client IPs): the first run's counts and notes may still stand.
 *
 * `attempt` should collect what it saw and leave the assertions to the caller: the result of
 * a run that crossed a boundary is no verdict. Only if the second run crosses a boundary too
 * (it took more than twice as long as the first, or longer than the whole period) does this
 * throw, saying so.
 */
export async function inOneRatelimitWindow(period, attempt, { marginMs, guardMs = 1000 } = {}) {
  const periodMs = period * 1000;
  const windowOf = (ms) => Math.floor(ms / periodMs);
  let margin = Math.min(marginMs ?? periodMs / 12, periodMs - guardMs);
  const crossed = [];
  for (let n = 0; n < 2; n++) {
    const now = Date.now();
    const into = now % periodMs;
    let startAt = now;
    if (periodMs - into < margin) startAt = (windowOf(now) + 1) * periodMs + guardMs;
    else if (into < guardMs) startAt = windowOf(now) * periodMs + guardMs;
    while (Date.now() < startAt) await sleep(startAt - Date.now());

    const first = windowOf(Date.now() - guardMs);
    const t0 = performance.now();
    const result = await attempt(n);
    const took = performance.now() - t0;
    const last = windowOf(Date.now() + guardMs);
    if (first === last) return { result, attempts: n + 1 };
    crossed.push(`run ${n + 1} took ${Math.round(took)} ms and crossed from window ${first} into ${last}`);
    margin = Math.min(Math.max(margin, 2 * took), periodMs - guardMs);
  }
  throw new Error(
    `could not keep a sequence within one ${period}-s rate-limit window: ${crossed.join("; ")}`,
  );
}

/**
 * Starts the worker in workerd.
 *
 * @param {object} [options]
 * @param {Record<string, string|undefined>} [options.bindings] merged over DEFAULT_BINDINGS;
 *   a value of `undefined` removes the binding (e.g. `{ ANALYTICS_PASSWORD: undefined }` to test
 *   "password not set").
 * @param {string} [options.scriptPath] built module to run (default build/index.js).
 * @param {string} [options.host] listen address (default 127.0.0.1).
 * @param {number} [options.port] listen port (default 0: a free port).
 * @param {string} [options.persistTo] keep the KV store in this directory instead of a temp one.
 *   `wrangler kv … --local --persist-to STATE` writes where `persistTo: join(STATE, "v3", "kv")`
 *   with `kvId: KV_ID` reads.
 * @param {string} [options.kvId] the KV namespace's id (default: the binding name; wrangler uses
 *   wrangler.toml's `id`, KV_ID).
 * @param {object} [options.ratelimits] rate-limiting bindings (default DEFAULT_RATELIMITS).
 * @param {object} [options.miniflare] extra Miniflare options, merged last.
 * @param {string} [options.kvScript] to inject faults: an ES module whose default export is a
 *   function returning the object bound as `ANALYTICS` instead of a real KV namespace (a
 *   Miniflare wrapped binding, run in workerd beside the worker). `w.kv` is then null.
 */
export async function start(options = {}) {
  const scriptPath = options.scriptPath ?? SCRIPT_PATH;
  if (!existsSync(scriptPath)) {
    throw new Error(`${scriptPath} does not exist: build the worker first (npm --prefix worker run build)`);
  }
  const bindings = { ...DEFAULT_BINDINGS, ...(options.bindings ?? {}) };
  for (const [name, value] of Object.entries(bindings)) {
    if (value === undefined) delete bindings[name];
  }

  const worker = {
    name: "analytics",
    scriptPath,
    modules: true,
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }],
    compatibilityDate: COMPATIBILITY_DATE,
    ratelimits: options.ratelimits ?? DEFAULT_RATELIMITS,
    bindings,
  };
  const shared = {
    kvPersist: options.persistTo ?? false,
    cf: false,
    host: options.host ?? "127.0.0.1",
    port: options.port ?? 0,
  };
  const mf = new Miniflare(
    options.kvScript === undefined
      ? { ...shared, ...worker, kvNamespaces: { ANALYTICS: options.kvId ?? "ANALYTICS" }, ...(options.miniflare ?? {}) }
      : {
          ...shared,
          ...(options.miniflare ?? {}),
          workers: [
            { ...worker, wrappedBindings: { ANALYTICS: "fake-kv" } },
            { name: "fake-kv", modules: true, script: options.kvScript },
          ],
        },
  );

  let ready;
  try {
    ready = await mf.ready;
  } catch (error) {
    await mf.dispose().catch(() => {});
    throw error;
  }
  const url = ready.href.replace(/\/$/, "");
  const kv = options.kvScript === undefined ? await mf.getKVNamespace("ANALYTICS") : null;
  let stopped = false;

  /**
   * A request to the worker. `path` is relative to `url` (an absolute URL also works).
   * `init.ip` sets the client IP (`CF-Connecting-IP`); otherwise the worker sees 127.0.0.1.
   * Returns an undici Response: consume or cancel its body.
   */
  async function fetch(path, init = {}) {
    const { ip, ...rest } = init;
    const headers = new Headers(rest.headers ?? {});
    if (ip !== undefined) headers.set("CF-Connecting-IP", ip);
    return mf.dispatchFetch(new URL(path, `${url}/`).href, { ...rest, headers });
  }

  /**
   * Runs the worker's scheduled (cron) handler once. `when` is the scheduled time (Date,
   * epoch ms or a date string; default now); `cron` defaults to the rollup's. Throws unless
   * the outcome is "ok" (pass `{ allowFailure: true }` to get the result regardless).
   */
  async function scheduled(when = new Date(), { cron = ROLLUP_CRON, allowFailure = false } = {}) {
    const scheduledTime = when instanceof Date ? when : new Date(when);
    if (Number.isNaN(scheduledTime.getTime())) throw new TypeError(`bad scheduled time: ${when}`);
    const worker = await mf.getWorker();
    const result = await worker.scheduled({ scheduledTime, cron });
    if (!allowFailure && result.outcome !== "ok") {
      throw new Error(`scheduled handler outcome: ${result.outcome} (${JSON.stringify(result)})`);
    }
    return result;
  }

  /** Every key under `prefix`, following cursors: `[{ name, expiration?, metadata? }]`. */
  async function keys(prefix = "") {
    const all = [];
    let cursor;
    do {
      const page = await kv.list({ prefix, cursor });
      all.push(...page.keys);
      cursor = page.list_complete ? undefined : page.cursor;
    } while (cursor);
    return all;
  }

  /** Keys under `prefix` with their values: `[{ name, expiration, metadata, value }]`, sorted. */
  async function snapshot(prefix = "") {
    const out = [];
    for (const key of await keys(prefix)) {
      out.push({
        name: key.name,
        expiration: key.expiration ?? null,
        metadata: key.metadata ?? null,
        value: await kv.get(key.name, "text"),
      });
    }
    return out;
  }

  async function stop() {
    if (stopped) return;
    stopped = true;
    await mf.dispose();
  }

  return {
    mf,
    url,
    kv,
    bindings,
    fetch,
    basic: (password = bindings.ANALYTICS_PASSWORD, user = "admin") => basicAuth(password, user),
    scheduled,
    keys,
    snapshot,
    stop,
  };
}
