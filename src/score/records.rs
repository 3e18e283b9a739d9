//! `per_image.csv`: one row per image x method, appended as images complete, read back to
//! resume an interrupted run and to build Table 1.
//!
//! Columns: `image` (index in the test split), `member` (the sample id), `file` (relative
//! to the data directory when inside it), `label`, `label_name`, `predicted`,
//! `predicted_name`, `target` (the class explained), `method`, one column per metric
//! ([`Metric::key`]), and `model_hash`. Values are written with Rust's shortest
//! round-trip formatting (so a resumed run reproduces the uninterrupted table bit for bit);
//! an undefined value is `NaN`. Fields are quoted as RFC 4180 when they need it.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::metric::Metric;
use super::ScoreError;
use crate::attr::Method;
use crate::claims::PolEvidence;

/// One image x method row of `per_image.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageRecord {
    /// Index of the image in the test split.
    pub image: usize,
    /// The image's sample id.
    pub member: String,
    /// Its file, relative to the data directory.
    pub file: String,
    /// Its true class index.
    pub label: i64,
    /// Its true class name.
    pub label_name: String,
    /// The model's predicted class index.
    pub predicted: i64,
    /// The predicted class name.
    pub predicted_name: String,
    /// The class the attribution explains.
    pub target: i64,
    /// The attribution method.
    pub method: Method,
    /// The metrics' values.
    pub values: BTreeMap<Metric, f64>,
    /// The scored model's hash.
    pub model_hash: String,
}

const LEADING: [&str; 9] = [
    "image",
    "member",
    "file",
    "label",
    "label_name",
    "predicted",
    "predicted_name",
    "target",
    "method",
];
const TRAILING: &str = "model_hash";

/// The header line (with its newline) for `metrics`.
pub fn header(metrics: &[Metric]) -> String {
    let mut cols: Vec<&str> = LEADING.to_vec();
    cols.extend(metrics.iter().map(|m| m.key()));
    cols.push(TRAILING);
    format!("{}\n", cols.join(","))
}

/// A CSV field, quoted when it holds a comma, quote or line break.
pub fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

impl ImageRecord {
    /// The row (with its newline) for the columns of `metrics`; a missing value is `NaN`.
    pub fn to_csv_row(&self, metrics: &[Metric]) -> String {
        let mut f: Vec<String> = vec![
            self.image.to_string(),
            field(&self.member),
            field(&self.file),
            self.label.to_string(),
            field(&self.label_name),
            self.predicted.to_string(),
            field(&self.predicted_name),
            self.target.to_string(),
            self.method.name().to_string(),
        ];
        for m in metrics {
            f.push(format!(
                "{}",
                self.values.get(m).copied().unwrap_or(f64::NAN)
            ));
        }
        f.push(field(&self.model_hash));
        format!("{}\n", f.join(","))
    }
}

/// CSV records with the line each starts on.
pub type CsvRows = Vec<(usize, Vec<String>)>;

/// Splits CSV text into records of fields (RFC 4180 quoting). Returns the records that end
/// with a line break and the byte length they span; text after the last line break (a row
/// torn by an interrupted write) is not returned.
pub fn parse_csv(text: &str) -> Result<(CsvRows, usize), String> {
    let mut rows = Vec::new();
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut line = 1usize;
    let mut row_line = 1usize;
    let mut complete_len = 0usize;
    let mut chars = text.char_indices().peekable();
    let mut at_field_start = true;
    while let Some((i, c)) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek().map(|&(_, d)| d) == Some('"') {
                    cur.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                if c == '\n' {
                    line += 1;
                }
                cur.push(c);
            }
            continue;
        }
        match c {
            '"' if at_field_start => {
                quoted = true;
                at_field_start = false;
            }
            '"' => return Err(format!("line {line}: a quote inside an unquoted field")),
            ',' => {
                fields.push(std::mem::take(&mut cur));
                at_field_start = true;
            }
            '\r' => {}
            '\n' => {
                fields.push(std::mem::take(&mut cur));
                rows.push((row_line, std::mem::take(&mut fields)));
                line += 1;
                row_line = line;
                complete_len = i + 1;
                at_field_start = true;
            }
            _ => {
                cur.push(c);
                at_field_start = false;
            }
        }
    }
    Ok((rows, complete_len))
}

