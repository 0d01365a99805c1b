//! A table of the report and its CSV download, built together: each source row becomes one row
//! for the page and one record for the file in the same pass, so the download holds what the
//! table shows. The file is a `data:` URI, so the report stays one file.

use analytics::neutralise_csv;
use percent_encoding::{NON_ALPHANUMERIC, percent_encode};
use serde::Serialize;

use super::Change;

/// A table's rows, formatted for people, and the same rows as a CSV download.
#[derive(Debug, Serialize)]
pub(crate) struct Table<R> {
    pub(crate) rows: Vec<R>,
    pub(crate) csv: Download,
    /// The rows carry their change against a baseline: the table shows a change column.
    pub(crate) compared: bool,
}

/// A table row with its change against the baseline (`None` without one).
#[derive(Debug, Serialize)]
pub(crate) struct Compared<R> {
    #[serde(flatten)]
    pub(crate) row: R,
    pub(crate) change: Option<Change>,
}

/// A CSV file offered for download.
#[derive(Debug, Serialize)]
pub(crate) struct Download {
    /// The name the browser saves it under; distinct in a report, and says what it holds.
    pub(crate) file: &'static str,
    /// `data:text/csv;charset=utf-8,` and the percent-encoded CSV.
    pub(crate) href: String,
}

impl<R> Table<R> {
    /// For each item of `source`, in order, a page row (`row`) and a CSV record (`record`)
    /// under `header`. Every cell of the file is neutralised (see [`CsvFile`]).
    pub(crate) fn new<T>(
        file: &'static str,
        header: &[impl AsRef<str>],
        source: impl IntoIterator<Item = T>,
        row: impl Fn(&T) -> R,
        record: impl Fn(&T) -> Vec<String>,
    ) -> anyhow::Result<Table<R>> {
        let mut csv = CsvFile::new(header)?;
        let mut rows = Vec::new();
        for item in source {
            csv.record(record(&item))?;
            rows.push(row(&item));
        }
        Ok(Table {
            rows,
            compared: false,
            csv: Download {
                file,
                href: format!(
                    "data:text/csv;charset=utf-8,{}",
                    percent_encode(&csv.finish()?, NON_ALPHANUMERIC)
                ),
            },
        })
    }

    /// Each row with its change: `changes` holds one per row, in the order of the list the
    /// table was built from ([`super::Changes`]); `None` without a baseline. A list of another
    /// length is an error, never a change shown on the wrong row.
    pub(crate) fn compared(
        self,
        changes: Option<Vec<Change>>,
    ) -> anyhow::Result<Table<Compared<R>>> {
        let compared = changes.is_some();
        let changes: Vec<Option<Change>> = match changes {
            Some(changes) if changes.len() == self.rows.len() => {
                changes.into_iter().map(Some).collect()
            }
            Some(changes) => anyhow::bail!(
                "{}: {} rows but {} changes",
                self.csv.file,
                self.rows.len(),
                changes.len()
            ),
            None => self.rows.iter().map(|_| None).collect(),
        };
        Ok(Table {
            rows: self
                .rows
                .into_iter()
                .zip(changes)
                .map(|(row, change)| Compared { row, change })
                .collect(),
            csv: self.csv,
            compared,
        })
    }

    /// The table with only its first `n` rows shown; the download keeps every row.
    pub(crate) fn showing(mut self, n: usize) -> Table<R> {
        self.rows.truncate(n);
        self
    }
}

/// CSV text in which no cell runs as a spreadsheet formula: every cell, header included, goes
/// through [`neutralise_csv`] here and nowhere else, since most hold untrusted text (questions,
/// titles, URLs, error messages, topics).
pub(crate) struct CsvFile(csv::Writer<Vec<u8>>);

impl CsvFile {
    /// A file that starts with `header`.
    pub(crate) fn new(header: &[impl AsRef<str>]) -> anyhow::Result<CsvFile> {
        let mut file = CsvFile(csv::Writer::from_writer(Vec::new()));
        file.record(header)?;
        Ok(file)
    }

