//! `Study` ⇄ query string: the link format of docs/ARCHITECTURE.md §5, a public interface.
//!
//! - versioned (`v=1`, always written first), short stable keys, defaults omitted;
//! - the page reads links leniently: every unknown key, bad value or out-of-range number becomes a
//!   [`LinkIssue`] saying what was used instead, and the rest of the link still applies;
//! - the CLI reads the same string strictly ([`parse_strict`]) and refuses it on any issue.
//!
//! The keys, their types and ranges are `keys`. table; percent-decoding and encoding go
//! through `serde_urlencoded`. This module owns only the reading policy.

use super::study::Study;
use super::sweep::Sweep;
use crate::keys::{self, KEYS, Key, Slot, VERSION};
use crate::knobs::own::OwnData;
use crate::vocab::clip;

/// Something in a link that could not be used as given.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkIssue {
    /// The key as written in the link (may be an unknown key).
    pub key: String,
    /// What was wrong and what was used instead, e.g. "lr: 'abc' is not a number; using 0.01".
    pub message: String,
}

impl std::fmt::Display for LinkIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// A link read leniently: the study to run and what had to be replaced.
#[derive(Clone, Debug, PartialEq)]
pub struct ParsedLink {
    pub study: Study,
    pub issues: Vec<LinkIssue>,
}

/// The link text of `key`'s value in `s`.
pub fn value_text(s: &Study, key: &Key) -> String {
    match &key.slot {
        Slot::Version => VERSION.to_string(),
        Slot::Experiment(a) => (a.get)(&s.experiment),
        Slot::View(a) => (a.get)(&s.view),
        Slot::Sweep if s.sweep.is_empty() => "no sweep".into(),
        Slot::Sweep => s.sweep.to_text(),
    }
}

/// Applies one key to `s`; an `Err` leaves `s` unchanged.
pub fn apply(s: &mut Study, key: &Key, value: &str) -> Result<(), String> {
    match &key.slot {
        Slot::Version => match value.trim().parse::<u32>() {
            Ok(VERSION) => Ok(()),
            Ok(v) => Err(format!(
                "link version {v} is not supported by this page (it reads {})",
                keys::V.is(&VERSION.to_string())
            )),
            Err(_) => Err(format!(
                "{}: '{}' is not a link version",
                keys::V.name,
                clip(value)
            )),
        },
        Slot::Experiment(_) => key.set_experiment(&mut s.experiment, value),
        Slot::View(_) => key.set_view(&mut s.view, value),
        Slot::Sweep => {
            key.check_len(value)?;
            s.sweep = Sweep::parse(value)?;
            Ok(())
        }
    }
}

/// Puts `base`'s value of `key` back into `s`.
fn reset(s: &mut Study, base: &Study, key: &Key) {
    match &key.slot {
        Slot::Sweep => s.sweep = base.sweep.clone(),
        // `base` is valid, so its own value always applies.
        _ => {
            let _ = apply(s, key, &value_text(base, key));
        }
    }
}

/// At most this many problems are listed; a hostile link must not flood the page.
pub const MAX_ISSUES: usize = 10;

/// Reads a link (with or without the leading `?`) leniently: the page's entry point. A deck's
/// link is its slide's experiment with the link's other keys on top (what changed on the slide).
pub fn parse(query: &str) -> ParsedLink {
    parse_holding(query, None)
}

/// [`parse`] where this machine holds `held` (the page's stored file, an experiment file's data):
/// a link naming that data by hash runs with it.
pub fn parse_holding(query: &str, held: Option<&OwnData>) -> ParsedLink {
    let query = query.strip_prefix('?').unwrap_or(query);
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    let deck_keys: Vec<&(String, String)> = pairs
        .iter()
        .filter(|(k, _)| k == keys::DECK.name || k == keys::SLIDE.name)
        .collect();
    if !deck_keys.iter().any(|(k, _)| k == keys::DECK.name) {
        return parse_onto_holding(&Study::default(), query, held);
    }
    let only = serde_urlencoded::to_string(&deck_keys).unwrap_or_default();
    let deck = parse_onto(&Study::default(), &only).study.view;
    if deck.deck.is_empty() {
        return parse_onto_holding(&Study::default(), query, held);
    }
    let (base, mut issues) = slide_study(&deck);
    let mut parsed = parse_onto_holding(&base, query, held);
    issues.append(&mut parsed.issues);
    parsed.issues = cap_issues(issues);
    parsed
}

