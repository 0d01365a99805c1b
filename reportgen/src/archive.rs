//! The archive on disk: `OUT/<YYYY-MM-DD>/index.html`, `summary.json`, `gaps.csv` and
//! `digest.md`, and text retention's changes to old snapshots. The only module that writes
//! files. Every file is written to a temporary name beside its target and renamed into place,
//! so a reader (or a crash) never sees half a report.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use analytics::Summary;
use chrono::{DateTime, Utc};

use crate::archive_page::{self, Snapshot};
use anyhow::{Context, anyhow};

/// The snapshot folder name for a summary: the UTC date of its window end.
pub fn snapshot_name(summary: &Summary) -> anyhow::Result<String> {
    let to = analytics::parse_timestamp(&summary.window.to)
        .ok_or_else(|| anyhow!("window end {:?} is not a timestamp", summary.window.to))?;
    Ok(to.date_naive().format("%Y-%m-%d").to_string())
}

/// Writes one snapshot — `files` as (name, bytes), the report `index.html` among them — and
/// returns the path of its `index.html`. All files are written to temporary names first and
/// renamed only when all are complete, so a failure leaves the previous snapshot as it was.
pub fn write_snapshot(
    out: &Path,
    summary: &Summary,
    files: &[(&str, &[u8])],
) -> anyhow::Result<PathBuf> {
    let dir = out.join(snapshot_name(summary)?);
    fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create output folder `{}`", dir.display()))?;
    write_into(&dir, files)?;
    Ok(dir.join("index.html"))
}

/// The snapshots under `out`: every `YYYY-MM-DD` folder with a readable `summary.json`,
/// oldest first, and a warning for each snapshot whose summary cannot be read (it is left
/// out, so one damaged folder cannot stop every later run). Other folders are ignored.
pub fn snapshots(out: &Path) -> anyhow::Result<(Vec<Snapshot>, Vec<String>)> {
    let mut found = Vec::new();
    let mut warnings = Vec::new();
    let entries = match fs::read_dir(out) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((found, warnings)),
        Err(e) => return Err(e).with_context(|| format!("cannot list `{}`", out.display())),
    };
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list `{}`", out.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if chrono::NaiveDate::parse_from_str(&name, "%Y-%m-%d").is_err() {
            continue;
        }
        let path = entry.path().join("summary.json");
        if !path.exists() {
            continue;
        }
        let parsed = fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|text| serde_json::from_str(&text).map_err(|e| e.to_string()));
        match parsed {
            Ok(summary) => found.push(Snapshot {
                date: name,
                summary,
            }),
            Err(e) => warnings.push(format!(
                "`{}` is not a readable reportgen summary ({e}); that snapshot is left out of \
                 the archive page",
                path.display()
            )),
        }
    }
    found.sort_by(|a, b| a.date.cmp(&b.date));
    Ok((found, warnings))
}

/// The newest snapshot of `archive` (oldest first, as [`snapshots`] lists them) before
/// `summary`'s that covers a window of the same length: the baseline of comparisons when the
/// input does not reach back to the previous period.
pub fn previous_snapshot<'a>(
    archive: &'a [Snapshot],
    summary: &Summary,
) -> anyhow::Result<Option<&'a Snapshot>> {
    let this = snapshot_name(summary)?;
    Ok(archive
        .iter()
        .rfind(|s| s.date < this && s.summary.window.days == summary.window.days))
}

/// The newest snapshot of `archive` of a `days`-day window that ended at or before `from`:
/// the report of the period before a window starting at `from`, the baseline of its alerts
/// when the input does not reach back to that period (see [`analytics::Metrics::compare_with`]).
pub fn period_before(archive: &[Snapshot], from: DateTime<Utc>, days: u32) -> Option<&Snapshot> {
    archive.iter().rfind(|s| {
        let window = &s.summary.window;
        window.days == days
            && !window.from_data
            && analytics::parse_timestamp(&window.to).is_some_and(|to| to <= from)
    })
}

