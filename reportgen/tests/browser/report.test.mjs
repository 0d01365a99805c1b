// Browser test of the static report: the demo report opened from file:// in headless Debian
// Chromium (driven by playwright-core; no browser is downloaded), with every request that is
// not file: or data: aborted and recorded. Checks that the page is self-contained and quiet
// (no requests, no console or page errors), that all seven categories and every chart render
// with a real box, the heading outline, chart <title>/<desc>, axe-core (no serious or critical
// violations), that it works with JavaScript disabled, and takes screenshots at 1280 and 390 px,
// light and dark, into target/browser-screenshots/ (artifacts, not committed).
//
//   node --test report.test.mjs        (from reportgen/tests/browser, after npm ci)
//
// Environment:
//   CHROMIUM_PATH   browser to drive (default /usr/bin/chromium, Debian's package `chromium`)
//   REPORTGEN_BIN   reportgen binary to run (default: target/debug/reportgen when present, else
//                   `cargo run --release -p reportgen`)

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

import { chromium } from "playwright-core";

import { CHROMIUM, launchChromium } from "../../../scripts/chromium.mjs";

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, "../../..");
const targetDir = process.env.CARGO_TARGET_DIR
  ? resolve(repoRoot, process.env.CARGO_TARGET_DIR)
  : join(repoRoot, "target");
const screenshotDir = join(repoRoot, "target", "browser-screenshots");

const NOW = "2026-11-26T06:00:00Z";
const DATE = "2026-11-26";

// The seven categories of the report, in order; headings are "<n>. <name>".
const CATEGORIES = [
  "Conversation volume",
  "Messages over time",
  "Topic distribution",
  "Knowledge gaps",
  "Performance",
  "Errors",
  "Pages & sources",
];
// Sections that carry a chart in the demo report.
const CHART_SECTIONS = ["over-time", "topics", "performance", "errors"];
/** The insight sub-sections (h3) beyond the seven categories. */
const INSIGHTS = ["Widget funnel", "When people chat", "Suggested questions clicked", "Gap clusters", "Daily P95"];

const VIEWPORTS = [
  { name: "1280", viewport: { width: 1280, height: 900 } },
  { name: "390", viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true },
];

let outDir;
let reportUrl;
let archiveUrl;
let browser;

function reportgenCommand() {
  const args = ["--demo", "--out", outDir, "--now", NOW, "-q"];
  if (process.env.REPORTGEN_BIN) return [process.env.REPORTGEN_BIN, args];
  const debug = join(targetDir, "debug", "reportgen");
  if (existsSync(debug)) return [debug, args];
  return ["cargo", ["run", "-q", "--release", "--locked", "-p", "reportgen", "--", ...args]];
}

before(async () => {
  outDir = mkdtempSync(join(tmpdir(), "reportgen-browser-"));
  const [cmd, args] = reportgenCommand();
  const started = Date.now();
  // stdout (the path of the report) is not needed; stderr shows build or run errors.
  execFileSync(cmd, args, { cwd: repoRoot, stdio: ["ignore", "pipe", "inherit"] });
  const binNote =
    cmd === "cargo"
      ? "cargo run --release"
      : existsSync(cmd)
        ? `${cmd} (built ${statSync(cmd).mtime.toISOString()})`
        : cmd;
  console.log(`# demo report by ${binNote} in ${Date.now() - started} ms`);
  const report = join(outDir, DATE, "index.html");
  const archive = join(outDir, "index.html");
  assert.ok(existsSync(report), `reportgen wrote no ${report}`);
  assert.ok(existsSync(archive), `reportgen wrote no ${archive}`);
  reportUrl = pathToFileURL(report).href;
  archiveUrl = pathToFileURL(archive).href;

  rmSync(screenshotDir, { recursive: true, force: true });
  mkdirSync(screenshotDir, { recursive: true });

  browser = await launchChromium(chromium);
  console.log(`# ${CHROMIUM} ${browser.version()}`);
});

