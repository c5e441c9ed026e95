//! Data a person brings (#35), as plain data: a table of numeric features with a class or a
//! numeric target a row (2-D points clicked or pasted on the page are a table of two features on
//! the chart's plane), or a plain text for the char LM. Reading a file into it is `data::table`'s
//! and `data::own_text`'s job; this is what a run holds, what it is called, and how a link
//! writes it: inline (deflated, base64url) while that stays short, else by its content hash
//! (the page keeps the body in the browser's storage under it; the CLI takes it from `--data`).

use std::io::{Read, Write};
use std::sync::Arc;

use base64::Engine;
use sha2::Digest;

/// Rows a table may have (the trainer uploads them all; 20 k rows of 256 features is 20 MB).
pub const MAX_ROWS: usize = 20_000;
/// Feature columns a table may have.
pub const MAX_FEATURES: usize = 256;
/// Classes a classification target may have.
pub const MAX_CLASSES: usize = 64;
/// The largest text the char LM takes (the bundled corpus is 1.2 MB).
pub const MAX_TEXT_BYTES: usize = 4 << 20;
/// Distinct characters a text may have: the char LM's vocabulary (the bundled alphabet is 80).
pub const MAX_SYMBOLS: usize = 128;
/// The largest file read at all: a larger one is refused with its size before it is read.
pub const MAX_FILE_BYTES: usize = 8 << 20;
/// The longest `data=` value a link carries inline (about 300 points, or a CSV of a few
/// kilobytes); larger data is named by its hash. Links of 8 k characters open in every browser
/// and survive chat clients; this leaves room for the other keys.
pub const MAX_LINK_CHARS: usize = 6_000;
/// Characters of a hash as links write it (128 bits of SHA-256).
const HASH_HEX: usize = 32;
/// The prefixes of the two ways a link writes data.
const INLINE: &str = "z.";
const BY_HASH: &str = "h.";

/// Rows of a table that train and that validate: a seeded fifth (at least one row) validates
/// (`data::table`), the rest trains.
pub fn split(rows: usize) -> (usize, usize) {
    let val = (rows / 5).max(1).min(rows.saturating_sub(1));
    (rows - val, val)
}

/// What a table's rows predict.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Target {
    /// A class a row, an index into `names` (the labels as the file wrote them, sorted).
    Classes { labels: Vec<u16>, names: Vec<String> },
    /// A number a row (regression).
    Values(Vec<f32>),
}

/// Rows of numeric features and their targets.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Table {
    /// The feature columns' names (from the header, else `x1`, `x2`, …).
    pub features: Vec<String>,
    /// Row-major `[rows, features]`.
    pub x: Vec<f32>,
    pub target: Target,
    /// The target column's name.
    pub target_name: String,
    /// Points on the page's plane (clicked, or pasted as x, y, class): the inputs train as they
    /// are and the decision boundary is drawn over them. A CSV's features are standardised.
    pub plane: bool,
}

impl Table {
    pub fn rows(&self) -> usize {
        match &self.target {
            Target::Classes { labels, .. } => labels.len(),
            Target::Values(v) => v.len(),
        }
    }

    pub fn dim(&self) -> usize {
        self.features.len()
    }

    /// Classes of a classification target; 0 for regression.
    pub fn classes(&self) -> usize {
        match &self.target {
            Target::Classes { names, .. } => names.len(),
            Target::Values(_) => 0,
        }
    }

    /// Adds a point of class `class` (an index; a new one is named by its number) to a table of
    /// points on the plane, as a click on the chart does.
    pub fn push_point(&mut self, x: f32, y: f32, class: u16) -> Result<(), String> {
        let Target::Classes { labels, names } = &mut self.target else {
            return Err("points are added to a table of classes".into());
        };
        if !self.plane || self.features.len() != 2 {
            return Err("points are added to a table of points on the plane (x, y, class)".into());
        }
        if usize::from(class) >= MAX_CLASSES {
            return Err(format!("at most {MAX_CLASSES} classes are allowed"));
        }
        while names.len() <= usize::from(class) {
            names.push(names.len().to_string());
        }
        self.x.extend([x, y]);
        labels.push(class);
        Ok(())
    }

