//! A deck: the experiments a talk steps through (`deck=`), each a preset id or a link, and the
//! slide on screen (`slide=`, from 1). The link holds both, so a speaker bookmarks a talk; ←/→
//! and a clicker's PageUp/PageDown step it. The list's text is `knobs::deck`'s; this is what
//! each item is.

use super::presets::{self, Preset};
use crate::vocab::clip;

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

/// Writes each preset item as its gallery id (`E4` → `e4`), so a deck reads back one way.
pub fn canonical(items: &mut [String]) {
    for i in items.iter_mut() {
        if let Item::Preset(p) = item(i) {
            *i = p.id.to_string();
        }
    }
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
            Item::Link(q)
                if pairs(q)
                    .iter()
                    .any(|(k, _)| k == crate::keys::DECK.name || k == crate::keys::SLIDE.name) =>
            {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knobs::deck::parse_list;

    #[test]
    fn bad_items_are_named() {
        let items = parse_list("e1,e99,task=xor").unwrap();
        let (at, why) = unknown_item(&items).unwrap();
        assert_eq!(at, 1);
        assert!(why.contains("'e99' is neither a preset id"), "{why}");
        let nested = parse_list("task%3Dxor%26deck%3De1").unwrap();
        assert!(unknown_item(&nested).unwrap().1.contains("cannot hold decks"));
    }

    #[test]
    fn a_presets_slide_runs_its_query_under_its_own_id() {
        let p = &presets::PRESETS[0];
        assert_eq!(query_of(p.id), p.query);
        assert_eq!(query_of("?task=xor"), "task=xor");
        let mut items = parse_list(&format!("{},task=xor", p.id.to_uppercase())).unwrap();
        canonical(&mut items);
        assert_eq!(items, [p.id.to_string(), "task=xor".to_string()]);
    }
}