after(async () => {
  await browser?.close();
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

/**
 * A new context whose every request is checked: file: and data: URLs go through, anything else
 * is aborted and recorded in `blocked`. Console errors and uncaught page errors are recorded
 * too. Call `done()` at the end of a test: it closes the context and asserts that nothing but
 * file: and data: was requested and that there were no console or page errors.
 */
async function openContext(options = {}) {
  const context = await browser.newContext({ deviceScaleFactor: 1, ...options });
  const blocked = [];
  const requests = [];
  const consoleErrors = [];
  const pageErrors = [];
  const local = (url) => url.startsWith("file:") || url.startsWith("data:");
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (local(url)) return route.continue();
    blocked.push(`${route.request().method()} ${url}`);
    return route.abort("blockedbyclient");
  });
  // Belt and braces: every request the page issued, whether or not the router saw it.
  context.on("request", (req) => requests.push(req.url()));
  // WebSockets are not routed by context.route(): refuse them as well.
  await context.routeWebSocket(/.*/, (ws) => {
    blocked.push(`WebSocket ${ws.url()}`);
    ws.close();
  });
  context.on("page", (page) => {
    page.on("console", (msg) => {
      if (msg.type() === "error") consoleErrors.push(`${msg.text()} (${msg.location().url || "?"})`);
    });
    page.on("pageerror", (err) => pageErrors.push(String(err)));
  });
  const page = await context.newPage();
  const done = async () => {
    await context.close();
    assert.deepEqual(blocked, [], `requests other than file: and data: were attempted:\n${blocked.join("\n")}`);
    const remote = requests.filter((u) => !local(u));
    assert.deepEqual(remote, [], `requests other than file: and data: were issued (and blocked by the page's CSP or the router):\n${remote.join("\n")}`);
    assert.deepEqual(consoleErrors, [], `console errors:\n${consoleErrors.join("\n")}`);
    assert.deepEqual(pageErrors, [], `page errors:\n${pageErrors.join("\n")}`);
  };
  return { context, page, done };
}

async function load(page, url) {
  const response = await page.goto(url, { waitUntil: "load" });
  // file: navigations may have no response object; when there is one it must be OK.
  if (response) assert.ok(response.ok(), `${url}: status ${response.status()}`);
}

/** Each category heading is present, visible, in order and numbered 1..7. */
async function assertCategories(page) {
  const headings = (await page.locator("h2").allTextContents()).map((t) => t.trim());
  const found = [];
  for (const name of CATEGORIES) {
    const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const heading = page.getByRole("heading", { level: 2, name: new RegExp(`^\\d+\\.\\s+${escaped}$`) });
    assert.equal(await heading.count(), 1, `one visible h2 "<n>. ${name}" (h2s in the DOM: ${JSON.stringify(headings)})`);
    assert.ok(await heading.isVisible(), `heading "${name}" is visible`);
    const text = (await heading.textContent()).trim();
    found.push(text);
    // The section the heading labels is visible and has content beyond its heading.
    const section = page.locator("section", { has: heading });
    assert.equal(await section.count(), 1, `"${name}" heads one section`);
    const box = await section.boundingBox();
    assert.ok(box && box.width > 0 && box.height > 0, `section "${name}" has a box: ${JSON.stringify(box)}`);
  }
  assert.deepEqual(
    found,
    CATEGORIES.map((name, i) => `${i + 1}. ${name}`),
    "categories are numbered 1 to 7 in this order",
  );
}

/** Every svg.chart renders with a non-zero box; the chart sections have one each. */
// Each chart is drawn wide and narrow, and CSS shows the one for the viewport: checks that the
// other is hidden and returns the shown ones.
async function shownCharts(page) {
  const narrow = (await page.evaluate(() => window.innerWidth)) <= 600;
  const hidden = page.locator(`svg.chart.${narrow ? "wide" : "narrow"}`);
  for (let i = 0; i < (await hidden.count()); i++) {
    assert.ok(!(await hidden.nth(i).isVisible()), `the ${narrow ? "wide" : "narrow"} drawing ${i + 1} is hidden`);
  }
  const charts = page.locator(`svg.chart.${narrow ? "narrow" : "wide"}`);
  assert.equal(await charts.count(), await hidden.count(), "every chart has both drawings");
  return charts;
}