    /// Everything a table must be, whoever built it (a parser, a link, a stored file): sizes
    /// within the caps and consistent, values finite, labels in range.
    pub fn check(&self) -> Result<(), String> {
        let (rows, dim) = (self.rows(), self.dim());
        if rows < 2 {
            return Err(format!(
                "the data has {rows} row(s): at least 2 are needed, one to validate"
            ));
        }
        if rows > MAX_ROWS {
            return Err(format!(
                "the data has {rows} rows; at most {MAX_ROWS} are allowed"
            ));
        }
        if dim == 0 || dim > MAX_FEATURES {
            return Err(format!(
                "the data has {dim} feature columns; 1 to {MAX_FEATURES} are allowed"
            ));
        }
        if self.x.len() != rows * dim {
            return Err(format!(
                "the data's {} values do not fill {rows} rows of {dim}",
                self.x.len()
            ));
        }
        if self.x.iter().any(|v| !v.is_finite()) {
            return Err("the data holds a value that is not a finite number".into());
        }
        match &self.target {
            Target::Classes { labels, names } => {
                if names.len() < 2 || names.len() > MAX_CLASSES {
                    return Err(format!(
                        "the data has {} class(es); 2 to {MAX_CLASSES} are allowed",
                        names.len()
                    ));
                }
                if labels.iter().any(|&l| usize::from(l) >= names.len()) {
                    return Err("the data names a class it does not list".into());
                }
            }
            Target::Values(v) => {
                if v.iter().any(|t| !t.is_finite()) {
                    return Err("the data holds a target that is not a finite number".into());
                }
            }
        }
        Ok(())
    }
}

/// The data itself.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Body {
    Table(Table),
    /// A text for the char LM: its alphabet is its own distinct characters.
    Text(String),
}

impl Body {
    pub fn check(&self) -> Result<(), String> {
        match self {
            Body::Table(t) => t.check(),
            Body::Text(t) => check_text(t),
        }
    }

    /// "a table of 300 rows × 2 features, 3 classes", "a text of 12,345 characters".
    pub fn describe(&self) -> String {
        match self {
            Body::Table(t) => {
                let what = if t.plane { "points" } else { "rows" };
                let target = match t.classes() {
                    0 => format!("target {}", t.target_name),
                    k => format!("{k} classes"),
                };
                format!("{} {what} × {} features, {target}", t.rows(), t.dim())
            }
            Body::Text(t) => format!(
                "a text of {} characters, {} symbols",
                t.chars().count(),
                alphabet(t).len()
            ),
        }
    }
}

/// The distinct characters of `text`, sorted: the char LM's tokens on it.
pub fn alphabet(text: &str) -> Vec<char> {
    let mut seen: Vec<char> = text.chars().collect();
    seen.sort_unstable();
    seen.dedup();
    seen
}

/// A text the char LM can train on: within the caps, with a few symbols, long enough to draw
/// windows from.
pub fn check_text(text: &str) -> Result<(), String> {
    if text.len() > MAX_TEXT_BYTES {
        return Err(format!(
            "the text is {} bytes; at most {} are allowed",
            text.len(),
            MAX_TEXT_BYTES
        ));
    }
    let symbols = alphabet(text);
    if symbols.len() < 2 {
        return Err("the text has fewer than 2 distinct characters".into());
    }
    if symbols.len() > MAX_SYMBOLS {
        // Say which: the rarest symbols are the ones a person would drop or map.
        let mut by_char = std::collections::BTreeMap::<char, usize>::new();
        for c in text.chars() {
            *by_char.entry(c).or_default() += 1;
        }
        let mut counts: Vec<(usize, char)> = by_char.into_iter().map(|(c, n)| (n, c)).collect();
        counts.sort_unstable();
        let over = symbols.len() - MAX_SYMBOLS;
        let rarest: Vec<String> = counts
            .iter()
            .take(over.min(12))
            .map(|(n, c)| format!("{c:?} ×{n}"))
            .collect();
        return Err(format!(
            "the text has {} distinct characters; the char LM allows {MAX_SYMBOLS}. The rarest {over}: {}{}",
            symbols.len(),
            rarest.join(", "),
            if over > 12 { ", …" } else { "" }
        ));
    }
    Ok(())
}