/// Slide `view.slide` of `view.deck` on its own: its experiment, sweep and view, without the deck
/// (a link of a deck writes what differs from it), and what its link could not use.
pub fn slide_study(view: &crate::knobs::view::View) -> (Study, Vec<LinkIssue>) {
    let Some(item) = view.slide.checked_sub(1).and_then(|i| view.deck.get(i)) else {
        return (Study::default(), Vec::new());
    };
    // `parse_onto`, not `parse`: a deck inside a slide is never followed (and was refused).
    let mut parsed = parse_onto(&Study::default(), super::deck::query_of(item));
    parsed.study.view.deck.clear();
    parsed.study.view.slide = 1;
    let issues = parsed
        .issues
        .into_iter()
        .map(|i| LinkIssue {
            key: i.key,
            message: format!("slide {}: {}", view.slide, i.message),
        })
        .collect();
    (parsed.study, issues)
}

/// Reads `query` on top of `base` (a valid study): keys it names replace base's values, and a
/// value that cannot be used keeps base's. The page reads its controls this way, so a typo in one
/// box keeps that box's previous value.
pub fn parse_onto(base: &Study, query: &str) -> ParsedLink {
    parse_onto_holding(base, query, None)
}

/// [`parse_onto`] where this machine also holds `held` (see [`parse_holding`]).
pub fn parse_onto_holding(base: &Study, query: &str, held: Option<&OwnData>) -> ParsedLink {
    let query = query.strip_prefix('?').unwrap_or(query);
    let mut study = base.clone();
    let mut issues = Vec::new();
    let mut issue = |key: &str, message: String| {
        issues.push(LinkIssue {
            key: clip(key),
            message,
        })
    };

    let pairs: Vec<(String, String)> = match serde_urlencoded::from_str(query) {
        Ok(p) => p,
        Err(e) => {
            issue(
                "",
                format!("the link could not be read ({e}); using the defaults"),
            );
            Vec::new()
        }
    };

    let mut seen: Vec<&str> = Vec::new();
    for (name, value) in &pairs {
        let Some(key) = keys::key(name) else {
            if name.is_empty() {
                // A doubled '&' carries nothing; a value without its key is a broken link.
                if !value.is_empty() {
                    issue(
                        "",
                        format!("a value without a key ('={}') was ignored", clip(value)),
                    );
                }
            } else {
                issue(name, format!("unknown key '{}' was ignored", clip(name)));
            }
            continue;
        };
        if seen.contains(&key.name) {
            issue(
                name,
                format!("{name} is given more than once; using the last value"),
            );
        }
        seen.push(key.name);
        if matches!(key.slot, Slot::Version) {
            // Read as this version whatever it says: the page still runs what it can.
            if let Err(msg) = apply(&mut study, key, value) {
                issue(
                    name,
                    format!("{msg}; reading it as {}", keys::V.is(&VERSION.to_string())),
                );
            }
            continue;
        }
        if let Err(msg) = apply(&mut study, key, value) {
            // Reset too, so "using …" is true even when an earlier duplicate of the key applied.
            reset(&mut study, base, key);
            issue(name, format!("{name}: {msg}; using {}", value_text(base, key)));
        }
    }
    // Data the link names by hash is what this machine holds under that hash (the page's stored
    // file, the CLI's --data, an experiment file's): the link then runs with it here.
    if let Some(named) = &study.experiment.data
        && named.body().is_none()
    {
        let holding = [held, base.experiment.data.as_ref()];
        let same = holding
            .into_iter()
            .flatten()
            .find(|d| d.hash() == named.hash() && d.body().is_some());
        if let Some(found) = same {
            study.experiment.data = Some(found.clone());
        } else if let Some(body) = base.experiment.data.as_ref().and_then(|d| d.body()) {
            // Read with other options (a target column, points), or another file.
            if let Err(e) = named.resolve(body.clone()) {
                issue(keys::DATA.name, format!("{}: {e}", keys::DATA.name));
            }
        }
    }

    // A deck's slide must be a preset or a link; the others are dropped, and the slide stays in it.
    let (deck, slide) = (&keys::DECK, &keys::SLIDE);
    while let Some((at, message)) = super::deck::unknown_item(&study.view.deck) {
        study.view.deck.remove(at);
        issue(deck.name, format!("{}: {message}; it was left out", deck.name));
    }
    super::deck::canonical(&mut study.view.deck);
    let slides = study.view.deck.len();
    if study.view.slide > slides.max(1) {
        if slides > 0 {
            issue(
                slide.name,
                format!(
                    "slide {} is past the deck's {slides} slides; using {slides}",
                    study.view.slide
                ),
            );
        }
        if slides == 0 {
            issue(
                slide.name,
                format!("{}: the link has no {}=; ignored", slide.name, deck.name),
            );
        }
        study.view.slide = slides.max(1);
    }
    // A presenter's knob must be a knob with a ladder of values; the others are dropped.
    while let Some((at, message)) = super::ladder::unknown_knob(&study.view.knobs) {
        study.view.knobs.remove(at);
        let shown = if study.view.knobs.is_empty() {
            "none".to_string()
        } else {
            study.view.knobs.join(",")
        };
        issue(
            keys::KNOBS.name,
            format!("{}: {message}; using {shown}", keys::KNOBS.name),
        );
    }
    // A rank above every adapted layer's full rank only adds parameters (ΔW = B·A of an in×out
    // layer has rank ≤ min(in, out)): use the largest full rank, and say so.
    let e = &mut study.experiment;
    if let (Some(r), Some(full)) = (e.lora.rank.adapter(), e.full_adapter_rank())
        && r > full
    {
        e.lora.rank = crate::knobs::lora::Rank::of(full);
        issue(
            keys::R.name,
            format!(
                "{}: rank {r} is above the full rank of every adapted layer (at most {full}: an in×out layer's ΔW \
                 has rank ≤ min(in, out)); using {full}",
                keys::R.name
            ),
        );
    }
    // Range checks after all keys are in, so a message names the value that was actually asked for.
    if let Err(errs) = crate::experiment::validate(&study.experiment) {
        for e in errs {
            let key = e.key;
            let before = value_text(&study, key);
            reset(&mut study, base, key);
            if value_text(&study, key) == before {
                // The key was already at its previous value: another key made the clash, and the
                // replacements below say which.
                issue(key.name, e.to_string());
            } else {
                issue(key.name, format!("{e}; using {}", value_text(base, key)));
            }
        }
        if crate::experiment::validate(&study.experiment).is_err() {
            // Several keys together made the config invalid (a model too big, a warm-up without
            // its schedule): fall back to the base's values of the keys that size the run.
            let mut replaced = Vec::new();
            for key in KEYS.iter().filter(|k| k.sizes) {
                let before = value_text(&study, key);
                reset(&mut study, base, key);
                let after = value_text(&study, key);
                if after != before {
                    replaced.push(key.is(&after));
                }
            }
            if !replaced.is_empty() {
                issue(
                    "",
                    format!(
                        "the values left still did not fit together; using {}",
                        replaced.join(", ")
                    ),
                );
            }
        }
        if crate::experiment::validate(&study.experiment).is_err() {
            // What is left still does not fit together: the base experiment, which does.
            study.experiment = base.experiment.clone();
            let shown = if base.experiment == crate::knobs::ExperimentConfig::default() {
                "the defaults"
            } else {
                "the previous values"
            };
            issue(
                "",
                format!("the link's values do not fit together even with those replaced; using {shown}"),
            );
        }
    }
    if let Some(message) = study.sweep.drop_ranks_above_full(&study.experiment) {
        issue(keys::SWEEP.name, message);
    }
    // The sweep is checked against the final base config: value ranges and the work cap.
    if let Err(msg) = study.sweep.expand(&study.experiment) {
        study.sweep = base.sweep.clone();
        if study.sweep.expand(&study.experiment).is_err() {
            study.sweep = Sweep::default();
        }
        let shown = if study.sweep.is_empty() {
            "no sweep".to_string()
        } else {
            study.sweep.to_text()
        };
        issue(
            keys::SWEEP.name,
            format!("{}: {msg}; using {shown}", keys::SWEEP.name),
        );
    }
    ParsedLink {
        study,
        issues: cap_issues(issues),
    }
}

