//! The archive on disk: `OUT/<YYYY-MM-DD>/index.html` and `summary.json`. The only module that
//! writes files. Every file is written to a temporary name beside its target and renamed into
//! place, so a reader (or a crash) never sees half a report.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use analytics::Summary;
use anyhow::{Context, anyhow};

/// The snapshot folder name for a summary: the UTC date of its window end.
pub fn snapshot_name(summary: &Summary) -> anyhow::Result<String> {
    let to = analytics::parse_timestamp(&summary.window.to)
        .ok_or_else(|| anyhow!("window end {:?} is not a timestamp", summary.window.to))?;
    Ok(to.date_naive().format("%Y-%m-%d").to_string())
}

/// Writes one snapshot and returns the path of its `index.html`. Both files are written to
/// temporary names first and renamed only when both are complete, so a failure leaves the
/// previous pair as it was.
pub fn write_snapshot(
    out: &Path,
    summary: &Summary,
    html: &str,
    summary_json: &str,
) -> anyhow::Result<PathBuf> {
    let dir = out.join(snapshot_name(summary)?);
    fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create output folder `{}`", dir.display()))?;
    let index = dir.join("index.html");
    write_all_atomic(&[
        (&dir.join("summary.json"), summary_json.as_bytes()),
        (&index, html.as_bytes()),
    ])?;
    Ok(index)
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

fn temporary_name(path: &Path) -> anyhow::Result<PathBuf> {
    let name = path
        .file_name()
        .ok_or_else(|| anyhow!("`{}` has no file name", path.display()))?
        .to_string_lossy();
    Ok(path.with_file_name(format!(".{name}.tmp-{}", std::process::id())))
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
