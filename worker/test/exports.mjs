// Reading export bodies in tests: CSV rows, and the session ids of a download's events.
import assert from "node:assert/strict";

/** RFC 4180 rows (quoted cells with `""`, CRLF or LF line ends). */
export function parseCsv(text) {
  const rows = [];
  let row = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(cell);
      cell = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
    } else cell += c;
  }
  if (cell !== "" || row.length) rows.push([...row, cell]);
  return rows;
}

/** The session ids of a download's events, in order. */
export function sessionIds(format, body) {
  if (format === "json") return JSON.parse(body).events.map((e) => e.sessionId);
  if (format === "ndjson") return body.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l).sessionId);
  const [header, ...rows] = parseCsv(body);
  const at = header.indexOf("sessionId");
  assert.ok(at >= 0, `CSV header ${header}`);
  for (const r of rows) assert.equal(r.length, header.length, `a CSV row of ${r.length} cells`);
  return rows.map((r) => r[at]);
}
