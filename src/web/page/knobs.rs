//! Presenter mode's knob bar (#14): one slider per knob named by `knobs=`, over the values of
//! `link::ladder`, in large type. Moving one edits that key as a control would, so the run
//! restarts at once; the bar is rebuilt only when its knobs or their ladders change.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::JsCast;
use web_sys::{HtmlElement, HtmlInputElement};

use super::bus::Bus;
use super::dom;
use crate::keys;
use crate::link::{ladder, study::Study, url};
use crate::page::Msg;

/// Each knob's key, its ladder and where the link's value sits on it.
type Bar = Vec<(&'static str, Vec<String>, usize)>;

thread_local! {
    /// The bar as last built, so a redraw only moves the sliders.
    static BUILT: RefCell<Bar> = const { RefCell::new(Vec::new()) };
}

/// The bar for `study`. A knob whose value is on the ladder it was built with keeps that ladder,
/// so a ×2 step moves the thumb one notch instead of re-centring the ladder under it.
fn bar_of(study: &Study, built: &Bar) -> Bar {
    study
        .view
        .knobs
        .iter()
        .filter_map(|name| keys::key(name))
        .map(|key| {
            let current = url::value_text(study, key);
            let values = built
                .iter()
                .find(|(name, values, _)| *name == key.name && values.contains(&current))
                .map_or_else(|| ladder::ladder(key, &current), |(_, values, _)| values.clone());
            let at = values.iter().position(|v| *v == current).unwrap_or(0);
            (key.name, values, at)
        })
        .collect()
}

/// Shows the bar for `study` in presenter and embed mode (hidden otherwise).
pub fn show(bus: &Rc<Bus>, study: &Study) {
    let present = (study.view.present || study.view.embed) && !study.view.knobs.is_empty();
    dom::set_hidden("knob-bar", !present);
    if !present {
        return;
    }
    let bar = BUILT.with(|b| bar_of(study, &b.borrow()));
    let same = BUILT.with(|b| {
        let b = b.borrow();
        b.len() == bar.len() && b.iter().zip(&bar).all(|(x, y)| x.0 == y.0 && x.1 == y.1)
    });
    if !same {
        build(bus, &bar);
    }
    for (name, values, at) in &bar {
        let slider: HtmlInputElement = dom::el(&format!("knob-{name}"));
        slider.set_value(&at.to_string());
        dom::set_text(&format!("knob-{name}-value"), &values[*at]);
    }
    BUILT.with(|b| *b.borrow_mut() = bar);
}

fn build(bus: &Rc<Bus>, bar: &Bar) {
    let root: HtmlElement = dom::el("knob-bar");
    root.set_text_content(None);
    let doc = dom::document();
    for (name, values, _) in bar {
        let Some(key) = keys::key(name) else { continue };
        let (Ok(label), Ok(title), Ok(slider), Ok(value)) = (
            doc.create_element("label"),
            doc.create_element("span"),
            doc.create_element("input"),
            doc.create_element("output"),
        ) else {
            continue;
        };
        let _ = label.set_attribute("class", "knob");
        title.set_text_content(Some(key.label));
        let id = format!("knob-{name}");
        for (k, v) in [
            ("id", id.as_str()),
            ("type", "range"),
            ("min", "0"),
            ("max", &(values.len().saturating_sub(1)).to_string()),
            ("step", "1"),
            ("title", key.help),
        ] {
            let _ = slider.set_attribute(k, v);
        }
        let _ = value.set_attribute("id", &format!("{id}-value"));
        for child in [&title, &slider, &value] {
            let _ = label.append_child(child);
        }
        let _ = root.append_child(&label);
        let slider: HtmlInputElement = match slider.dyn_into() {
            Ok(s) => s,
            Err(_) => continue,
        };
        // While dragging, the value shows; on release (or an arrow key) the run restarts.
        let (shown, at_input) = (values.clone(), id.clone());
        dom::listen(&slider, "input", move |e| {
            if let Some(i) = e.target().and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
                && let Some(v) = i.value().parse::<usize>().ok().and_then(|k| shown.get(k))
            {
                dom::set_text(&format!("{at_input}-value"), v);
            }
        });
        let (bus, values, key) = (bus.clone(), values.clone(), key.name);
        dom::listen(&slider, "change", move |e| {
            if let Some(i) = e.target().and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
                && let Some(v) = i.value().parse::<usize>().ok().and_then(|k| values.get(k))
            {
                bus.send(Msg::Edit(vec![(key.to_string(), v.clone())]));
            }
        });
    }
}
