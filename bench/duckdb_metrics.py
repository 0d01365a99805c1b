#!/usr/bin/env python3
"""Computes the seven metric categories of docs/metrics.md with DuckDB (bench/metrics.sql) over
an NDJSON export and prints them as JSON shaped like reportgen's summary.json, for
bench/crosscheck.py and the DuckDB side of bench/run.

    duckdb_metrics.py FILE [--now RFC3339] [--days N] [--out PATH] [--threads N]

The window is the same as `reportgen --now T --days N`: T - N days <= timestamp < T.
Run it with the interpreter of bench/.venv (bench/run creates it with the pinned duckdb).
"""

import argparse
import datetime as dt
import json
import os
import re
import sys
import time

import duckdb

HERE = os.path.dirname(os.path.abspath(__file__))
SQL = os.path.join(HERE, "metrics.sql")
MARKER = re.compile(r"^-- name: (\w+)\s*$", re.MULTILINE)


def parse_time(text):
    """An RFC 3339 time as an aware UTC datetime."""
    value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no offset (use Z or +hh:mm)")
    return value.astimezone(dt.timezone.utc)


def format_timestamp(t):
    """As analytics::format_timestamp: UTC with Z, fractional seconds only when present."""
    text = t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    if t.microsecond:
        frac = f"{t.microsecond:06d}"
        text += "." + (frac[:3] if frac.endswith("000") else frac)
    return text + "Z"


def load_sql(path):
    """The setup statements and the named queries of metrics.sql."""
    text = open(path, encoding="utf-8").read()
    parts = MARKER.split(text)
    setup, rest = parts[0], parts[1:]
    queries = {name: body.strip() for name, body in zip(rest[::2], rest[1::2])}
    return setup, queries


def rows(cursor):
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def compute(path, now, days, threads=None):
    setup, queries = load_sql(SQL)
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    frm = now - dt.timedelta(days=days)
    con.execute("SET VARIABLE input = ?", [os.path.abspath(path)])
    con.execute("SET VARIABLE from_ts = CAST(? AS TIMESTAMPTZ)", [format_timestamp(frm)])
    con.execute("SET VARIABLE to_ts = CAST(? AS TIMESTAMPTZ)", [format_timestamp(now)])
    started = time.perf_counter()
    con.execute(setup)
    loaded = time.perf_counter()
    r = {name: rows(con.execute(sql)) for name, sql in queries.items()}
    finished = time.perf_counter()

    volume = dict(r["conversationVolume"][0])
    volume["eventsByType"] = {row["eventType"]: row["count"] for row in r["eventsByType"]}
    performance = dict(r["performance"][0])
    performance["totalTimeHistogram"] = r["totalTimeHistogram"]
    errors = dict(r["errors"][0])
    errors["byType"] = r["errorsByType"]
    errors["recent"] = r["recentErrors"]
    return {
        "window": {
            "from": format_timestamp(frm),
            "to": format_timestamp(now),
            "days": days,
        },
        "conversationVolume": volume,
        "messagesOverTime": r["messagesOverTime"],
        "topicDistribution": r["topicDistribution"],
        "knowledgeGaps": r["knowledgeGaps"],
        "performance": performance,
        "errors": errors,
        "pagesAndSources": {"topPages": r["topPages"], "topSources": r["topSources"]},
        "dataQuality": r["dataQuality"][0],
        "_meta": {
            "duckdb": duckdb.__version__,
            "threads": con.execute("SELECT current_setting('threads')").fetchone()[0],
            "loadSeconds": round(loaded - started, 4),
            "querySeconds": round(finished - loaded, 4),
        },
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("file", help="NDJSON export")
    p.add_argument("--now", type=parse_time, default=parse_time("2026-11-26T00:00:00Z"),
                   help="exclusive window end (default: %(default)s)")
    p.add_argument("--days", type=int, default=366, help="window length (default: %(default)s)")
    p.add_argument("--out", help="write the JSON here instead of stdout")
    p.add_argument("--threads", type=int, help="DuckDB threads (default: DuckDB's, the cores)")
    args = p.parse_args()
    result = compute(args.file, args.now, args.days, args.threads)
    text = json.dumps(result, indent=2, ensure_ascii=False) + "\n"
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