/// The positions in `archive` of the snapshots text retention still has work in: their window
/// ended more than `keep_days` days before `now`, they are not `except` (the run's own), and
/// their text was not removed yet — or was, by an older list of fields, or a `gaps.csv` is
/// left. Oldest first.
pub fn needing_text_removal(
    out: &Path,
    archive: &[Snapshot],
    now: chrono::DateTime<chrono::Utc>,
    keep_days: u32,
    except: Option<&str>,
) -> Vec<usize> {
    let cutoff = now - chrono::TimeDelta::days(i64::from(keep_days));
    let fields = analytics::visitor_text_fields();
    (0..archive.len())
        .filter(|&i| {
            let s = &archive[i];
            Some(s.date.as_str()) != except
                && analytics::parse_timestamp(&s.summary.window.to).is_some_and(|to| to < cutoff)
                && (s
                    .summary
                    .text_removed
                    .as_ref()
                    .is_none_or(|r| r.fields != fields)
                    || out.join(&s.date).join(GAPS_CSV).exists())
        })
        .collect()
}

/// Old snapshot folders whose `summary.json` cannot be read (not in `archive`, the readable
/// ones): their visitors' text cannot be told from their numbers. Every file of each folder whose date is more than `keep_days` days
/// before `now` is deleted but a [`REMOVED_NOTE`] saying why; returns their dates.
pub fn clear_unreadable(
    out: &Path,
    archive: &[Snapshot],
    now: chrono::DateTime<chrono::Utc>,
    keep_days: u32,
) -> anyhow::Result<Vec<String>> {
    let cutoff = (now - chrono::TimeDelta::days(i64::from(keep_days))).date_naive();
    let readable: std::collections::HashSet<&str> =
        archive.iter().map(|s| s.date.as_str()).collect();
    let mut cleared = Vec::new();
    let Ok(entries) = fs::read_dir(out) else {
        return Ok(cleared);
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(date) = chrono::NaiveDate::parse_from_str(&name, "%Y-%m-%d") else {
            continue;
        };
        let dir = entry.path();
        if date >= cutoff || readable.contains(name.as_str()) || !dir.is_dir() {
            continue;
        }
        let files: Vec<PathBuf> = fs::read_dir(&dir)
            .with_context(|| format!("cannot list `{}`", dir.display()))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != REMOVED_NOTE))
            .collect();
        if files.is_empty() {
            continue;
        }
        for file in &files {
            fs::remove_file(file).with_context(|| format!("cannot delete `{}`", file.display()))?;
        }
        let note = format!(
            "This snapshot's summary.json could not be read, so its visitors' text could not be \
             told from its numbers: its files were deleted on {} (more than {keep_days} days \
             after its date).\n",
            analytics::format_timestamp(&now)
        );
        write_atomic(&dir.join(REMOVED_NOTE), note.as_bytes())?;
        cleared.push(name);
    }
    cleared.sort();
    Ok(cleared)
}

/// What is left of an unreadable old snapshot ([`clear_unreadable`]).
pub const REMOVED_NOTE: &str = "REMOVED.txt";

/// The `gaps.csv` beside a report: the top gaps' questions.
pub const GAPS_CSV: &str = "gaps.csv";
/// The `digest.md` beside a report (see [`crate::digest`]).
pub const DIGEST_MD: &str = "digest.md";

/// Replaces a snapshot's files together (`files`: `index.html` and `digest.md` before
/// `summary.json`, whose `textRemoved` marks the work done), then deletes its `gaps.csv`: a failure part way leaves
/// the old text marked as still there, or a `gaps.csv` that the next run finds and deletes.
pub fn rewrite_snapshot(out: &Path, date: &str, files: &[(&str, &[u8])]) -> anyhow::Result<()> {
    let dir = out.join(date);
    write_into(&dir, files)?;
    remove_if_there(&dir.join(GAPS_CSV))
}

/// Deletes `path`; one that is not there is fine.
fn remove_if_there(path: &Path) -> anyhow::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("cannot delete `{}`", path.display()))
        }
        _ => Ok(()),
    }
}

/// The title a snapshot's report was written with (its `<h1>`), to render it again the same.
pub fn snapshot_title(out: &Path, date: &str) -> Option<String> {
    let html = fs::read_to_string(out.join(date).join("index.html")).ok()?;
    let start = html.find("<h1>")? + "<h1>".len();
    let end = start + html[start..].find("</h1>")?;
    Some(unescape_html(&html[start..end]))
}

/// The text of HTML that tera escaped (`&amp;`, `&lt;`, `&gt;`, `&quot;`, `&#x27;`, `&#x2F;`).
fn unescape_html(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#x2F;", "/")
        .replace("&amp;", "&")
}