/// At most [`MAX_ISSUES`] problems, the last one counting those left out.
fn cap_issues(mut issues: Vec<LinkIssue>) -> Vec<LinkIssue> {
    if issues.len() > MAX_ISSUES {
        let more = issues.len() - (MAX_ISSUES - 1);
        issues.truncate(MAX_ISSUES - 1);
        issues.push(LinkIssue {
            key: String::new(),
            message: format!("… and {more} more problems in this link"),
        });
    }
    issues
}

/// Reads a link strictly: the CLI's entry point. Any issue refuses the whole link.
pub fn parse_strict(query: &str) -> Result<Study, Vec<LinkIssue>> {
    strict(parse(query))
}

/// [`parse_strict`] on top of `base`: the CLI's with `--data`, whose base holds the file's data.
pub fn parse_strict_onto(base: &Study, query: &str) -> Result<Study, Vec<LinkIssue>> {
    strict(parse_onto(base, query))
}

fn strict(parsed: ParsedLink) -> Result<Study, Vec<LinkIssue>> {
    if parsed.issues.is_empty() {
        Ok(parsed.study)
    } else {
        Err(parsed.issues)
    }
}

/// The hash `query` names its data by, if it names it so (`data=h.…`).
pub fn data_hash_named(query: &str) -> Option<String> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query.strip_prefix('?').unwrap_or(query)).unwrap_or_default();
    let (_, value) = pairs.iter().rev().find(|(k, _)| k == keys::DATA.name)?;
    let named = OwnData::from_link(value).ok().filter(|d| d.body().is_none())?;
    Some(named.hash().to_string())
}

