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

/// Writes one snapshot and returns the path of its `index.html`.
pub fn write_snapshot(
    out: &Path,
    summary: &Summary,
    html: &str,
    summary_json: &str,
) -> anyhow::Result<PathBuf> {
    let dir = out.join(snapshot_name(summary)?);
    fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create output folder `{}`", dir.display()))?;
    write_atomic(&dir.join("summary.json"), summary_json.as_bytes())?;
    let index = dir.join("index.html");
    write_atomic(&index, html.as_bytes())?;
    Ok(index)
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| anyhow!("`{}` has no file name", path.display()))?
        .to_string_lossy();
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let result = fs::File::create(&tmp)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        })
        .and_then(|()| fs::rename(&tmp, path));
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot write `{}`", path.display()));
    }
    Ok(())
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
