// GET /analytics end to end in workerd: before any publish, the live page with a section for
// each of the seven categories, the posted values in them and hostile text shown as text;
// opened in headless Debian Chromium (playwright-core) with axe-core; after a publish, the
// report with a line saying when it was generated and published and a link to ?view=live,
// which still serves the live page.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { after, before, describe, test } from "node:test";
import { parse } from "parse5";
import { chromium } from "playwright-core";
import { launchChromium } from "../../scripts/chromium.mjs";
import { DEFAULT_BINDINGS, start, withoutPublishedNote } from "./harness.mjs";

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

const TOKEN = DEFAULT_BINDINGS.INGEST_TOKEN;
const HOSTILE = '<script>alert("live")</script>';

// The seven categories of the seed's dashboard, in order; headings are "<n>. <name>".
const CATEGORIES = [
  "Conversation volume",
  "Messages over time",
  "Topic distribution",
  "Knowledge gaps",
  "Performance",
  "Errors",
  "Pages & sources",
];

/** A session id in the tracker's form, which ingestion keeps as it is. */
const session = (n) => `session-1764100000000-live${String(n).padStart(5, "0")}`;

/**
 * One event of every kind the categories count. Page context and timings go in the body;
 * backend types carry the ingestion token.
 */
const EVENTS = [
  {
    eventType: "widget_loaded",
    sessionId: session(1),
    pageUrl: "https://site.example/pricing",
    referrer: "https://www.news.example/article",
  },
  { eventType: "bubble_opened", sessionId: session(1) },
  { eventType: "bubble_opened", sessionId: session(2) },
  {
    eventType: "message_sent",
    sessionId: session(1),
    question: "How much is shipping?",
    topic: "shipping",
    noRagMatch: false,
    success: true,
    ragTimeMs: 40,
    aiTimeMs: 900,
    totalTimeMs: 960,
    pageUrl: "https://site.example/pricing",
    pageTitle: `Pricing ${HOSTILE}`,
    referrer: "https://www.news.example/article",
    backend: true,
  },
  {
    eventType: "message_sent",
    sessionId: session(2),
    question: `Do you ship to Mars? ${HOSTILE}`,
    topic: `space ${HOSTILE}`,
    noRagMatch: true,
    success: false,
    errorType: "ai_timeout",
    errorMessage: `model timed out ${HOSTILE}`,
    totalTimeMs: 30000,
    pageUrl: "https://site.example/faq",
    pageTitle: "FAQ",
    backend: true,
  },
  { eventType: "rate_limited", sessionId: session(3), backend: true },
];

async function post(w, { backend, ...event }) {
  const headers = { "Content-Type": "application/json" };
  if (backend) headers.Authorization = `Bearer ${TOKEN}`;
  const res = await w.fetch("/analytics-event", { method: "POST", headers, body: JSON.stringify(event) });
  return { status: res.status, body: await res.text() };
}

async function admin(w, path, init = {}) {
  const res = await w.fetch(path, { ...init, headers: { Authorization: w.basic(), ...(init.headers ?? {}) } });
  return { res, text: await res.text() };
}

/** Every element of a parse5 tree, depth first. */
function* elements(node) {
  for (const child of node.childNodes ?? []) {
    if (child.tagName) yield child;
    yield* elements(child);
  }
}

function textOf(node) {
  if (node.nodeName === "#text") return node.value;
  return (node.childNodes ?? []).map(textOf).join("");
}

const attr = (el, name) => el.attrs.find((a) => a.name === name)?.value;

/**
 * The sections of a page labelled by their h2: heading text → { section, text, rows }, where
 * `rows` are the text of each table row's cells.
 */
function sections(html) {
  const doc = parse(html);
  const all = [...elements(doc)];
  const byId = new Map(all.filter((el) => attr(el, "id")).map((el) => [attr(el, "id"), el]));
  const found = new Map();
  for (const section of all.filter((el) => el.tagName === "section")) {
    const heading = byId.get(attr(section, "aria-labelledby"));
    assert.ok(heading, `a section labelled by ${attr(section, "aria-labelledby")}, which exists`);
    assert.equal(heading.tagName, "h2");
    const rows = [...elements(section)]
      .filter((el) => el.tagName === "tr")
      .map((tr) => tr.childNodes.filter((c) => c.tagName).map((c) => textOf(c).trim()));
    found.set(textOf(heading).trim(), { section, text: textOf(section), rows });
  }
  return { doc, found };
}

/** The seven sections, each asserted present under "<n>. <name>", in order. */
function categories(html) {
  const { doc, found } = sections(html);
  const headings = [...found.keys()];
  assert.deepEqual(
    headings.slice(0, 7),
    CATEGORIES.map((name, i) => `${i + 1}. ${name}`),
    `the seven categories in order (h2s: ${JSON.stringify(headings)})`,
  );
  return { doc, section: (n) => found.get(`${n}. ${CATEGORIES[n - 1]}`) };
}

/** Asserts that `rows` holds a row starting with `cells`. */
function hasRow(rows, cells, what) {
  assert.ok(
    rows.some((row) => cells.every((cell, i) => row[i] === cell)),
    `${what}: a row ${JSON.stringify(cells)} among ${JSON.stringify(rows)}`,
  );
}

