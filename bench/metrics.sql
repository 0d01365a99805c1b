-- The seven metric categories of docs/metrics.md, in DuckDB SQL, over an NDJSON export.
--
-- An independent second implementation: bench/duckdb_metrics.py runs it, bench/crosscheck.py
-- compares its numbers with reportgen's summary.json, and bench/run times it against
-- reportgen. It follows the written definitions (docs/metrics.md), not the Rust code.
--
-- Variables (set by duckdb_metrics.py with SET VARIABLE before this file runs):
--   input    path of the NDJSON file
--   from_ts  inclusive window start (TIMESTAMPTZ)
--   to_ts    exclusive window end (TIMESTAMPTZ)
--
-- The file is a setup part, then one query per `-- name: <key>` marker; duckdb_metrics.py runs
-- the setup statements in order and turns each named query's rows into JSON.
--
-- What SQL does not mirror (none of it occurs in `reportgen generate` data; the cross-check
-- also verifies that reportgen skipped nothing, so a difference would show):
--   * Record validation. DuckDB reads each field with its schema type (see `raw`); a record
--     whose field has the wrong type either stops the read with an error or is cast ("12" into
--     DOUBLE), where reportgen skips it as `invalid_field`. Only the required fields are
--     checked here: a missing/unparseable `timestamp` or an empty `eventType` counts as skipped.
--     DuckDB's timestamp cast is also laxer than RFC 3339 (it takes `2026-11-01`).
--   * Timestamps are microseconds in DuckDB, nanoseconds in Rust.
--   * Lowercasing: DuckDB's lower() maps one character to one (Σ → σ always); Rust's
--     to_lowercase applies the full Unicode mapping (final sigma ς, İ → i̇).
--   * Referrer hosts: a regular expression, not the WHATWG URL parser of the `url` crate, so
--     no IDNA (bücher.de stays as is, Rust gives xn--bcher-kva.de), no percent-decoding or
--     IPv4/IPv6 normalisation of hosts, no `https:example.com` (without slashes) and no
--     stripping of tabs/newlines inside the URL.

-- ---------------------------------------------------------------------------------------------
-- Setup
-- ---------------------------------------------------------------------------------------------

SET TimeZone = 'UTC';