/// What [`read`] found in a `per_image.csv`.
#[derive(Debug, Clone)]
pub struct PerImageFile {
    /// The metric columns, in file order.
    pub metrics: Vec<Metric>,
    /// The complete rows.
    pub records: Vec<ImageRecord>,
    /// Bytes of complete rows (the file is longer when its last row was torn).
    pub complete_len: usize,
    /// Bytes of the file.
    pub file_len: usize,
}

fn parse_err(path: &Path, line: usize, reason: impl Into<String>) -> ScoreError {
    ScoreError::Parse {
        path: path.to_path_buf(),
        line,
        reason: reason.into(),
    }
}

/// The evidence of one polarization's verdicts from its per-image records: the explained
/// images `chosen` (ascending), their true classes (the bootstrap's strata), and per method
/// and metric of `metrics` one value per image (`None` where undefined or not scored).
/// The test counts are left at zero for the caller.
pub fn pol_evidence(records: &[ImageRecord], chosen: &[usize], metrics: &[Metric]) -> PolEvidence {
    let at: BTreeMap<usize, usize> = chosen
        .iter()
        .enumerate()
        .map(|(i, &img)| (img, i))
        .collect();
    let mut e = PolEvidence {
        images: chosen.to_vec(),
        strata: vec![0; chosen.len()],
        ..PolEvidence::default()
    };
    for r in records {
        let Some(&i) = at.get(&r.image) else { continue };
        e.strata[i] = r.label;
        let by_metric = e.values.entry(r.method).or_default();
        for k in metrics {
            let v = r.values.get(k).copied().filter(|v| v.is_finite());
            by_metric
                .entry(k.key().to_string())
                .or_insert_with(|| vec![None; chosen.len()])[i] = v;
        }
    }
    e
}

/// Reads a `per_image.csv` written by [`header`] and [`ImageRecord::to_csv_row`].
pub fn read(path: &Path) -> Result<PerImageFile, ScoreError> {
    let bytes = std::fs::read(path).map_err(|e| ScoreError::io(path, e))?;
    let text = String::from_utf8(bytes)
        .map_err(|e| parse_err(path, 1, format!("not UTF-8 text ({e})")))?;
    let (rows, complete_len) = parse_csv(&text).map_err(|e| parse_err(path, 1, e))?;
    let mut it = rows.into_iter();
    let Some((_, head)) = it.next() else {
        return Err(parse_err(
            path,
            1,
            "no header line: not a sarxai per_image.csv",
        ));
    };
    let ok_shape = head.len() > LEADING.len()
        && head[..LEADING.len()] == LEADING
        && head.last().map(String::as_str) == Some(TRAILING);
    if !ok_shape {
        return Err(parse_err(
            path,
            1,
            format!(
                "unexpected header {:?}: not a sarxai per_image.csv",
                head.join(",")
            ),
        ));
    }
    let metrics = head[LEADING.len()..head.len() - 1]
        .iter()
        .map(|k| k.parse::<Metric>().map_err(|e| parse_err(path, 1, e)))
        .collect::<Result<Vec<_>, _>>()?;
    let mut records = Vec::new();
    for (line, f) in it {
        if f.len() != head.len() {
            return Err(parse_err(
                path,
                line,
                format!("{} fields, the header has {}", f.len(), head.len()),
            ));
        }
        let int = |k: usize| -> Result<i64, ScoreError> {
            f[k].parse::<i64>().map_err(|_| {
                parse_err(
                    path,
                    line,
                    format!("{} = {:?} is not an integer", LEADING[k], f[k]),
                )
            })
        };
        let image = int(0)?;
        if image < 0 {
            return Err(parse_err(path, line, "negative image index"));
        }
        let method: Method = f[8]
            .parse()
            .map_err(|e: crate::attr::AttrError| parse_err(path, line, e.to_string()))?;
        let mut values = BTreeMap::new();
        for (k, m) in metrics.iter().enumerate() {
            let s = &f[LEADING.len() + k];
            let v: f64 = s.parse().map_err(|_| {
                parse_err(path, line, format!("{} = {s:?} is not a number", m.key()))
            })?;
            values.insert(*m, v);
        }
        records.push(ImageRecord {
            image: image as usize,
            member: f[1].clone(),
            file: f[2].clone(),
            label: int(3)?,
            label_name: f[4].clone(),
            predicted: int(5)?,
            predicted_name: f[6].clone(),
            target: int(7)?,
            method,
            values,
            model_hash: f[f.len() - 1].clone(),
        });
    }
    Ok(PerImageFile {
        metrics,
        records,
        complete_len,
        file_len: text.len(),
    })
}