    /// Appends one record.
    pub(crate) fn record(
        &mut self,
        cells: impl IntoIterator<Item = impl AsRef<str>>,
    ) -> anyhow::Result<()> {
        self.0.write_record(
            cells
                .into_iter()
                .map(|cell| neutralise_csv(cell.as_ref()).into_owned()),
        )?;
        Ok(())
    }

    /// The CSV bytes (UTF-8).
    pub(crate) fn finish(self) -> anyhow::Result<Vec<u8>> {
        self.0.into_inner().map_err(|e| anyhow::anyhow!("{e}"))
    }
}

/// A fraction (a share, a conversion) for a CSV cell: `0.1234`.
pub(crate) fn fraction(value: f64) -> String {
    format!("{value:.4}")
}

/// Milliseconds for a CSV cell, to a tenth and without a trailing `.0`: `20.7`, `5025`; empty
/// when unknown.
pub(crate) fn millis(value: Option<f64>) -> String {
    value.map_or_else(String::new, |v| ((v * 10.0).round() / 10.0).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(href: &str) -> String {
        let body = href
            .strip_prefix("data:text/csv;charset=utf-8,")
            .expect("a data: URI");
        percent_encoding::percent_decode_str(body)
            .decode_utf8()
            .expect("UTF-8")
            .into_owned()
    }

    #[test]
    fn each_source_row_gives_a_page_row_and_a_neutralised_record() {
        let source = [("=cmd()", 1_200_u64), ("fine, \"quoted\"", 3)];
        let table = Table::new(
            "things.csv",
            &["thing", "count"],
            source,
            |(name, n)| format!("{name}: {n}"),
            |(name, n)| vec![(*name).to_owned(), n.to_string()],
        )
        .expect("table");
        assert_eq!(table.rows, ["=cmd(): 1200", "fine, \"quoted\": 3"]);
        assert_eq!(table.csv.file, "things.csv");
        assert!(
            table
                .csv
                .href
                .starts_with("data:text/csv;charset=utf-8,thing%2Ccount%0A"),
            "{}",
            table.csv.href
        );
        assert_eq!(
            decoded(&table.csv.href),
            "thing,count\n'=cmd(),1200\n\"fine, \"\"quoted\"\"\",3\n"
        );
    }

    #[test]
    fn a_shortened_table_still_downloads_every_row() {
        let table = Table::new("n.csv", &["n"], 1..=3, |n| *n, |n| vec![n.to_string()])
            .expect("table")
            .showing(2);
        assert_eq!(table.rows, [1, 2]);
        assert_eq!(decoded(&table.csv.href), "n\n1\n2\n3\n");
    }

    #[test]
    fn numbers_are_plain_for_spreadsheets() {
        assert_eq!(fraction(0.123_456), "0.1235");
        assert_eq!(millis(Some(20.714_285)), "20.7");
        assert_eq!(millis(Some(5025.0)), "5025");
        assert_eq!(millis(None), "");
    }

    #[test]
    fn each_row_takes_its_own_change_and_a_list_of_another_length_is_refused() {
        let table = || {
            Table::new("t.csv", &["n"], [1u64, 2], |n| *n, |n| vec![n.to_string()]).expect("table")
        };
        let change = |new| Change { delta: None, new };
        let compared = table()
            .compared(Some(vec![change(true), change(false)]))
            .expect("same length");
        assert!(compared.compared);
        let rows: Vec<(u64, Option<bool>)> = compared
            .rows
            .iter()
            .map(|r| (r.row, r.change.as_ref().map(|c| c.new)))
            .collect();
        assert_eq!(rows, [(1, Some(true)), (2, Some(false))]);

        let plain = table().compared(None).expect("no baseline");
        assert!(!plain.compared);
        assert!(plain.rows.iter().all(|r| r.change.is_none()));

        let err = table()
            .compared(Some(vec![change(true)]))
            .expect_err("one change for two rows");
        assert!(err.to_string().contains("2 rows but 1 changes"), "{err}");
    }
}
