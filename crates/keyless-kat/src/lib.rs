//! Reader for keyless's known-answer files (`testdata/**/*.kat`, format in
//! `testdata/FORMAT.md`). Test-only: it panics with the file, record and field on any problem.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

/// The workspace's `testdata/` directory.
pub fn testdata_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata"))
}

/// A parsed `.kat` file.
#[derive(Debug)]
pub struct KatFile {
    /// The `# source:` lines, without the prefix.
    pub sources: Vec<String>,
    /// The records, in file order.
    pub records: Vec<Record>,
}

/// One record: `name = ...` followed by its fields.
#[derive(Debug, Clone)]
pub struct Record {
    /// File it came from (for messages).
    pub file: String,
    /// The record name.
    pub name: String,
    fields: Vec<(String, String)>,
}

/// Loads `testdata/<relative>`; panics if it is missing, malformed, or has no `# source:`.
pub fn load(relative: &str) -> KatFile {
    let path = testdata_dir().join(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let parsed = parse(relative, &text);
    assert!(!parsed.sources.is_empty(), "{relative}: no '# source:' line");
    assert!(!parsed.records.is_empty(), "{relative}: no records");
    parsed
}

/// Parses `.kat` text (see `testdata/FORMAT.md`).
pub fn parse(file: &str, text: &str) -> KatFile {
    let mut sources = Vec::new();
    let mut records: Vec<Record> = Vec::new();
    let mut current: Option<Record> = None;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end();
        if let Some(src) = line.strip_prefix("# source:") {
            sources.push(src.trim().to_string());
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        if line.is_empty() {
            records.extend(current.take());
            continue;
        }
        let (field, value) =
            line.split_once('=').unwrap_or_else(|| panic!("{file}:{}: expected 'field = value'", n + 1));
        let (field, value) = (field.trim().to_string(), value.trim().to_string());
        if field == "name" {
            records.extend(current.take());
            current = Some(Record { file: file.to_string(), name: value, fields: Vec::new() });
        } else {
            let rec = current.as_mut().unwrap_or_else(|| panic!("{file}:{}: field before 'name'", n + 1));
            assert!(!rec.has(&field), "{file}:{}: field {field} repeated", n + 1);
            rec.fields.push((field, value));
        }
    }
    records.extend(current);
    let mut names: Vec<&str> = records.iter().map(|r| r.name.as_str()).collect();
    names.sort_unstable();
    names.windows(2).for_each(|w| assert_ne!(w[0], w[1], "{file}: duplicate record name"));
    KatFile { sources, records }
}

impl Record {
    fn raw(&self, field: &str) -> &str {
        self.fields
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("{} [{}]: no field {field}", self.file, self.name))
    }

    /// Whether the record has `field`.
    pub fn has(&self, field: &str) -> bool {
        self.fields.iter().any(|(f, _)| f == field)
    }

    /// A byte field: quoted text as its UTF-8 bytes, otherwise hex.
    pub fn bytes(&self, field: &str) -> Vec<u8> {
        let v = self.raw(field);
        if let Some(text) = v.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
            return text.as_bytes().to_vec();
        }
        hex(v).unwrap_or_else(|| panic!("{} [{}]: field {field} is not hex: {v}", self.file, self.name))
    }

    /// A byte field of exactly N bytes.
    pub fn array<const N: usize>(&self, field: &str) -> [u8; N] {
        let b = self.bytes(field);
        b.as_slice()
            .try_into()
            .unwrap_or_else(|_| panic!("{} [{}]: {field} has {} bytes, want {N}", self.file, self.name, b.len()))
    }

    /// A quoted text field (or an unquoted word).
    pub fn text(&self, field: &str) -> String {
        let v = self.raw(field);
        v.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(v).to_string()
    }

    /// A decimal integer field.
    pub fn int<T: std::str::FromStr>(&self, field: &str) -> T {
        let v = self.raw(field);
        v.parse().unwrap_or_else(|_| panic!("{} [{}]: field {field} is not an integer: {v}", self.file, self.name))
    }
}

/// Lowercase or uppercase hex without separators; `None` if malformed.
pub fn hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_records_text_hex_and_ints() {
        let f = parse("t", "# source: here\n\nname = a\nx = \"hi\"\ny = 00ff\nz = 12\nempty =\n\nname = b\ny = 01\n");
        assert_eq!(f.sources, ["here"]);
        assert_eq!(f.records.len(), 2);
        let a = &f.records[0];
        assert_eq!(a.bytes("x"), b"hi");
        assert_eq!(a.bytes("y"), [0, 255]);
        assert_eq!(a.int::<u32>("z"), 12);
        assert!(a.bytes("empty").is_empty());
    }
}
