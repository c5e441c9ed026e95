//! A deck: the experiments a talk steps through (`deck=`), each a preset id or a link, and the
//! slide on screen (`slide=`, from 1). The link holds both, so a speaker bookmarks a talk; ←/→
//! and a clicker's PageUp/PageDown step it.
//!
//! The list is written with `,` between items; a link item is percent-encoded inside the list so
//! its own `&`, `=` and `,` (a sweep's values) survive: `deck=e1,task%3Dxor%26r%3D4`, which the
//! address bar shows encoded once more. A hand-typed `deck=e1,task=xor` still reads.

use super::presets::{self, Preset};
use crate::vocab::clip;

/// At most this many slides: a talk, not a batch job (each is a link the page parses).
pub const MAX_SLIDES: usize = 40;
/// The longest `deck=` value read (a link item is a few hundred characters at most).
pub const MAX_TEXT: usize = 8000;

/// One slide: a preset of the gallery or a link's query string (without `?`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Item<'a> {
    Preset(&'static Preset),
    Link(&'a str),
}

/// What the slide written as `item` is.
pub fn item(item: &str) -> Item<'_> {
    match presets::find(item) {
        Some(p) => Item::Preset(p),
        None => Item::Link(item.strip_prefix('?').unwrap_or(item)),
    }
}

/// The query string slide `item` runs.
pub fn query_of(item: &str) -> &str {
    match self::item(item) {
        Item::Preset(p) => p.query,
        Item::Link(q) => q,
    }
}

/// Reads a `deck=` value: its items, decoded and written the one way [`list_text`] writes them
/// (a preset by its id, a link without `?`), in order. Bad items are kept for [`unknown_item`] to
/// name and drop, so one typo does not lose the talk.
pub fn parse_list(text: &str) -> Result<Vec<String>, String> {
    let items: Vec<String> = text
        .split(',')
        .map(str::trim)
        .filter(|i| !i.is_empty())
        .map(|i| {
            let i = decode(i);
            match item(&i) {
                Item::Preset(p) => p.id.to_string(),
                Item::Link(q) => q.to_string(),
            }
        })
        .collect();
    if items.len() > MAX_SLIDES {
        return Err(format!(
            "at most {MAX_SLIDES} slides fit a deck, got {}",
            items.len()
        ));
    }
    Ok(items)
}

/// Writes a deck's items as the `deck=` value: preset ids as they are, links encoded.
pub fn list_text(items: &[String]) -> String {
    items
        .iter()
        .map(|i| match item(i) {
            Item::Preset(p) => p.id.to_string(),
            Item::Link(q) => encode(q),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The first item that is neither a preset id nor a link, with why.
pub fn unknown_item(items: &[String]) -> Option<(usize, String)> {
    items.iter().enumerate().find_map(|(at, text)| {
        let why = match item(text) {
            Item::Preset(_) => return None,
            Item::Link(q) if !q.contains('=') => format!(
                "'{}' is neither a preset id ({}, …) nor a link",
                clip(q),
                presets::PRESETS[0].id
            ),
            Item::Link(q) if pairs(q).iter().any(|(k, _)| k == "deck" || k == "slide") => {
                format!("slide {} is a deck itself; a deck cannot hold decks", at + 1)
            }
            Item::Link(_) => return None,
        };
        Some((at, why))
    })
}

/// The title slide `item` shows: the preset's, or `label` (its experiment's) for a link.
pub fn title(item: &str, label: &str) -> String {
    match self::item(item) {
        Item::Preset(p) => p.title.to_string(),
        Item::Link(_) => label.to_string(),
    }
}

/// The claim slide `item` shows under its title (a link has none of its own).
pub fn claim(item: &str) -> Option<&'static str> {
    match self::item(item) {
        Item::Preset(p) => Some(p.claim),
        Item::Link(_) => None,
    }
}

fn pairs(query: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str(query).unwrap_or_default()
}

/// Percent-decodes one list-encoded item (`%3D` → `=`). An item with a raw `=` or `&` is a link
/// pasted as it is (its own `%5E` stays for the link's reader), and one without escapes is a
/// preset id: both are returned as written.
fn decode(item: &str) -> String {
    if !item.contains('%') || item.contains('=') || item.contains('&') {
        return item.to_string();
    }
    // serde_urlencoded decodes a whole pair: give it the item as the value of one.
    serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("x={}", item.replace('+', "%2B")))
        .ok()
        .and_then(|mut p| p.pop())
        .map_or_else(|| item.to_string(), |(_, v)| v)
}

/// Percent-encodes a link item's `%`, `&`, `=`, `,` and `+` so the list can hold it.
fn encode(item: &str) -> String {
    let mut out = String::with_capacity(item.len() + 16);
    for c in item.chars() {
        match c {
            '%' => out.push_str("%25"),
            '&' => out.push_str("%26"),
            '=' => out.push_str("%3D"),
            ',' => out.push_str("%2C"),
            '+' => out.push_str("%2B"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_round_trip_through_the_list() {
        let items = vec!["e1".to_string(), "task=xor&sweep=r:1,2,4&lr=2^-7".to_string()];
        let text = list_text(&items);
        assert_eq!(text, "e1,task%3Dxor%26sweep%3Dr:1%2C2%2C4%26lr%3D2^-7");
        assert_eq!(parse_list(&text).unwrap(), items);
        // Typed by hand, unencoded (no commas inside the link), or pasted with its own escapes;
        // a preset in any case, a link with its `?`: written back one way.
        assert_eq!(
            parse_list("E4 , ?task=xor&r=4,?v=1&lr=2%5E-7").unwrap(),
            vec![
                "e4".to_string(),
                "task=xor&r=4".to_string(),
                "v=1&lr=2%5E-7".to_string()
            ]
        );
    }

    #[test]
    fn bad_items_are_named() {
        let items = parse_list("e1,e99,task=xor").unwrap();
        let (at, why) = unknown_item(&items).unwrap();
        assert_eq!(at, 1);
        assert!(why.contains("'e99' is neither a preset id"), "{why}");
        let nested = parse_list("task%3Dxor%26deck%3De1").unwrap();
        assert!(unknown_item(&nested).unwrap().1.contains("cannot hold decks"));
        assert!(parse_list(&vec!["e1"; MAX_SLIDES + 1].join(",")).is_err());
    }

    #[test]
    fn a_presets_slide_runs_its_query() {
        let p = &presets::PRESETS[0];
        assert_eq!(query_of(p.id), p.query);
        assert_eq!(query_of("?task=xor"), "task=xor");
    }
}