/// Rebuilds the archive page `OUT/index.html` from the snapshots, and `OUT/latest/` as a copy
/// of the newest; returns the page's path and warnings about snapshots left out.
pub fn rebuild(out: &Path) -> anyhow::Result<(PathBuf, Vec<String>)> {
    let (all, warnings) = snapshots(out)?;
    let html = archive_page::render_archive(&all)?;
    fs::create_dir_all(out)
        .with_context(|| format!("cannot create output folder `{}`", out.display()))?;
    if let Some(newest) = all.last() {
        let from = out.join(&newest.date);
        let latest = out.join("latest");
        fs::create_dir_all(&latest)
            .with_context(|| format!("cannot create `{}`", latest.display()))?;
        let read = |name: &str| {
            fs::read(from.join(name))
                .with_context(|| format!("cannot read `{}`", from.join(name).display()))
        };
        let (index, summary) = (read("index.html")?, read("summary.json")?);
        // A snapshot made before digests existed has none: latest/ then has none either.
        let digest = match fs::read(from.join(DIGEST_MD)) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("cannot read `{}`", from.join(DIGEST_MD).display()));
            }
        };
        let mut files = vec![
            (latest.join("summary.json"), summary),
            (latest.join("index.html"), index),
        ];
        match digest {
            Some(digest) => files.insert(0, (latest.join(DIGEST_MD), digest)),
            None => remove_if_there(&latest.join(DIGEST_MD))?,
        }
        let pairs: Vec<(&Path, &[u8])> = files
            .iter()
            .map(|(path, bytes)| (path.as_path(), bytes.as_slice()))
            .collect();
        write_all_atomic(&pairs)?;
    }
    let index = out.join("index.html");
    write_atomic(&index, html.as_bytes())?;
    Ok((index, warnings))
}

/// Writes `files` (name, bytes) into `dir` together ([`write_all_atomic`]), in their order.
fn write_into(dir: &Path, files: &[(&str, &[u8])]) -> anyhow::Result<()> {
    let paths: Vec<PathBuf> = files.iter().map(|(name, _)| dir.join(name)).collect();
    let pairs: Vec<(&Path, &[u8])> = paths
        .iter()
        .zip(files)
        .map(|(path, (_, bytes))| (path.as_path(), *bytes))
        .collect();
    write_all_atomic(&pairs)
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    write_all_atomic(&[(path, bytes)])
}

/// Writes every file to a temporary name beside it, then renames them all into place.
fn write_all_atomic(files: &[(&Path, &[u8])]) -> anyhow::Result<()> {
    let mut written: Vec<(PathBuf, &Path)> = Vec::with_capacity(files.len());
    let result = files.iter().try_for_each(|&(path, bytes)| {
        let tmp = temporary_name(path)?;
        let write = fs::File::create(&tmp).and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        });
        written.push((tmp, path));
        write.with_context(|| format!("cannot write `{}`", path.display()))
    });
    let result = result.and_then(|()| {
        // All renamed, or (interrupted) none: see `abandon_temporary_files`.
        let _renaming = TEMPORARY
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        written.iter().try_for_each(|(tmp, path)| {
            fs::rename(tmp, path).with_context(|| format!("cannot write `{}`", path.display()))
        })
    });
    if result.is_err() {
        for (tmp, _) in &written {
            let _ = fs::remove_file(tmp);
        }
    }
    result
}

/// A file written in full under a temporary name and renamed into place by
/// [`PendingFile::commit`]; dropped uncommitted, it leaves nothing behind.
pub struct PendingFile {
    tmp: PathBuf,
    target: PathBuf,
    writer: Option<Output>,
    error: Option<std::io::Error>,
}

/// The temporary file's writer: plain, or gzip-compressed (a target ending in `.gz`).
enum Output {
    Plain(std::io::BufWriter<fs::File>),
    Gzip(flate2::write::GzEncoder<std::io::BufWriter<fs::File>>),
}

impl Output {
    fn writer(&mut self) -> &mut dyn Write {
        match self {
            Output::Plain(w) => w,
            Output::Gzip(w) => w,
        }
    }

    /// Flushes everything (the gzip trailer included) down to the disk.
    fn finish(self) -> std::io::Result<()> {
        let buffered = match self {
            Output::Plain(w) => w,
            Output::Gzip(w) => w.finish()?,
        };
        buffered
            .into_inner()
            .map_err(|e| e.into_error())?
            .sync_all()
    }
}