async function assertCharts(page) {
  const charts = await shownCharts(page);
  const n = await charts.count();
  assert.ok(n >= CHART_SECTIONS.length, `at least ${CHART_SECTIONS.length} charts, found ${n}`);
  for (let i = 0; i < n; i++) {
    const box = await charts.nth(i).boundingBox();
    assert.ok(box && box.width > 0 && box.height > 0, `chart ${i + 1} of ${n} has a non-zero box: ${JSON.stringify(box)}`);
  }
  for (const id of CHART_SECTIONS) {
    assert.ok((await page.locator(`section#${id} svg.chart`).count()) >= 1, `section #${id} has a chart`);
  }
  return n;
}

function formatViolations(violations) {
  return violations
    .map((v) => {
      const nodes = v.nodes
        .slice(0, 8)
        .map((n) => `      ${n.target.join(" ")}\n        ${(n.failureSummary || "").replace(/\n/g, "\n        ")}`)
        .join("\n");
      const more = v.nodes.length > 8 ? `\n      … and ${v.nodes.length - 8} more` : "";
      return `  [${v.impact}] ${v.id}: ${v.help} (${v.nodes.length} node(s))\n    ${v.helpUrl}\n${nodes}${more}`;
    })
    .join("\n");
}

const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

/** Runs axe-core on a loaded page (its context must bypass the page's CSP). */
async function runAxe(page) {
  await page.addScriptTag({ content: axeSource });
  return page.evaluate(() =>
    // eslint-disable-next-line no-undef
    axe.run(document, { resultTypes: ["violations"] }),
  );
}

test("report: self-contained, quiet, all seven categories and every chart render", async () => {
  const { page, done } = await openContext({ viewport: { width: 1280, height: 900 } });
  await load(page, reportUrl);
  await assertCategories(page);
  const n = await assertCharts(page);
  console.log(`# ${n} charts rendered`);
  for (const name of INSIGHTS) {
    const heading = page.getByRole("heading", { level: 3, name });
    assert.equal(await heading.count(), 1, `one h3 "${name}"`);
    assert.ok(await heading.isVisible(), `"${name}" is visible`);
  }
  // The comparison with the previous period is shown, and said for screen readers.
  assert.ok((await page.locator(".kpi .delta").count()) >= 5, "KPI tiles carry deltas");
  assert.match(await page.locator(".kpi .sr-only").first().textContent(), /^(up|down|unchanged) .*previous 30 days$/);
  await done();
});

test("report: one h1, no skipped heading levels, charts have <title> and <desc>", async () => {
  const { page, done } = await openContext();
  await load(page, reportUrl);
  const levels = await page.locator("h1, h2, h3, h4, h5, h6").evaluateAll((hs) =>
    hs.map((h) => ({ level: Number(h.tagName[1]), text: h.textContent.trim() })),
  );
  assert.equal(levels.filter((h) => h.level === 1).length, 1, "exactly one h1");
  assert.equal(levels[0].level, 1, `the first heading is the h1, not ${JSON.stringify(levels[0])}`);
  for (let i = 1; i < levels.length; i++) {
    assert.ok(
      levels[i].level <= levels[i - 1].level + 1,
      `heading "${levels[i].text}" (h${levels[i].level}) follows "${levels[i - 1].text}" (h${levels[i - 1].level}): a level is skipped`,
    );
  }
  const charts = await page.locator("svg.chart").evaluateAll((svgs) =>
    svgs.map((svg) => {
      const child = (tag) => [...svg.children].find((c) => c.localName === tag);
      return {
        title: child("title")?.textContent.trim() ?? "",
        desc: child("desc")?.textContent.trim() ?? "",
        role: svg.getAttribute("role"),
      };
    }),
  );
  assert.ok(charts.length > 0, "there are charts");
  charts.forEach((c, i) => {
    assert.ok(c.title, `chart ${i + 1} has a non-empty <title>`);
    assert.ok(c.desc, `chart ${i + 1} (${c.title}) has a non-empty <desc>`);
    assert.equal(c.role, "img", `chart ${i + 1} (${c.title}) has role="img"`);
  });
  await done();
});

