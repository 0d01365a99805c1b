//! The scheduled rollup: yesterday's and today's raw events become their `daily:` aggregates
//! and updates of the `gaps:` records. Recomputed from the raw events each time, so running it
//! twice writes the same keys and values.

use analytics::{
    AGGREGATE_TTL_SECS, DailyAggregate, Window, daily_key, gap_key, merge_gap, rollup_day,
};
use chrono::{DateTime, Days, NaiveTime, TimeDelta, Utc};
use worker::Env;

use crate::store::Store;
use crate::store::events::{Collected, Pace, Stop};

/// Operations kept back for writing once the events are read.
const WRITE_RESERVE: u32 = 400;

/// Runs the rollup as of `now` and logs what it did; errors are logged, not raised (nobody
/// awaits a cron), and the next run recomputes the same days.
pub async fn run(env: &Env, now: DateTime<Utc>) {
    let store = match Store::open(env) {
        Ok(store) => store,
        Err(e) => {
            worker::console_error!("rollup: {e}");
            return;
        }
    };
    match rollup(&store, now).await {
        Ok(summary) => worker::console_log!("rollup: {summary} ({} KV operations)", store.ops()),
        Err(e) => worker::console_error!("rollup failed: {e}"),
    }
}

/// Rolls up the UTC days of `now` and the day before.
pub async fn rollup(store: &Store, now: DateTime<Utc>) -> Result<String, String> {
    let today = now.date_naive();
    let yesterday = today.checked_sub_days(Days::new(1)).ok_or("no yesterday")?;
    let keep_from = today
        .checked_sub_days(Days::new(AGGREGATE_TTL_SECS / 86_400))
        .ok_or("no retention start")?;
    let mut done = Vec::new();
    for day in [yesterday, today] {
        let from = day.and_time(NaiveTime::MIN).and_utc();
        let to = (from + TimeDelta::days(1)).min(Window::end_after(now));
        let listing = store.listing(from, to).await.map_err(|e| e.to_string())?;
        let mut records = Collected::default();
        let stop = store
            .read_events(
                &listing,
                None,
                usize::MAX,
                Pace::Careful {
                    reserve: WRITE_RESERVE,
                },
                &mut records,
            )
            .await
            .map_err(|e| e.to_string())?;
        if stop != Stop::Done {
            return Err(format!(
                "{day}: too many events to roll up within the budget"
            ));
        }
        if !records.unreadable.is_empty() {
            worker::console_warn!("rollup {day}: unreadable records {:?}", records.unreadable);
        }
        let events = records.events;
        let rollup = rollup_day(day, &events);
        write_daily(store, &rollup.daily).await?;
        let mut gaps = 0;
        for gap in &rollup.gaps {
            // Each gap costs a read and a write; keep within the budget.
            if store.remaining() < 2 {
                worker::console_warn!("rollup {day}: budget reached after {gaps} gaps");
                break;
            }
            let key = gap_key(&gap.normalized);
            let existing = store.gap(&key).await.map_err(|e| e.to_string())?;
            let record = merge_gap(existing, day, gap, keep_from);
            store
                .put_gap(&key, &record)
                .await
                .map_err(|e| e.to_string())?;
            gaps += 1;
        }
        done.push(format!("{day}: {} events, {gaps} gaps", events.len()));
    }
    Ok(done.join("; "))
}

async fn write_daily(store: &Store, daily: &DailyAggregate) -> Result<(), String> {
    store
        .put_daily(&daily_key(daily.date), daily)
        .await
        .map_err(|e| e.to_string())
}