/// Data a run trains on: its content hash, and the body where this machine has it (a link that
/// names data by hash opened elsewhere has none until the file is given).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct OwnData {
    hash: String,
    body: Option<Arc<Body>>,
    /// A text's distinct characters and its length in characters, counted once (configs ask
    /// for the vocabulary on every validation); 0 for a table or a body not here.
    symbols: usize,
    chars: usize,
}

/// Two handles are the same data when their hashes are.
impl PartialEq for OwnData {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash
    }
}

impl OwnData {
    /// Checked data with its hash.
    pub fn new(body: Body) -> Result<Self, String> {
        body.check()?;
        let (symbols, chars) = match &body {
            Body::Text(t) => (alphabet(t).len(), t.chars().count()),
            Body::Table(_) => (0, 0),
        };
        Ok(Self {
            hash: hash_of(&encode(&body)),
            body: Some(Arc::new(body)),
            symbols,
            chars,
        })
    }

    /// A text's distinct characters (its vocabulary); 0 for a table.
    pub fn symbols(&self) -> usize {
        self.symbols
    }

    /// A text's length in characters; 0 for a table.
    pub fn chars(&self) -> usize {
        self.chars
    }

    /// The content hash (hex), the name under which the page stores the body.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    pub fn body(&self) -> Option<&Body> {
        self.body.as_deref()
    }

    pub fn table(&self) -> Option<&Table> {
        match self.body()? {
            Body::Table(t) => Some(t),
            Body::Text(_) => None,
        }
    }

    pub fn text(&self) -> Option<&str> {
        match self.body()? {
            Body::Text(t) => Some(t),
            Body::Table(_) => None,
        }
    }

    /// Gives a hash-named handle its body: refused unless the body is the named data.
    pub fn resolve(&self, body: Body) -> Result<Self, String> {
        let found = Self::new(body)?;
        if found.hash != self.hash {
            return Err(format!(
                "the data given is not the link's (its hash is {}, the link names {}): another file, or the same read with another target column or as points",
                found.hash, self.hash
            ));
        }
        Ok(found)
    }

    /// The link's `data=` value: the body inline while it fits [`MAX_LINK_CHARS`], else its hash.
    pub fn link_text(&self) -> String {
        if let Some(inline) = self.body().and_then(inline_text) {
            return inline;
        }
        format!("{BY_HASH}{}", self.hash)
    }

    /// The link's `data=` value if the body rides inline (it fits [`MAX_LINK_CHARS`]).
    pub fn inline_link_text(&self) -> Option<String> {
        self.body().and_then(inline_text)
    }

    /// The body inline however long (the "experiment + data" file, which has no length cap).
    pub fn inline_text_uncapped(&self) -> Option<String> {
        self.body().map(|b| format!("{INLINE}{}", deflated(&encode(b))))
    }

    /// Whether a link's `data=` value names its data by hash (rather than carrying it).
    pub fn names_by_hash(text: &str) -> bool {
        text.starts_with(BY_HASH)
    }

    /// Reads a link's `data=` value.
    pub fn from_link(text: &str) -> Result<Self, String> {
        if let Some(hash) = text.strip_prefix(BY_HASH) {
            let hash = hash.to_ascii_lowercase();
            if hash.len() != HASH_HEX || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!(
                    "'{}' is not a data hash ({HASH_HEX} hex digits)",
                    crate::vocab::clip(text)
                ));
            }
            return Ok(Self {
                hash,
                body: None,
                symbols: 0,
                chars: 0,
            });
        }
        let Some(encoded) = text.strip_prefix(INLINE) else {
            return Err("the data must start with z. (inline) or h. (a hash)".into());
        };
        let damaged = |why: String| format!("the link's data is damaged ({why})");
        let packed = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(encoded.trim_end_matches('='))
            .map_err(|e| damaged(e.to_string()))?;
        let mut bytes = Vec::new();
        // Inflate at most a little over the largest body: a link cannot hold a zip bomb.
        flate2::read::DeflateDecoder::new(packed.as_slice())
            .take((MAX_FILE_BYTES + 1) as u64)
            .read_to_end(&mut bytes)
            .map_err(|e| damaged(e.to_string()))?;
        if bytes.len() > MAX_FILE_BYTES {
            return Err(damaged("it inflates past the size cap".into()));
        }
        let body: Body = postcard::from_bytes(&bytes).map_err(|e| damaged(e.to_string()))?;
        Self::new(body)
    }

    /// "a table of …" or "data h.… (not on this machine)".
    pub fn describe(&self) -> String {
        match self.body() {
            Some(b) => b.describe(),
            None => format!("data {BY_HASH}{} (not on this machine)", self.hash),
        }
    }
}

