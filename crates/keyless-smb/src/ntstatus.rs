//! MS-ERREF 2.3.1's list of NTSTATUS values, names and descriptions, kept as the data file
//! `ntstatus.tsv` (extracted from public copies of the list; its header names them) and read
//! once into a sorted index, so that every status a server sends prints by name.

use std::sync::OnceLock;

const LIST: &str = include_str!("ntstatus.tsv");

/// One row of the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    /// The NTSTATUS value.
    pub value: u32,
    /// `STATUS_...` (a few are `DBG_...` or `RPC_P_...`).
    pub name: &'static str,
    /// MS-ERREF's description, as written there.
    pub description: &'static str,
}

/// Every row, sorted by value.
pub fn rows() -> &'static [Row] {
    static INDEX: OnceLock<Vec<Row>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut rows: Vec<Row> =
            LIST.lines().filter(|l| !l.starts_with('#') && !l.is_empty()).filter_map(parse).collect();
        rows.sort_by_key(|r| r.value);
        rows.dedup_by_key(|r| r.value);
        rows
    })
}

fn parse(line: &'static str) -> Option<Row> {
    let mut fields = line.splitn(3, '\t');
    let value = u32::from_str_radix(fields.next()?.strip_prefix("0x")?, 16).ok()?;
    Some(Row { value, name: fields.next()?, description: fields.next()?.trim() })
}

fn row(value: u32) -> Option<&'static Row> {
    let rows = rows();
    rows.binary_search_by_key(&value, |r| r.value).ok().map(|i| &rows[i])
}

/// The name MS-ERREF gives `value`.
pub fn name(value: u32) -> Option<&'static str> {
    row(value).map(|r| r.name)
}

/// MS-ERREF's description of `value` as a plain sentence: without the `{Title}` that starts
/// dialog-box texts (the title alone when nothing follows it), and none where the list has
/// only a placeholder.
pub fn meaning(value: u32) -> Option<&'static str> {
    plain(row(value)?.description)
}

fn plain(description: &'static str) -> Option<&'static str> {
    let text = match description.strip_prefix('{').and_then(|d| d.split_once('}')) {
        Some((title, rest)) if rest.split_whitespace().all(|w| w.starts_with('%')) => title,
        Some((_, rest)) => rest.trim(),
        None => description,
    };
    let placeholder = text == "No description" || text.split_whitespace().all(|w| w.starts_with('%'));
    (!placeholder).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NtStatus;

    #[test]
    fn every_listed_status_has_a_name_and_nearly_all_a_meaning() {
        let rows = rows();
        assert!(rows.len() > 1700, "{} rows", rows.len());
        let mut without_meaning = Vec::new();
        for r in rows {
            let status = NtStatus(r.value);
            assert_eq!(status.name(), Some(r.name), "{:#010X}", r.value);
            assert!(r.name.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'), "{}", r.name);
            assert_eq!(status.to_string(), r.name);
            match status.meaning() {
                Some(m) => assert!(!m.contains('\t') && !m.starts_with('{') && m.len() > 3, "{}: {m:?}", r.name),
                None => without_meaning.push(r.name),
            }
        }
        // The source gives these RPC rows and one format-only row no sentence; no more may join.
        assert_eq!(without_meaning.len(), 10, "{without_meaning:?}");
    }

    #[test]
    fn the_constants_agree_with_the_list() {
        for status in [
            NtStatus::SUCCESS,
            NtStatus::PENDING,
            NtStatus::NOTIFY_ENUM_DIR,
            NtStatus::BUFFER_OVERFLOW,
            NtStatus::MORE_PROCESSING_REQUIRED,
            NtStatus::INVALID_PARAMETER,
            NtStatus::NO_SUCH_FILE,
            NtStatus::END_OF_FILE,
            NtStatus::ACCESS_DENIED,
            NtStatus::OBJECT_NAME_NOT_FOUND,
            NtStatus::OBJECT_NAME_COLLISION,
            NtStatus::OBJECT_NAME_INVALID,
            NtStatus::INVALID_DEVICE_REQUEST,
            NtStatus::SHARING_VIOLATION,
            NtStatus::DELETE_PENDING,
            NtStatus::DISK_FULL,
            NtStatus::MEDIA_WRITE_PROTECTED,
            NtStatus::FILE_IS_A_DIRECTORY,
            NtStatus::DIRECTORY_NOT_EMPTY,
            NtStatus::NOT_A_DIRECTORY,
            NtStatus::NAME_TOO_LONG,
            NtStatus::CANNOT_DELETE,
            NtStatus::FILE_CLOSED,
            NtStatus::OBJECT_PATH_NOT_FOUND,
            NtStatus::LOGON_FAILURE,
            NtStatus::NOT_SUPPORTED,
            NtStatus::BAD_NETWORK_NAME,
            NtStatus::USER_SESSION_DELETED,
            NtStatus::NETWORK_SESSION_EXPIRED,
            NtStatus::CANCELLED,
            NtStatus::NO_MORE_FILES,
            NtStatus::PATH_NOT_COVERED,
        ] {
            assert_eq!(status.name(), name(status.0), "{status:?}");
        }
    }

    #[test]
    fn a_dfs_link_and_an_unlisted_value_print_by_name_and_in_hex() {
        let dfs = NtStatus(3_221_226_071);
        assert_eq!(dfs.to_string(), "STATUS_PATH_NOT_COVERED");
        assert_eq!(
            dfs.meaning(),
            Some("The contacted server does not support the indicated part of the DFS namespace.")
        );
        assert_eq!(
            NtStatus::ACCESS_DENIED.meaning().map(|m| m.starts_with("A process has requested access")),
            Some(true)
        );
        assert_eq!(NtStatus(0xC0FF_EE00).to_string(), "0xC0FFEE00");
        assert_eq!(NtStatus(0xC0FF_EE00).meaning(), None);
    }

    #[test]
    fn plain_drops_titles_and_placeholders() {
        assert_eq!(plain("{Access Denied} A process has requested access."), Some("A process has requested access."));
        assert_eq!(plain("{Title Only}"), Some("Title Only"));
        assert_eq!(plain("{Title} %hs"), Some("Title"));
        assert_eq!(plain("No description"), None);
        assert_eq!(plain("%hs"), None);
    }
}
