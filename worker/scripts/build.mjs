#!/usr/bin/env node
// Builds the worker (Rust → wasm + JS shim) into worker/build/ with `worker-build`, using only
// tools that come from the package registries (crates.io and npm; the README's "Set-up" and
// scripts/test install them):
//
//   wasm-bindgen  from crates.io (`cargo install wasm-bindgen-cli --version 0.2.130`), on PATH
//   wasm-opt      from npm (`binaryen`, a devDependency): node_modules/.bin/wasm-opt
//   esbuild       from npm (wrangler's dependency): node_modules/@esbuild/linux-x64/bin/esbuild
//
// worker-build would otherwise download wasm-bindgen, wasm-opt and esbuild from GitHub; the
// *_BIN variables below stop that (it falls back to downloading when a variable names a missing
// file, so every path is checked first).
//
//   node scripts/build.mjs             release build, optimised with wasm-opt
//   node scripts/build.mjs --no-opt    release build without wasm-opt (faster, for dev)
//   node scripts/build.mjs --force     run worker-build even when build/ is up to date
//
// Any other argument is passed through to worker-build, and so are the words of the
// WORKER_BUILD_ARGS environment variable (how `scripts/dev.mjs` asks wrangler's `[build]` step
// for `--no-opt`: wrangler runs `node scripts/build.mjs` without arguments). Afterwards the size of
// build/index_bg.wasm is printed, raw and gzip-compressed; an optimised build fails when the
// gzip size exceeds the budget (608 KiB: 512 until the PII scrubber normalised text with ICU4X
// NFKC data, 576 until /analytics/data's summary carried the alerts; Cloudflare allows 3 MiB on
// the free plan, and the budget keeps startup small and grows only with a reason).

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  accessSync,
  constants,
  existsSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync, constants as zc } from "node:zlib";

const WORKER_BUILD_VERSION = "0.8.7";
const WASM_BINDGEN_VERSION = "0.2.130";
const GZIP_BUDGET = 608 * 1024;

const workerDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const args = [
  ...(process.env.WORKER_BUILD_ARGS ?? "").split(/\s+/).filter(Boolean),
  ...process.argv.slice(2),
];

function fail(message) {
  console.error(`build: error: ${message}`);
  process.exit(1);
}