/// The canonical bytes of a body: what its hash and the link are of.
fn encode(body: &Body) -> Vec<u8> {
    // Serialising plain vectors, strings and numbers into memory cannot fail.
    postcard::to_allocvec(body).expect("a body serialises")
}

fn hash_of(bytes: &[u8]) -> String {
    let digest = sha2::Sha256::digest(bytes);
    digest
        .iter()
        .take(HASH_HEX / 2)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn deflated(bytes: &[u8]) -> String {
    let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing into a Vec cannot fail.
    z.write_all(bytes).expect("deflate into memory");
    let packed = z.finish().expect("deflate into memory");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(packed)
}

/// The body as a link writes it inline, if that is short enough.
fn inline_text(body: &Body) -> Option<String> {
    let bytes = encode(body);
    // Deflate rarely shrinks floats by more than half: skip the work when it cannot fit.
    if bytes.len() > MAX_LINK_CHARS * 2 {
        return None;
    }
    let text = format!("{INLINE}{}", deflated(&bytes));
    (text.len() <= MAX_LINK_CHARS).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(n: usize) -> Body {
        Body::Table(Table {
            features: vec!["x".into(), "y".into()],
            x: (0..2 * n).map(|i| (i as f32 * 0.37).sin()).collect(),
            target: Target::Classes {
                labels: (0..n).map(|i| (i % 3) as u16).collect(),
                names: vec!["a".into(), "b".into(), "c".into()],
            },
            target_name: "class".into(),
            plane: true,
        })
    }

    #[test]
    fn small_data_rides_in_the_link_and_comes_back_whole() {
        let data = OwnData::new(points(300)).unwrap();
        let text = data.link_text();
        assert!(text.starts_with(INLINE), "{text}");
        assert!(text.len() <= MAX_LINK_CHARS);
        let back = OwnData::from_link(&text).unwrap();
        assert_eq!(back, data);
        assert_eq!(back.body(), data.body());
    }

    #[test]
    fn large_data_is_named_by_its_hash() {
        let data = OwnData::new(points(5000)).unwrap();
        let text = data.link_text();
        assert_eq!(text, format!("h.{}", data.hash()));
        let named = OwnData::from_link(&text).unwrap();
        assert!(named.body().is_none());
        assert_eq!(named, data);
        assert!(named.resolve(points(5000)).is_ok());
        let other = named.resolve(points(4999)).unwrap_err();
        assert!(other.contains("not the link's"), "{other}");
    }

    #[test]
    fn damaged_or_hostile_link_data_is_refused_with_a_message() {
        for bad in ["", "z.", "z.!!!", "h.123", "q.abc", "z.AAAA"] {
            assert!(OwnData::from_link(bad).is_err(), "{bad}");
        }
        // A deflate stream of 100 MB of zeros: refused at the cap, not inflated whole.
        let bomb = deflated(&vec![0u8; 100 << 20]);
        let err = OwnData::from_link(&format!("z.{bomb}")).unwrap_err();
        assert!(err.contains("size cap"), "{err}");
        // Well-formed bytes of an inconsistent table are checked like a parsed file.
        let mut t = match points(10) {
            Body::Table(t) => t,
            Body::Text(_) => unreachable!(),
        };
        t.x.pop();
        let err = OwnData::from_link(&format!("z.{}", deflated(&encode(&Body::Table(t))))).unwrap_err();
        assert!(err.contains("do not fill"), "{err}");
    }

    #[test]
    fn a_text_with_too_many_symbols_names_the_rarest() {
        let mut text: String = (0..200u32)
            .filter_map(char::from_u32)
            .filter(|c| !c.is_control())
            .collect();
        text.push_str(&"abc".repeat(100));
        let err = check_text(&text).unwrap_err();
        assert!(err.contains("the char LM allows 128"), "{err}");
        assert!(err.contains("The rarest"), "{err}");
        assert!(check_text("to be or not to be").is_ok());
        assert!(check_text("aaaa").is_err());
    }
}