/// Appends `rows` to `path` and syncs the data to disk (one image at a time, so an
/// interruption loses at most the image in progress). A failed write (a full disk) cuts
/// the file back to its length before the call, so it never ends in a torn row; a kill
/// mid-write can still leave one, which [`read`] finds and resuming cuts off.
pub fn append(path: &Path, rows: &str) -> Result<(), ScoreError> {
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(|e| ScoreError::io(path, e))?;
    let before = f.metadata().map_err(|e| ScoreError::io(path, e))?.len();
    let bytes = rows.as_bytes();
    let written = match crate::io::injected_fault(path) {
        // The fault hook: half the rows reach the file, then the disk is full.
        Err(e) => f.write_all(&bytes[..bytes.len() / 2]).and(Err(e)),
        Ok(()) => f.write_all(bytes),
    };
    if let Err(e) = written.and_then(|()| f.sync_data()) {
        let _ = f.set_len(before).and_then(|()| f.sync_data());
        return Err(ScoreError::io(path, e));
    }
    Ok(())
}

/// Cuts a torn last row off `path` (keeps the first `len` bytes).
pub fn truncate(path: &Path, len: usize) -> Result<(), ScoreError> {
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| ScoreError::io(path, e))?;
    f.set_len(len as u64)
        .and_then(|()| f.sync_all())
        .map_err(|e| ScoreError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(image: usize, method: Method, ms: f64) -> ImageRecord {
        ImageRecord {
            image,
            member: format!("a,\"b\"_{image}"),
            file: "dir/x.tif".into(),
            label: 1,
            label_name: "airport".into(),
            predicted: 2,
            predicted_name: "railway".into(),
            target: 1,
            method,
            values: [(Metric::MaxSensitivity, ms), (Metric::EntropyKb, f64::NAN)]
                .into_iter()
                .collect(),
            model_hash: "abc".into(),
        }
    }

    #[test]
    fn rows_round_trip_and_a_torn_row_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("per_image.csv");
        let metrics = [Metric::MaxSensitivity, Metric::EntropyKb];
        let a = rec(0, Method::Saliency, 0.1 + 0.2);
        let b = rec(1, Method::GradCam, 1e-17);
        let text = format!(
            "{}{}{}",
            header(&metrics),
            a.to_csv_row(&metrics),
            b.to_csv_row(&metrics)
        );
        std::fs::write(&p, format!("{text}3,\"tor")).unwrap();
        let f = read(&p).unwrap();
        assert_eq!(f.metrics, metrics);
        assert_eq!(f.records.len(), 2);
        assert_eq!(f.complete_len, text.len());
        assert_eq!(f.records[0].member, a.member);
        assert_eq!(f.records[0].values[&Metric::MaxSensitivity], 0.1 + 0.2);
        assert!(f.records[0].values[&Metric::EntropyKb].is_nan());
        assert_eq!(f.records[1].values[&Metric::MaxSensitivity], 1e-17);
        truncate(&p, f.complete_len).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), text);
    }

    #[test]
    fn foreign_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv");
        std::fs::write(&p, "a,b\n1,2\n").unwrap();
        let e = read(&p).unwrap_err().to_string();
        assert!(e.contains("not a sarxai per_image.csv"), "{e}");
    }
}
