//! A file of your own data (#35), as the CLI's `--data` and the page's file input get it: its
//! size checked before anything else, refused when it is not text, then read as the char LM's
//! text (`.txt`, or what the caller asks) or as a table (`data::read_table`).

use super::read_table::{TableOptions, read_table};
use crate::knobs::own::{Body, MAX_FILE_BYTES, check_text};

/// What a file is to be read as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// A CSV or pasted points.
    Table,
    /// A text for the char LM.
    Text,
}

impl FileKind {
    /// `.csv`, `.tsv` and `.dat` files are tables; any other is a text.
    pub fn of_name(name: &str) -> FileKind {
        let ext = name
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())
            .unwrap_or_default();
        match ext.as_str() {
            "csv" | "tsv" | "dat" => FileKind::Table,
            _ => FileKind::Text,
        }
    }
}

/// A file's size against the cap, before it is read (the page passes `File.size`).
pub fn check_size(bytes: u64) -> Result<(), String> {
    check_size_within(bytes, MAX_FILE_BYTES as u64)
}

/// [`check_size`] for a file named `name`: an experiment file (`link::bundle`) carries its data
/// deflated and in base64, which can come to a little more than the data itself.
pub fn check_named_size(name: &str, bytes: u64) -> Result<(), String> {
    match crate::link::bundle::is_experiment_file(name, b"") {
        true => check_size_within(bytes, crate::link::bundle::MAX_FILE_BYTES),
        false => check_size(bytes),
    }
}

fn check_size_within(bytes: u64, cap: u64) -> Result<(), String> {
    if bytes > cap {
        return Err(format!(
            "the file is {} against the cap of {}",
            megabytes(bytes),
            megabytes(cap)
        ));
    }
    if bytes == 0 {
        return Err("the file is empty".into());
    }
    Ok(())
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// The file's text, or why it is not one: a NUL byte or bytes that are not UTF-8 mean binary.
pub fn as_text(bytes: &[u8]) -> Result<&str, String> {
    check_size(bytes.len() as u64)?;
    if let Some(at) = bytes.iter().position(|&b| b == 0) {
        return Err(format!(
            "the file is binary (a NUL byte at offset {at}), not text"
        ));
    }
    std::str::from_utf8(bytes).map_err(|e| {
        format!(
            "the file is not UTF-8 text (byte {} is not valid UTF-8)",
            e.valid_up_to()
        )
    })
}

/// Reads a file's bytes as `kind`.
pub fn read_file(bytes: &[u8], kind: FileKind, opts: &TableOptions) -> Result<Body, String> {
    let text = as_text(bytes)?;
    match kind {
        FileKind::Table => Ok(Body::Table(read_table(text, opts)?)),
        FileKind::Text => {
            // One newline convention, so a file saved on Windows trains on the same symbols.
            let text = text.replace("\r\n", "\n");
            check_text(&text)?;
            Ok(Body::Text(text))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_empty_and_huge_files_are_refused_up_front() {
        let opts = TableOptions::default();
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        let err = read_file(png, FileKind::Table, &opts).unwrap_err();
        assert!(err.contains("binary"), "{err}");
        let latin1 = b"caf\xe9,1\n";
        assert!(
            read_file(latin1, FileKind::Table, &opts)
                .unwrap_err()
                .contains("UTF-8")
        );
        assert_eq!(
            read_file(b"", FileKind::Text, &opts).unwrap_err(),
            "the file is empty"
        );
        let err = check_size(50_000_000).unwrap_err();
        assert_eq!(err, "the file is 50.0 MB against the cap of 8.4 MB");
    }

    #[test]
    fn a_text_file_is_the_char_lms_with_one_newline_convention() {
        let body = read_file(b"to be,\r\nor not\r\n", FileKind::Text, &TableOptions::default()).unwrap();
        assert_eq!(body, Body::Text("to be,\nor not\n".into()));
        assert_eq!(FileKind::of_name("notes.TXT"), FileKind::Text);
        assert_eq!(FileKind::of_name("iris.csv"), FileKind::Table);
    }
}