/// Writes the link for `s`: `v=1` first, then every non-default key in table order. In a deck,
/// "default" is the slide's own link: the link names the deck, the slide and what changed on it.
pub fn to_query(s: &Study) -> String {
    let d = if s.view.deck.is_empty() {
        Study::default()
    } else {
        slide_study(&s.view).0
    };
    let mut pairs: Vec<(&str, String)> = vec![(keys::V.name, VERSION.to_string())];
    for key in KEYS {
        let value = value_text(s, key);
        if value != value_text(&d, key) {
            // No sweep on a slide that has one: an empty `sweep=` (the text "no sweep" is for people).
            let empty_sweep = matches!(key.slot, Slot::Sweep) && s.sweep.is_empty();
            pairs.push((key.name, if empty_sweep { String::new() } else { value }));
        }
    }
    // Values are plain text, so encoding cannot fail.
    serde_urlencoded::to_string(&pairs).unwrap_or_else(|_| keys::V.is(&VERSION.to_string()))
}

/// `query` as a link of this version: `v=1&` before it (a preset's link, the gallery's and the
/// CLI's).
pub fn with_version(query: &str) -> String {
    format!("{}&{query}", keys::V.is(&VERSION.to_string()))
}

/// The preset whose experiment and sweep `s` runs (the view aside), if any.
pub fn preset_of(s: &Study) -> Option<&'static super::presets::Preset> {
    super::presets::PRESETS.iter().find(|p| {
        let p = parse(p.query).study;
        p.experiment == s.experiment && p.sweep == s.sweep
    })
}

/// The deck item of `s`'s experiment and sweep: the preset's id when it is one, else its link.
pub fn deck_item(s: &Study) -> String {
    if let Some(p) = preset_of(s) {
        return p.id.to_string();
    }
    let own = Study {
        view: Default::default(),
        ..s.clone()
    };
    let q = to_query(&own);
    q.strip_prefix(&format!("{}&", keys::V.is(&VERSION.to_string())))
        .unwrap_or(&q)
        .to_string()
}

/// The link of one run: its experiment with the default view and no sweep (the CLI's and the
/// exports' `link` column).
pub fn experiment_query(cfg: &crate::knobs::ExperimentConfig) -> String {
    to_query(&Study::of(cfg.clone()))
}