impl PendingFile {
    /// Starts `target`; gzip-compressed when its name ends in `.gz`.
    pub fn create(target: &Path) -> anyhow::Result<PendingFile> {
        let tmp = temporary_name(target)?;
        let file = fs::File::create(&tmp)
            .with_context(|| format!("cannot write `{}`", target.display()))?;
        let buffered = std::io::BufWriter::with_capacity(1 << 16, file);
        let writer = if target.extension().is_some_and(|e| e == "gz") {
            Output::Gzip(flate2::write::GzEncoder::new(
                buffered,
                flate2::Compression::default(),
            ))
        } else {
            Output::Plain(buffered)
        };
        Ok(PendingFile {
            tmp,
            target: target.to_owned(),
            writer: Some(writer),
            error: None,
        })
    }

    /// Appends one event as a line of NDJSON; the first error is kept for `commit`.
    pub fn write_event(&mut self, event: &analytics::Event) {
        if self.error.is_some() {
            return;
        }
        if let Some(writer) = self.writer.as_mut()
            && let Err(e) = analytics::write_ndjson_line(writer.writer(), event)
        {
            self.error = Some(e);
        }
    }

    /// Finishes the file and renames it into place.
    pub fn commit(mut self) -> anyhow::Result<()> {
        let target = self.target.clone();
        let context = || format!("cannot write `{}`", target.display());
        if let Some(e) = self.error.take() {
            return Err(e).with_context(context);
        }
        if let Some(writer) = self.writer.take() {
            writer.finish().with_context(context)?;
        }
        let _renaming = TEMPORARY
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        fs::rename(&self.tmp, &self.target).with_context(context)
    }
}

impl Drop for PendingFile {
    fn drop(&mut self) {
        self.writer.take();
        if self.tmp.exists() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Every temporary file this process has started (renamed or removed ones included). Held
/// while a set of files is renamed into place, so that an interruption waits for the set.
static TEMPORARY: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

fn temporary_name(path: &Path) -> anyhow::Result<PathBuf> {
    let name = path
        .file_name()
        .ok_or_else(|| anyhow!("`{}` has no file name", path.display()))?
        .to_string_lossy();
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    TEMPORARY
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(tmp.clone());
    Ok(tmp)
}

/// For an interrupted run (SIGINT, SIGTERM): waits for a snapshot being renamed into place to
/// be complete, then removes every temporary file still there and returns with the lock held,
/// so that no new file is renamed before the process exits. The archive is left as it was
/// before the run, or as the run completed it: never half way.
pub fn abandon_temporary_files() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    let files = TEMPORARY
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for tmp in files.iter() {
        let _ = fs::remove_file(tmp);
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temporary_file() {
        let dir = std::env::temp_dir().join(format!("reportgen-archive-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("temp dir");
        let target = dir.join("index.html");
        write_atomic(&target, b"old").expect("first write");
        write_atomic(&target, b"new").expect("second write");
        assert_eq!(fs::read(&target).expect("read back"), b"new");
        let names: Vec<_> = fs::read_dir(&dir)
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("index.html")]);
        fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn a_snapshot_failing_halfway_keeps_the_previous_pair() {
        let dir = std::env::temp_dir().join(format!("reportgen-pair-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("temp dir");
        let (json, html) = (dir.join("summary.json"), dir.join("index.html"));
        write_all_atomic(&[(&json, b"old json"), (&html, b"old html")]).expect("first pair");
        // The second file cannot be written: the first must not be replaced either.
        let blocker = dir.join(format!(".index.html.tmp-{}", std::process::id()));
        fs::create_dir_all(&blocker).expect("blocker");
        assert!(write_all_atomic(&[(&json, b"new json"), (&html, b"new html")]).is_err());
        assert_eq!(fs::read(&json).expect("json"), b"old json");
        assert_eq!(fs::read(&html).expect("html"), b"old html");
        let leftovers: Vec<_> = fs::read_dir(&dir)
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".summary"))
            .collect();
        assert!(
            leftovers.is_empty(),
            "temporary files removed: {leftovers:?}"
        );
        fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn failed_write_keeps_the_previous_file() {
        let dir = std::env::temp_dir().join(format!("reportgen-keep-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("temp dir");
        let target = dir.join("summary.json");
        write_atomic(&target, b"previous").expect("first write");
        // A directory where the temporary file should go makes the write fail.
        let tmp = dir.join(format!(".summary.json.tmp-{}", std::process::id()));
        fs::create_dir_all(&tmp).expect("blocker");
        assert!(write_atomic(&target, b"next").is_err());
        assert_eq!(fs::read(&target).expect("read back"), b"previous");
        fs::remove_dir_all(&dir).expect("cleanup");
    }
}