/** The first executable called `name` on PATH (then in ~/.cargo/bin), or null. */
function which(name) {
  const dirs = (process.env.PATH ?? "").split(delimiter).filter(Boolean);
  const cargoHome = process.env.CARGO_HOME ?? join(process.env.HOME ?? "", ".cargo");
  dirs.push(join(cargoHome, "bin"));
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** Checks that `bin --version` mentions `version`; returns the resolved path. */
function requireTool(name, version, install) {
  const path = which(name);
  if (!path) {
    fail(`\`${name}\` not found on PATH. Install it with:\n  ${install}`);
  }
  const out = spawnSync(path, ["--version"], { encoding: "utf8" });
  const printed = `${out.stdout ?? ""}${out.stderr ?? ""}`.trim();
  const found = printed.match(/\d+\.\d+\.\d+\S*/)?.[0];
  if (out.status !== 0 || found !== version) {
    fail(
      `\`${path} --version\` printed ${JSON.stringify(printed)}; version ${version} is required.\n` +
        `Install it with:\n  ${install}`,
    );
  }
  return path;
}

function requireFile(path, hint) {
  if (!existsSync(path)) fail(`${path} is missing. ${hint}`);
  return path;
}

/** Where cargo puts this crate's wasm for the release profile (asks `cargo metadata`). */
function cargoWasmPath() {
  const out = spawnSync("cargo", ["metadata", "--format-version", "1", "--no-deps"], {
    cwd: workerDir,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (out.status !== 0) return null;
  const meta = JSON.parse(out.stdout);
  const manifest = join(workerDir, "Cargo.toml");
  const pkg = meta.packages.find((p) => resolve(p.manifest_path) === manifest);
  const lib = pkg?.targets.find((t) => t.kind.includes("cdylib"));
  if (!lib) return null;
  const name = `${lib.name.replaceAll("-", "_")}.wasm`;
  return join(meta.target_directory, "wasm32-unknown-unknown", "release", name);
}

/** Version of an installed npm package under node_modules, or null. */
function packageVersion(name) {
  try {
    return JSON.parse(readFileSync(join(workerDir, "node_modules", name, "package.json"), "utf8")).version;
  } catch {
    return null;
  }
}

const workerBuild = requireTool(
  "worker-build",
  WORKER_BUILD_VERSION,
  `cargo install worker-build --version ${WORKER_BUILD_VERSION} --locked`,
);
const wasmBindgen = requireTool(
  "wasm-bindgen",
  WASM_BINDGEN_VERSION,
  `cargo install wasm-bindgen-cli --version ${WASM_BINDGEN_VERSION}   (without --locked)`,
);
const npmHint = "Run `npm ci` in worker/ first.";
const noOpt = args.includes("--no-opt");
const wasmOpt = join(workerDir, "node_modules", ".bin", "wasm-opt");
if (!noOpt) requireFile(wasmOpt, npmHint);
const esbuild = requireFile(
  join(workerDir, "node_modules", "@esbuild", "linux-x64", "bin", "esbuild"),
  npmHint,
);

const profileFlags = ["--release", "--dev", "--profiling", "--profile"];
const buildArgs = args.some((a) => profileFlags.includes(a)) ? args : ["--release", ...args];

const env = {
  ...process.env,
  WASM_BINDGEN_BIN: wasmBindgen,
  WASM_OPT_BIN: wasmOpt,
  ESBUILD_BIN: esbuild,
  CI: "1",
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
};
// node_modules/.bin/wasm-opt is a Node script: make sure `node` and the local bins resolve.
env.PATH = [join(workerDir, "node_modules", ".bin"), dirname(process.execPath), env.PATH]
  .filter(Boolean)
  .join(delimiter);

const outDir = join(workerDir, "build");
const stampPath = join(outDir, ".build-stamp.json");
const started = Date.now();

// Up-to-date check. worker-build always reruns wasm-bindgen and wasm-opt (~25 s for our wasm)
// even when cargo has nothing to do. For the plain release build, run cargo first exactly as
// worker-build does (same command and WASM_BINDGEN_USE_JS_SYS=1, so cargo's fingerprints are
// shared and nothing is compiled twice), hash the wasm it produced, and skip worker-build when
// build/ was made from that same wasm with the same options and tools. `--force` disables it.
const force = buildArgs.includes("--force");
const wbArgs = buildArgs.filter((a) => a !== "--force");
const stampable = !force && wbArgs.every((a) => a === "--release" || a === "--no-opt");
/** What build/ is made from: the compiled wasm's hash, the options and the tools. */
function currentStamp() {
  const cargoWasm = cargoWasmPath();
  if (!cargoWasm || !existsSync(cargoWasm)) return null;
  return JSON.stringify({
    wasmSha256: createHash("sha256").update(readFileSync(cargoWasm)).digest("hex"),
    args: wbArgs,
    workerBuild: WORKER_BUILD_VERSION,
    wasmBindgen: WASM_BINDGEN_VERSION,
    binaryen: noOpt ? null : packageVersion("binaryen"),
    esbuild: packageVersion("@esbuild/linux-x64"),
  });
}
let stamp = null;
if (stampable) {
  const cargo = spawnSync("cargo", ["build", "--lib", "--release", "--target", "wasm32-unknown-unknown"], {
    cwd: workerDir,
    env: { ...env, WASM_BINDGEN_USE_JS_SYS: "1" },
    stdio: "inherit",
  });
  if (cargo.error) fail(`could not run cargo: ${cargo.error.message}`);
  if (cargo.status !== 0) fail(`cargo build failed (exit status ${cargo.status ?? cargo.signal})`);
  stamp = currentStamp();
}
const upToDate =
  stamp !== null &&
  existsSync(join(outDir, "index.js")) &&
  existsSync(join(outDir, "index_bg.wasm")) &&
  existsSync(stampPath) &&
  readFileSync(stampPath, "utf8") === stamp;

if (upToDate) {
  console.log("build: build/ is up to date with the compiled wasm (worker-build skipped; --force rebuilds)");
} else {
  console.log(`build: ${workerBuild} ${wbArgs.join(" ")}   (in ${workerDir})`);
  rmSync(stampPath, { force: true });
  const result = spawnSync(workerBuild, wbArgs, { cwd: workerDir, env, stdio: "inherit" });
  if (result.error) fail(`could not run worker-build: ${result.error.message}`);
  if (result.status !== 0) fail(`worker-build failed (exit status ${result.status ?? result.signal})`);
  // Hash again: the wasm worker-build just packaged (the sources may have changed meanwhile).
  const made = stampable ? currentStamp() : null;
  if (made !== null) writeFileSync(stampPath, made);
}
const seconds = ((Date.now() - started) / 1000).toFixed(1);

const wasmPath = join(workerDir, "build", "index_bg.wasm");
requireFile(join(workerDir, "build", "index.js"), "worker-build did not write it.");
requireFile(wasmPath, "worker-build did not write it.");
const wasm = readFileSync(wasmPath);
const gzipped = gzipSync(wasm, { level: zc.Z_BEST_COMPRESSION }).length;
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
console.log(
  `build: done in ${seconds} s${noOpt ? " (--no-opt)" : ""}\n` +
    `build: build/index_bg.wasm ${wasm.length} bytes (${kib(wasm.length)}), ` +
    `gzip ${gzipped} bytes (${kib(gzipped)}); budget ${kib(GZIP_BUDGET)} gzip`,
);
if (gzipped > GZIP_BUDGET) {
  const message = `gzip size ${kib(gzipped)} exceeds the ${kib(GZIP_BUDGET)} budget`;
  if (noOpt) console.warn(`build: warning: ${message} (unoptimised build)`);
  else fail(message);
}