describe("GET /analytics: the live page, then the published report", () => {
  let w;
  let browser;
  let summary;

  before(async () => {
    w = await start();
    for (const event of EVENTS) {
      const res = await post(w, event);
      assert.equal(res.status, 204, `${event.eventType}: ${res.body}`);
    }
    const data = await admin(w, "/analytics/data");
    assert.equal(data.res.status, 200, data.text);
    summary = JSON.parse(data.text);
    // The summary contract carries the alerts; a handful of events is below every minimum.
    assert.deepEqual(summary.alerts, []);
    browser = await launchChromium(chromium);
  });

  after(async () => {
    await browser?.close();
    await w?.stop();
  });

  test("before a publish: a section for each of the seven categories, with the posted values", async () => {
    const { res, text } = await admin(w, "/analytics");
    assert.equal(res.status, 200, text);
    assert.match(res.headers.get("Content-Type"), /^text\/html/);
    assert.match(text, /<h1>Chatbot analytics — live<\/h1>/);
    const { section } = categories(text);

    const volume = section(1);
    for (const [label, value] of [["Messages", "2"], ["Sessions", "3"], ["Chatting sessions", "2"], ["Bubble opens", "2"]]) {
      assert.match(volume.text, new RegExp(`(^|[^\\d])${value} ${label}`), `${label}: ${volume.text}`);
    }
    for (const [type, n] of [["widget_loaded", "1"], ["bubble_opened", "2"], ["message_sent", "2"], ["rate_limited", "1"]]) {
      hasRow(volume.rows, [type, n], "events by type");
    }

    // The days with activity, as /analytics/data has them (the worker stamps the time).
    const overTime = section(2);
    const active = summary.messagesOverTime.filter((d) => d.messages || d.bubbleOpens);
    assert.ok(active.length >= 1);
    for (const d of active) hasRow(overTime.rows, [d.date, String(d.messages), String(d.bubbleOpens)], "messages over time");
    const bars = [...elements(overTime.section)].find((el) => el.tagName === "svg");
    assert.equal(attr(bars, "role"), "img", "the chart is an image with a text alternative");
    assert.match(textOf(bars), /^Messages per day: 2 in \d+ days/);

    hasRow(section(3).rows, ["shipping", "1", "50.0%"], "topics");
    hasRow(section(3).rows, [`space ${HOSTILE}`, "1", "50.0%"], "topics");

    hasRow(section(4).rows, [`Do you ship to Mars? ${HOSTILE}`], "knowledge gaps");
    assert.equal(section(4).rows.length, 2, "a header and the one gap");

    const performance = section(5);
    // Columns: retrieval, model, total.
    hasRow(performance.rows, ["Average", "40 ms", "900 ms", "15480 ms"], "averages");
    hasRow(performance.rows, ["P50", "40 ms", "900 ms", "960 ms"], "P50");
    hasRow(performance.rows, ["P95", "40 ms", "900 ms", "30000 ms"], "P95");
    hasRow(performance.rows, ["Messages timed", "1", "1", "2"], "samples");

    const errors = section(6);
    assert.match(errors.text, /50\.0% Error rate/);
    assert.match(errors.text, /1 Failed messages/);
    assert.match(errors.text, /1 Rate-limited requests/);
    hasRow(errors.rows, ["ai_timeout", "1"], "errors by type");
    const recent = summary.errors.recent[0];
    hasRow(errors.rows, [recent.timestamp, "ai_timeout", `model timed out ${HOSTILE}`, `space ${HOSTILE}`, "https://site.example/faq"], "recent errors");

    const pages = section(7);
    hasRow(pages.rows, ["https://site.example/pricing", `Pricing ${HOSTILE}`, "1", "1"], "top pages");
    hasRow(pages.rows, ["https://site.example/faq", "FAQ", "1", "1"], "top pages");
    // Sessions by referrer host: session 1 came from news.example, and (for its bubble
    // opening, which had no referrer) directly too.
    hasRow(pages.rows, ["news.example", "1"], "top sources");
    hasRow(pages.rows, ["(direct)", "3"], "top sources");
  });

  test("before a publish: hostile text is shown as text, and the page holds no script", async () => {
    const { text } = await admin(w, "/analytics");
    assert.doesNotMatch(text, /<script/i);
    const { doc, section } = categories(text);
    for (const el of elements(doc)) {
      assert.notEqual(el.tagName, "script");
      for (const { name } of el.attrs) assert.doesNotMatch(name, /^on/i, `<${el.tagName} ${name}>`);
    }
    for (const n of [3, 4, 6, 7]) {
      assert.ok(section(n).text.includes(HOSTILE), `${CATEGORIES[n - 1]} shows the payload as text`);
    }
  });

  test("the live page in Chromium: nothing loaded, no errors, no serious or critical axe violations", async () => {
    for (const viewport of [{ width: 1280, height: 900 }, { width: 390, height: 844 }]) {
      // The worker's CSP forbids scripts, axe included: bypassed for this context only.
      const context = await browser.newContext({ bypassCSP: true, viewport, extraHTTPHeaders: { Authorization: w.basic() } });
      const elsewhere = [];
      await context.route("**/*", (route) => {
        const url = route.request().url();
        if (url.startsWith(`${w.url}/`)) return route.continue();
        elsewhere.push(url);
        return route.abort("blockedbyclient");
      });
      const page = await context.newPage();
      const errors = [];
      page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
      page.on("pageerror", (e) => errors.push(String(e)));
      const requests = [];
      page.on("request", (r) => requests.push(r.url()));
      const response = await page.goto(`${w.url}/analytics`);
      assert.equal(response.status(), 200);
      for (const [i, name] of CATEGORIES.entries()) {
        const heading = page.getByRole("heading", { level: 2, name: `${i + 1}. ${name}`, exact: true });
        assert.ok(await heading.isVisible(), `"${name}" is visible at ${viewport.width} px`);
      }
      assert.ok(await page.getByRole("img", { name: /^Messages per day/ }).isVisible(), "the bars are drawn");
      const { scrollWidth, innerWidth } = await page.evaluate(() => ({
        scrollWidth: document.documentElement.scrollWidth,
        innerWidth: window.innerWidth,
      }));
      assert.ok(scrollWidth <= innerWidth, `no sideways scroll at ${viewport.width} px: ${scrollWidth} > ${innerWidth}`);
      await page.addScriptTag({ content: AXE });
      // eslint-disable-next-line no-undef
      const results = await page.evaluate(() => axe.run(document, { resultTypes: ["violations"] }));
      await context.close();
      const bad = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
      const list = (vs) => vs.map((v) => `[${v.impact}] ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`).join("\n");
      console.log(`# axe-core ${results.testEngine.version} at ${viewport.width} px: ${results.violations.length} violation(s)${results.violations.length ? `\n${list(results.violations)}` : ""}`);
      assert.deepEqual(bad.map((v) => v.id), [], `serious or critical axe violations:\n${list(bad)}`);
      assert.deepEqual(elsewhere, [], "nothing requested from elsewhere");
      assert.deepEqual(requests, [`${w.url}/analytics`], "the page loads nothing");
      assert.deepEqual(errors, []);
    }
  });

  test("after a publish: the report, with when it was generated and published and a link to the live page", async () => {
    const report =
      "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">" +
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">" +
      "<title>Report</title></head>\n<BODY class=\"report\"><h1>Report 42</h1></BODY></html>";
    const put = await admin(w, "/analytics/report", {
      method: "PUT",
      body: report,
      headers: { "X-Report-Generated-At": "2026-11-26T06:00:00Z" },
    });
    assert.equal(put.res.status, 201, put.text);
    const { publishedAt, generatedAt } = JSON.parse(put.text);
    assert.equal(generatedAt, "2026-11-26T06:00:00Z");

    const { res, text } = await admin(w, "/analytics");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("X-Report-Published-At"), publishedAt);
    const note = text.match(/<aside class="published-note"[^]*?<\/aside>/)?.[0];
    assert.ok(note, `a note in ${text}`);
    assert.ok(text.includes(`<BODY class="report">${note}<h1>`), "just after the body tag");
    assert.equal(withoutPublishedNote(text), report, "the report is otherwise as uploaded");
    const said = textOf(parse(note)).replace(/\s+/g, " ");
    assert.ok(said.includes(`generated ${generatedAt} and published ${publishedAt}.`), said);
    assert.match(note, /<a href="\/analytics\?view=live">The live numbers<\/a>/);

    // In Chromium, under the worker's CSP and the report's own: the line shows, the link leads
    // to the live page, and nothing is blocked.
    const context = await browser.newContext({ extraHTTPHeaders: { Authorization: w.basic() } });
    const page = await context.newPage();
    const errors = [];
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    await page.goto(`${w.url}/analytics`);
    assert.ok(await page.getByRole("heading", { name: "Report 42" }).isVisible());
    const line = page.getByRole("complementary", { name: "About this report" });
    assert.match(await line.innerText(), /^This report was generated .* and published .*\. The live numbers are computed/);
    await line.getByRole("link", { name: "The live numbers" }).click();
    await page.waitForURL(`${w.url}/analytics?view=live`);
    assert.ok(await page.getByRole("heading", { level: 1, name: "Chatbot analytics — live" }).isVisible());
    await context.close();
    assert.deepEqual(errors, []);
  });

  test("after a publish: ?view=live is the live page; another view is a 400 naming it", async () => {
    const live = await admin(w, "/analytics?view=live");
    assert.equal(live.res.status, 200, live.text);
    assert.match(live.text, /<h1>Chatbot analytics — live<\/h1>/);
    assert.doesNotMatch(live.text, /Report 42/);
    const { section } = categories(live.text);
    hasRow(section(3).rows, ["shipping", "1", "50.0%"], "topics");
    for (const view of ["report", "", "LIVE"]) {
      const bad = await admin(w, `/analytics?view=${view}`);
      assert.equal(bad.res.status, 400, `view=${view}: ${bad.text}`);
      assert.match(JSON.parse(bad.text).error, /`view`/);
    }
  });
});