-- Unicode White_Space, as Rust's char::is_whitespace / str::trim / split_whitespace see it
-- (RE2's \s is ASCII only and lacks \v).
CREATE OR REPLACE TEMP MACRO ws_class() AS '[\t\n\x0B\f\r\x{85}\p{Z}]';

CREATE OR REPLACE TEMP MACRO ws_trim(s) AS
    regexp_replace(s, '^' || ws_class() || '+|' || ws_class() || '+$', '', 'g');

-- normalize_question: lowercase; every run of whitespace → one space; trim; then strip
-- trailing `?`, `!`, `.` and whitespace (after the collapse, whitespace is only ' ').
CREATE OR REPLACE TEMP MACRO normalize_question(q) AS
    regexp_replace(
        trim(regexp_replace(lower(q), ws_class() || '+', ' ', 'g')),
        '[?!. ]+$', '');

-- referrer_source: the URL's host, lowercased, a leading `www.` removed; absent, empty or
-- unparseable (no scheme, or a host the URL standard forbids) → "(direct)". The host is what
-- follows `scheme://` and optional `userinfo@`, up to the port, path, query or fragment.
CREATE OR REPLACE TEMP MACRO referrer_host(r) AS
    regexp_extract(
        lower(ws_trim(r)),
        '^[a-z][a-z0-9+.-]*://(?:[^/?#\\]*@)?(\[[^\]/?#\\]*\]|[^/?#:\\]*)',
        1);
CREATE OR REPLACE TEMP MACRO referrer_source(r) AS
    CASE
        WHEN regexp_matches(referrer_host(r), '[\x00-\x20%<>^|\x7F]') THEN '(direct)'
        ELSE coalesce(nullif(regexp_replace(referrer_host(r), '^www\.', ''), ''), '(direct)')
    END;

-- RFC 3339 in UTC with `Z`, fractional seconds only when present (3 or 6 digits), as
-- analytics::format_timestamp writes them.
CREATE OR REPLACE TEMP MACRO frac_us(t) AS ((epoch_us(t) % 1000000) + 1000000) % 1000000;
CREATE OR REPLACE TEMP MACRO fmt_ts(t) AS
    strftime(t, '%Y-%m-%dT%H:%M:%S')
    || CASE
        WHEN frac_us(t) = 0 THEN ''
        WHEN frac_us(t) % 1000 = 0 THEN '.' || lpad(CAST(frac_us(t) // 1000 AS VARCHAR), 3, '0')
        ELSE '.' || lpad(CAST(frac_us(t) AS VARCHAR), 6, '0')
    END
    || 'Z';

-- Nearest rank: the value at 1-based rank ⌈p·n/100⌉ of the sorted samples; NULL without any.
CREATE OR REPLACE TEMP MACRO nearest_rank(sorted, p) AS
    CASE
        WHEN len(sorted) = 0 THEN NULL
        ELSE sorted[greatest(1, (p * len(sorted) + 99) // 100)]
    END;

-- Every record, every schema field with its type, read once into a temp table (not a view, so
-- the file is parsed once). Its rowid is the input order (DuckDB preserves insertion order),
-- which breaks ties between errors at the same instant as reportgen does. A valid event has a
-- parseable timestamp and a non-empty (trimmed) eventType; empty strings are absent, like null.
CREATE OR REPLACE TEMP TABLE events AS
SELECT
    TRY_CAST(trim("timestamp") AS TIMESTAMPTZ) AS ts,
    -- The fast path skips the Unicode trim for the names that need none.
    CASE
        WHEN eventType IN ('message_sent', 'bubble_opened', 'bubble_closed',
                           'suggestion_clicked', 'widget_loaded', 'cta_clicked',
                           'rate_limited') THEN eventType
        ELSE ws_trim(eventType)
    END AS event_type,
    nullif(sessionId, '') AS session_id,
    nullif(question, '') AS question,
    nullif(topic, '') AS topic,
    success,
    ragTimeMs AS rag_time_ms,
    aiTimeMs AS ai_time_ms,
    totalTimeMs AS total_time_ms,
    noRagMatch AS no_rag_match,
    nullif(pageUrl, '') AS page_url,
    nullif(pageTitle, '') AS page_title,
    nullif(referrer, '') AS referrer,
    nullif(errorType, '') AS error_type,
    nullif(errorMessage, '') AS error_message
FROM read_ndjson(
    getvariable('input'),
    columns = {
        'timestamp': 'VARCHAR',
        'eventType': 'VARCHAR',
        'sessionId': 'VARCHAR',
        'messageNumber': 'UBIGINT',
        'question': 'VARCHAR',
        'topic': 'VARCHAR',
        'entriesRetrieved': 'UBIGINT',
        'responseLength': 'UBIGINT',
        'success': 'BOOLEAN',
        'ragTimeMs': 'DOUBLE',
        'aiTimeMs': 'DOUBLE',
        'totalTimeMs': 'DOUBLE',
        'noRagMatch': 'BOOLEAN',
        'ragMatchScore': 'DOUBLE',
        'pageUrl': 'VARCHAR',
        'pageTitle': 'VARCHAR',
        'referrer': 'VARCHAR',
        'errorType': 'VARCHAR',
        'errorMessage': 'VARCHAR'
    });

-- In the window: from ≤ timestamp < to.
CREATE OR REPLACE TEMP VIEW w AS
SELECT rowid AS seq, *,
       event_type IN ('message_sent', 'bubble_opened', 'bubble_closed', 'suggestion_clicked',
                      'widget_loaded', 'cta_clicked', 'rate_limited') AS known
FROM events
WHERE ts IS NOT NULL AND coalesce(event_type, '') <> ''
  AND ts >= getvariable('from_ts') AND ts < getvariable('to_ts');

-- M: the messages in the window.
CREATE OR REPLACE TEMP TABLE m AS
SELECT * FROM w WHERE event_type = 'message_sent';

-- ---------------------------------------------------------------------------------------------
-- Queries
-- ---------------------------------------------------------------------------------------------

-- name: dataQuality
SELECT
    count(*) FILTER (WHERE ts IS NOT NULL AND coalesce(event_type, '') <> '') AS "eventsRead",
    (SELECT count(*) FROM w) AS "eventsInWindow",
    count(*) FILTER (WHERE ts IS NULL OR coalesce(event_type, '') = '') AS skipped
FROM events;

-- name: conversationVolume
-- An unknown type counts in eventsByType only: not in sessions (docs/metrics.md).
SELECT
    count(*) FILTER (WHERE event_type = 'message_sent') AS messages,
    count(DISTINCT session_id) FILTER (WHERE known) AS sessions,
    count(DISTINCT session_id) FILTER (WHERE event_type = 'message_sent') AS "messagingSessions",
    CASE
        WHEN count(DISTINCT session_id) FILTER (WHERE event_type = 'message_sent') = 0 THEN 0.0
        ELSE CAST(count(*) FILTER (WHERE event_type = 'message_sent') AS DOUBLE)
             / count(DISTINCT session_id) FILTER (WHERE event_type = 'message_sent')
    END AS "messagesPerSession",
    count(*) FILTER (WHERE event_type = 'bubble_opened') AS "bubbleOpens"
FROM w;

-- name: eventsByType
SELECT event_type AS "eventType", count(*) AS count
FROM w
GROUP BY event_type
ORDER BY event_type;

-- name: messagesOverTime
-- One row per UTC day holding an instant of the window: the date of `from` to the date of the
-- last instant before `to`. Raw events only: an NDJSON file has no daily aggregates.
WITH days AS (
    SELECT CAST(d AS DATE) AS day
    FROM generate_series(
        CAST(CAST(getvariable('from_ts') AS DATE) AS TIMESTAMP),
        CAST(CAST(getvariable('to_ts') - INTERVAL 1 MICROSECOND AS DATE) AS TIMESTAMP),
        INTERVAL 1 DAY) AS t(d)
),
per_day AS (
    SELECT CAST(ts AS DATE) AS day,
           count(*) FILTER (WHERE event_type = 'message_sent') AS messages,
           count(*) FILTER (WHERE event_type = 'bubble_opened') AS bubble_opens,
           count(*) FILTER (WHERE event_type = 'message_sent' AND success = false) AS errors
    FROM w
    WHERE event_type IN ('message_sent', 'bubble_opened')
    GROUP BY 1
)
SELECT strftime(days.day, '%Y-%m-%d') AS date,
       coalesce(per_day.messages, 0) AS messages,
       coalesce(per_day.bubble_opens, 0) AS "bubbleOpens",
       'events' AS source,
       coalesce(per_day.errors, 0) AS errors
FROM days LEFT JOIN per_day USING (day)
ORDER BY days.day;

-- name: topicDistribution
SELECT coalesce(topic, '(none)') AS topic,
       count(*) AS count,
       CAST(count(*) AS DOUBLE) / (SELECT count(*) FROM m) AS share
FROM m
GROUP BY 1
ORDER BY count DESC, topic ASC;

-- name: knowledgeGaps
-- M with noRagMatch = true and a question, by normalised question (empty keys are no gap);
-- the phrasing shown is the most frequent, then the earliest first use, then the smaller.
WITH g AS (
    SELECT question, normalize_question(question) AS normalized, ts
    FROM m
    WHERE no_rag_match AND question IS NOT NULL
),
g2 AS (SELECT * FROM g WHERE normalized <> ''),
phrasings AS (
    SELECT normalized, question, count(*) AS n, min(ts) AS first_use
    FROM g2
    GROUP BY normalized, question
),
best AS (
    SELECT normalized,
           first(question ORDER BY n DESC, first_use ASC, question ASC) AS question
    FROM phrasings
    GROUP BY normalized
),
totals AS (
    SELECT normalized, count(*) AS count, min(ts) AS first_seen, max(ts) AS last_seen
    FROM g2
    GROUP BY normalized
)
SELECT best.question,
       totals.normalized,
       totals.count,
       fmt_ts(totals.first_seen) AS "firstSeen",
       fmt_ts(totals.last_seen) AS "lastSeen"
FROM totals JOIN best USING (normalized)
ORDER BY totals.count DESC, totals.normalized ASC
LIMIT 100;

-- name: performance
WITH s AS (
    SELECT
        avg(rag_time_ms) AS avg_rag,
        avg(ai_time_ms) AS avg_ai,
        avg(total_time_ms) AS avg_total,
        list_sort(list(rag_time_ms) FILTER (WHERE rag_time_ms IS NOT NULL)) AS rag,
        list_sort(list(ai_time_ms) FILTER (WHERE ai_time_ms IS NOT NULL)) AS ai,
        list_sort(list(total_time_ms) FILTER (WHERE total_time_ms IS NOT NULL)) AS total
    FROM m
)
SELECT
    avg_rag AS "avgRagTimeMs",
    avg_ai AS "avgAiTimeMs",
    avg_total AS "avgTotalTimeMs",
    {'samples': len(rag), 'p50': nearest_rank(rag, 50), 'p95': nearest_rank(rag, 95),
     'p99': nearest_rank(rag, 99)} AS "ragTimeMs",
    {'samples': len(ai), 'p50': nearest_rank(ai, 50), 'p95': nearest_rank(ai, 95),
     'p99': nearest_rank(ai, 99)} AS "aiTimeMs",
    {'samples': len(total), 'p50': nearest_rank(total, 50), 'p95': nearest_rank(total, 95),
     'p99': nearest_rank(total, 99)} AS "totalTimeMs"
FROM s;

-- name: totalTimeHistogram
-- [0,50) [50,100) [100,200) … [6400,12800) [12800,∞); no rows without samples.
WITH bounds AS (
    SELECT * FROM (VALUES
        (0.0, 50.0), (50.0, 100.0), (100.0, 200.0), (200.0, 400.0), (400.0, 800.0),
        (800.0, 1600.0), (1600.0, 3200.0), (3200.0, 6400.0), (6400.0, 12800.0),
        (12800.0, NULL)) AS b(from_ms, to_ms)
),
samples AS (SELECT total_time_ms AS v FROM m WHERE total_time_ms IS NOT NULL)
SELECT CAST(from_ms AS DOUBLE) AS "fromMs",
       CAST(to_ms AS DOUBLE) AS "toMs",
       (SELECT count(*) FROM samples
        WHERE v >= from_ms AND (to_ms IS NULL OR v < to_ms)) AS count
FROM bounds
WHERE EXISTS (SELECT 1 FROM samples)
ORDER BY from_ms;

-- name: errors
SELECT
    count(*) FILTER (WHERE success = false) AS "errorCount",
    CASE
        WHEN count(*) = 0 THEN 0.0
        ELSE CAST(count(*) FILTER (WHERE success = false) AS DOUBLE) / count(*)
    END AS "errorRate",
    (SELECT count(*) FROM w WHERE event_type = 'rate_limited') AS "rateLimited"
FROM m;

-- name: errorsByType
SELECT coalesce(error_type, '(unknown)') AS "errorType", count(*) AS count
FROM m
WHERE success = false
GROUP BY 1
ORDER BY count DESC, "errorType" ASC;

-- name: recentErrors
-- The 20 latest, newest first; equal timestamps in input order (seq).
SELECT fmt_ts(ts) AS "timestamp",
       error_type AS "errorType",
       error_message AS "errorMessage",
       topic,
       page_url AS "pageUrl"
FROM m
WHERE success = false
ORDER BY ts DESC, seq ASC
LIMIT 20;

-- name: topPages
-- M by pageUrl (absent → "(none)"); the title is the most frequent (ties as for questions),
-- sessions the distinct non-empty session ids among those messages.
WITH pages AS (
    SELECT coalesce(page_url, '(none)') AS page,
           count(*) AS messages,
           count(DISTINCT session_id) AS sessions
    FROM m
    GROUP BY 1
),
titles AS (
    SELECT coalesce(page_url, '(none)') AS page, page_title, count(*) AS n,
           min(ts) AS first_use
    FROM m
    WHERE page_title IS NOT NULL
    GROUP BY 1, 2
),
best AS (
    SELECT page, first(page_title ORDER BY n DESC, first_use ASC, page_title ASC) AS title
    FROM titles
    GROUP BY page
)
SELECT pages.page AS "pageUrl", best.title AS "pageTitle", pages.messages, pages.sessions
FROM pages LEFT JOIN best USING (page)
ORDER BY pages.messages DESC, pages.page ASC
LIMIT 20;

-- name: topSources
-- Every event of a known type, by referrer source; distinct non-empty session ids. The source
-- is worked out once per distinct referrer, not once per event.
WITH referrers AS (
    SELECT referrer, referrer_source(referrer) AS source
    FROM (SELECT DISTINCT referrer FROM w WHERE known)
)
SELECT referrers.source, count(DISTINCT w.session_id) AS sessions
FROM w JOIN referrers ON w.referrer IS NOT DISTINCT FROM referrers.referrer
WHERE w.known
GROUP BY 1
ORDER BY sessions DESC, source ASC
LIMIT 20;
