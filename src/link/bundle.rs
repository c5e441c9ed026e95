//! The "experiment + data" file (#35): one text file that opens the same experiment on another
//! machine, in the page (dropped on it, or chosen in the Data group) and in the CLI
//! (`--open FILE`). It is the link with its data inline however long: a link carries at most
//! `own::MAX_LINK_CHARS` characters of data and names larger data by its hash, which only the
//! browser that stored it can run.

use super::study::Study;
use super::url;
use crate::keys;
use crate::knobs::own::OwnData;

/// The file's extension, which the page and the CLI recognise it by (besides its first line).
pub const EXTENSION: &str = "tinytune";

/// The largest experiment file read: its data deflated then in base64 (4/3), so high-entropy
/// data at the data's own cap can exceed that cap a little.
pub const MAX_FILE_BYTES: u64 = 2 * crate::knobs::own::MAX_FILE_BYTES as u64;

/// The file's first line, a comment saying what it is.
const FIRST_LINE: &str = "# tinytune experiment";

/// The file for `study`: a comment, then `?` and its link with the data inline.
pub fn write(study: &Study) -> String {
    let full = study
        .experiment
        .data
        .as_ref()
        .and_then(OwnData::inline_text_uncapped);
    let data = keys::DATA.name;
    // The data's value is base64url (never percent-encoded), so the segment is swapped as text.
    let query: Vec<String> = url::to_query(study)
        .split('&')
        .map(|segment| match (segment.split_once('='), &full) {
            (Some((k, _)), Some(full)) if k == data => format!("{k}={full}"),
            _ => segment.to_string(),
        })
        .collect();
    format!(
        "{FIRST_LINE} + data. Open it in the tinytune page (drop it on the page, or choose it under Data) or run it with: tinytune --open FILE\n?{}\n",
        query.join("&")
    )
}

/// Whether a file is an experiment file: by its extension, or by its first line.
pub fn is_experiment_file(name: &str, bytes: &[u8]) -> bool {
    name.to_ascii_lowercase().ends_with(&format!(".{EXTENSION}")) || bytes.starts_with(FIRST_LINE.as_bytes())
}

/// An experiment file, read: the link (its data named as a link names it: inline when it fits,
/// else by hash) and the data it carried.
#[derive(Clone, Debug)]
pub struct Opened {
    pub query: String,
    pub data: Option<OwnData>,
}

/// Reads an experiment file: the first line that is not a comment is the link (a whole address
/// or its query); its inline data is decoded and checked as a link's, without the link's cap.
pub fn read(text: &str) -> Result<Opened, String> {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .ok_or("the experiment file holds no link")?;
    let query = line.split_once('?').map_or(line, |(_, q)| q);
    let mut data = None;
    let mut segments = Vec::new();
    let mut seen = false;
    for segment in query.split('&') {
        let is_data = segment.split_once('=').is_some_and(|(k, _)| k == keys::DATA.name);
        if is_data && std::mem::replace(&mut seen, true) {
            // Each would be inflated and checked: one is all a link uses.
            return Err(format!(
                "the experiment file names {} more than once",
                keys::DATA.name
            ));
        }
        match segment.split_once('=') {
            Some((k, v)) if k == keys::DATA.name && !OwnData::names_by_hash(v) => {
                let found = OwnData::from_link(v).map_err(|e| format!("{k}: {e}"))?;
                segments.push(format!("{k}={}", found.link_text()));
                data = Some(found);
            }
            _ => segments.push(segment.to_string()),
        }
    }
    Ok(Opened {
        query: segments.join("&"),
        data,
    })
}
