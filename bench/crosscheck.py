#!/usr/bin/env python3
"""Compares reportgen's summary.json with DuckDB's numbers (bench/duckdb_metrics.py), category
by category, prints every mismatch and exits 1 on any.

    crosscheck.py SUMMARY_JSON DUCKDB_JSON [--quiet]

What is compared is what DuckDB computed (the seven categories of docs/metrics.md plus the
window, the latency histogram and dataQuality's counts); reportgen's other fields (funnel,
insights, previousPeriod, skippedByReason) have no SQL counterpart here. Rules:

* counts, strings, dates and nulls: exact;
* floats (shares, rates, means, messagesPerSession, percentiles): relative 1e-9 (means are
  sums in a different order);
* lists: in order. Every ordering the definitions give ends in a unique key (topic,
  normalised question, error type, pageUrl, source, date), so the order is fully determined,
  except for `errors.recent`, whose ties (equal timestamps) the definition breaks by input
  order: metrics.sql mirrors that with the input row number, so it is compared in order too,
  but a mismatch that is only a reordering among equal timestamps is named as such.

Also required: reportgen skipped no record that DuckDB accepted (skipped counts equal), since
metrics.sql does not mirror field validation.
"""

import argparse
import json
import math
import sys
from collections import Counter

REL_TOL = 1e-9
ABS_TOL = 1e-12


class Checker:
    def __init__(self):
        self.mismatches = []
        self.compared = 0

    def fail(self, path, message):
        self.mismatches.append(f"{path}: {message}")

    def value(self, path, ours, theirs):
        """Compares reportgen's value `ours` with DuckDB's `theirs` (recursively)."""
        if isinstance(theirs, dict):
            if not isinstance(ours, dict):
                return self.fail(path, f"reportgen has {short(ours)}, DuckDB an object")
            for key, sub in theirs.items():
                if key not in ours:
                    self.fail(f"{path}.{key}", f"missing in reportgen (DuckDB: {short(sub)})")
                else:
                    self.value(f"{path}.{key}", ours[key], sub)
            return None
        if isinstance(theirs, list):
            if not isinstance(ours, list):
                return self.fail(path, f"reportgen has {short(ours)}, DuckDB a list")
            if len(ours) != len(theirs):
                self.fail(path, f"reportgen has {len(ours)} rows, DuckDB {len(theirs)}")
            for i, (a, b) in enumerate(zip(ours, theirs)):
                self.value(f"{path}[{i}]", a, b)
            return None
        self.compared += 1
        if isinstance(theirs, bool) or isinstance(ours, bool) or theirs is None or ours is None:
            if ours is not theirs and ours != theirs:
                self.fail(path, f"reportgen {short(ours)} != DuckDB {short(theirs)}")
            return None
        if isinstance(theirs, (int, float)) and isinstance(ours, (int, float)):
            if isinstance(theirs, int) and isinstance(ours, int):
                if ours != theirs:
                    self.fail(path, f"reportgen {ours} != DuckDB {theirs} (diff {ours - theirs:+})")
            elif not math.isclose(ours, theirs, rel_tol=REL_TOL, abs_tol=ABS_TOL):
                self.fail(path, f"reportgen {ours!r} != DuckDB {theirs!r} "
                                f"(relative diff {rel_diff(ours, theirs):.3g})")
            return None
        if ours != theirs:
            self.fail(path, f"reportgen {short(ours)} != DuckDB {short(theirs)}")
        return None


def rel_diff(a, b):
    scale = max(abs(a), abs(b))
    return abs(a - b) / scale if scale else 0.0


def short(v, limit=160):
    text = json.dumps(v, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def check(summary, duck):
    c = Checker()
    duck = {k: v for k, v in duck.items() if not k.startswith("_")}

    # errors.recent: say so when the difference is only the order among equal timestamps.
    ours_recent = summary.get("errors", {}).get("recent")
    theirs_recent = duck.get("errors", {}).get("recent")
    for category, theirs in duck.items():
        if category not in summary:
            c.fail(category, "missing in reportgen's summary.json")
            continue
        c.value(category, summary[category], theirs)

    if isinstance(ours_recent, list) and isinstance(theirs_recent, list) \
            and ours_recent != theirs_recent:
        stamps = lambda rs: [r.get("timestamp") for r in rs]  # noqa: E731
        rows = lambda rs: Counter(json.dumps(r, sort_keys=True) for r in rs)  # noqa: E731
        if stamps(ours_recent) == stamps(theirs_recent) \
                and rows(ours_recent) == rows(theirs_recent):
            c.fail("errors.recent", "the same errors, ordered differently among equal "
                                    "timestamps (the definition says: in input order)")
    return c


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("summary", help="reportgen's summary.json")
    p.add_argument("duckdb", help="bench/duckdb_metrics.py output")
    p.add_argument("--quiet", action="store_true", help="print mismatches only")
    args = p.parse_args()
    with open(args.summary, encoding="utf-8") as f:
        summary = json.load(f)
    with open(args.duckdb, encoding="utf-8") as f:
        duck = json.load(f)
    c = check(summary, duck)
    for line in c.mismatches:
        print(f"MISMATCH {line}")
    if c.mismatches:
        print(f"crosscheck: FAIL: {len(c.mismatches)} mismatch(es) in {c.compared} values")
        return 1
    if not args.quiet:
        dq = summary.get("dataQuality", {})
        print(f"crosscheck: OK: {c.compared} values agree "
              f"({dq.get('eventsInWindow')} events in the window)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