test("report: axe-core finds no serious or critical accessibility violations (light and dark)", async () => {
  const failures = [];
  for (const colorScheme of ["light", "dark"]) {
    // The report's CSP (default-src 'none') forbids scripts, axe included: bypass it for this
    // context only. Requests are still routed and checked.
    const { page, done } = await openContext({
      bypassCSP: true,
      colorScheme,
      viewport: { width: 1280, height: 900 },
    });
    await load(page, reportUrl);
    const results = await runAxe(page);
    await done();
    const bad = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
    const minor = results.violations.filter((v) => !bad.includes(v));
    console.log(
      `# axe-core ${results.testEngine.version}, ${colorScheme}: ${results.violations.length} violation(s), ` +
        `${bad.length} serious or critical`,
    );
    if (minor.length) console.log(`# minor/moderate (${colorScheme}), not failing:\n${formatViolations(minor)}`);
    if (bad.length) failures.push(`${colorScheme} colour scheme:\n${formatViolations(bad)}`);
  }
  if (failures.length) {
    console.error(`axe-core serious/critical violations:\n${failures.join("\n")}`);
  }
  assert.equal(failures.length, 0, `axe-core serious/critical violations:\n${failures.join("\n")}`);
});

test("report: complete with JavaScript disabled", async () => {
  const { page, done } = await openContext({ javaScriptEnabled: false, viewport: { width: 1280, height: 900 } });
  await load(page, reportUrl);
  await assertCategories(page);
  await assertCharts(page);
  await done();
});

test("report: screenshots at 1280 and 390 px, light and dark", async () => {
  for (const { name, ...options } of VIEWPORTS) {
    for (const colorScheme of ["light", "dark"]) {
      const { page, done } = await openContext({ ...options, colorScheme });
      await load(page, reportUrl);
      await assertCategories(page);
      await assertCharts(page);
      const file = join(screenshotDir, `report-${name}-${colorScheme}.png`);
      await page.screenshot({ path: file, fullPage: true });
      const { scrollWidth, innerWidth } = await page.evaluate(() => ({
        scrollWidth: document.documentElement.scrollWidth,
        innerWidth: window.innerWidth,
      }));
      console.log(`# ${file.slice(repoRoot.length + 1)}: page ${scrollWidth} px wide in a ${innerWidth} px viewport`);
      // Wide tables scroll inside their own box; the page itself never scrolls sideways.
      assert.equal(innerWidth, options.viewport.width, "the page fits its viewport (a phone does not zoom out)");
      assert.ok(scrollWidth <= innerWidth, `no sideways scroll: ${scrollWidth} > ${innerWidth}`);
      await done();
    }
  }
});

test("archive page: no requests, no console errors, charts render, no serious axe violations", async () => {
  for (const { name, ...options } of VIEWPORTS) {
    const { page, done } = await openContext(options);
    await load(page, archiveUrl);
    assert.equal(await page.locator("h1").count(), 1, "archive has one h1");
    const charts = await shownCharts(page);
    const n = await charts.count();
    assert.ok(n >= 3, `the archive has its trend charts: ${n}`);
    for (let i = 0; i < n; i++) {
      const box = await charts.nth(i).boundingBox();
      assert.ok(box && box.width > 0 && box.height > 0, `archive chart ${i + 1} of ${n} has a box`);
    }
    await page.screenshot({ path: join(screenshotDir, `archive-${name}-light.png`), fullPage: true });
    await done();
  }
  const { page, done } = await openContext({ bypassCSP: true, viewport: { width: 1280, height: 900 } });
  await load(page, archiveUrl);
  const results = await runAxe(page);
  await done();
  const bad = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  console.log(`# archive: axe-core ${results.violations.length} violation(s), ${bad.length} serious or critical`);
  assert.equal(bad.length, 0, `axe-core serious/critical violations on the archive page:\n${formatViolations(bad)}`);
});
