//! The page's elements: controls ⇄ config, messages, status text. User-controlled text only ever
//! goes in through `textContent` / `value`, never as HTML.

use wasm_bindgen::JsCast;
use web_sys::{Document, Element, HtmlElement, HtmlInputElement, HtmlSelectElement};

use crate::keys::{self, Control, Range, Slot, Ty};
use crate::link::study::Study;
use crate::page::{Level, Message};
use crate::vocab::format_number;

pub fn document() -> Document {
    web_sys::window()
        .and_then(|w| w.document())
        .expect("tinytune runs in a page with a document")
}

/// An element of index.html by id. Missing ids are a build mistake, not user input.
pub fn el<T: JsCast>(id: &str) -> T {
    document()
        .get_element_by_id(id)
        .unwrap_or_else(|| panic!("index.html lacks #{id}"))
        .dyn_into::<T>()
        .unwrap_or_else(|_| panic!("#{id} has an unexpected element type"))
}

/// Sets `id`'s text. Views redraw every frame; writing only what changed spares the browser
/// re-laying-out text that stayed the same.
pub fn set_text(id: &str, text: &str) {
    let node = el::<Element>(id);
    if node.text_content().as_deref() != Some(text) {
        node.set_text_content(Some(text));
    }
}

/// A `data-*` attribute on `#app`: the state tests and the benchmark read (written when it changes).
pub fn set_data(key: &str, value: &str) {
    let data = el::<HtmlElement>("app").dataset();
    if data.get(key).as_deref() != Some(value) {
        let _ = data.set(key, value);
    }
}

/// Turns class `class` on `id` on or off.
pub fn set_class(id: &str, class: &str, on: bool) {
    let list = el::<Element>(id).class_list();
    if list.contains(class) != on {
        let _ = list.toggle_with_force(class, on);
    }
}

pub fn set_hidden(id: &str, hidden: bool) {
    let node = el::<HtmlElement>(id);
    if node.hidden() != hidden {
        node.set_hidden(hidden);
    }
}

/// Replaces the rows of `#runs-table` (cells as text, never HTML); `class` marks a row's status.
pub fn set_table_rows(rows: &[(String, Vec<String>)]) {
    let body = el::<Element>("runs-table")
        .query_selector("tbody")
        .ok()
        .flatten()
        .expect("#runs-table has a tbody");
    body.set_text_content(None);
    for (class, cells) in rows {
        let tr = document().create_element("tr").expect("create tr");
        tr.set_class_name(class);
        for c in cells {
            let td = document().create_element("td").expect("create td");
            td.set_text_content(Some(c));
            let _ = tr.append_child(&td);
        }
        let _ = body.append_child(&tr);
    }
}

fn level_class(level: Level) -> &'static str {
    match level {
        Level::Info => "info",
        Level::Warning => "warning",
        Level::Error => "error",
    }
}

/// Adds one message (as text) without touching the others: for the shell's own notices
/// (copy-link, export failures) that are not page state.
pub fn push_message(level: Level, text: &str) {
    let li = document().create_element("li").expect("create li");
    li.set_class_name(level_class(level));
    li.set_text_content(Some(text));
    let _ = el::<Element>("messages").append_child(&li);
}

/// Shows the page's messages, replacing what was there.
pub fn show_messages(messages: &[Message]) {
    el::<Element>("messages").set_text_content(None);
    for m in messages {
        push_message(m.level, &m.text);
    }
}

/// Ids of the controls, which are the link keys of the table.
pub fn control_keys() -> impl Iterator<Item = &'static str> {
    keys::controls().map(|k| k.name)
}

/// Builds every control from the key table into its fieldset: a label with a select (options),
/// a number box (limits), a text box or a check box, and the key's help as its tooltip. One
/// source of names and limits for links, CLI, README and page.
pub fn build_controls() {
    let doc = document();
    for key in keys::controls() {
        let (Ok(label), Ok(control)) = (
            doc.create_element("label"),
            doc.create_element(if key.control() == Control::Select {
                "select"
            } else {
                "input"
            }),
        ) else {
            continue;
        };
        let _ = control.set_attribute("id", key.name);
        let _ = control.set_attribute("title", key.help);
        match key.control() {
            Control::Select => {
                if let Ty::Choice(choices) = key.ty {
                    for (value, text) in choices() {
                        let Ok(opt) = doc.create_element("option") else {
                            continue;
                        };
                        let _ = opt.set_attribute("value", value);
                        opt.set_text_content(Some(text));
                        let _ = control.append_child(&opt);
                    }
                }
            }
            Control::Number => {
                let _ = control.set_attribute("type", "number");
                let _ = control.set_attribute("step", "1");
                let (lo, hi) = match key.range {
                    Some(Range::Count(lo, hi)) => (lo.to_string(), Some(hi.to_string())),
                    Some(Range::Number(lo, hi)) => (format_number(lo), Some(format_number(hi))),
                    None => ("0".to_string(), None),
                };
                let _ = control.set_attribute("min", &lo);
                if let Some(hi) = hi {
                    let _ = control.set_attribute("max", &hi);
                }
            }
            Control::Text => {
                let _ = control.set_attribute("type", "text");
                let _ = control.set_attribute("spellcheck", "false");
                match key.ty {
                    Ty::Number => {
                        let _ = control.set_attribute("inputmode", "decimal");
                    }
                    Ty::Optional(none) => {
                        let _ = control.set_attribute("inputmode", "numeric");
                        let _ = control.set_attribute("placeholder", none);
                    }
                    _ => {}
                }
                if matches!(key.slot, Slot::Sweep) {
                    let _ = control.set_attribute("placeholder", "lr:2^-10..2^-4*2;w:16,64");
                }
            }
            Control::Check => {
                let _ = control.set_attribute("type", "checkbox");
                label.set_class_name("check");
            }
        }
        // A check box reads "☐ label"; the others "label [control]" (the label's flex gap spaces them).
        // (A span, not a text node: web-sys's Text feature would rebuild wgpu for one call.)
        let Ok(text) = doc.create_element("span") else {
            continue;
        };
        text.set_text_content(Some(key.label));
        if key.control() == Control::Check {
            let _ = label.append_child(&control);
            let _ = label.append_child(&text);
        } else {
            let _ = label.append_child(&text);
            let _ = label.append_child(&control);
        }
        let group = el::<Element>(key.group.id());
        // In the Run fieldset the controls go above the buttons.
        let buttons = group.query_selector(".buttons").ok().flatten();
        let _ = group.insert_before(&label, buttons.as_ref().map(|b| b.as_ref()));
    }
    build_presets();
    build_chart_tools();
}

/// Each chart's own PNG and SVG buttons, in its figure's corner (one click handler on the charts
/// reads `data-chart` and `data-format`).
fn build_chart_tools() {
    let doc = document();
    for chart in crate::report::Chart::ALL {
        let Some(figure) = doc.get_element_by_id(&format!("fig-{}", chart.name())) else {
            continue;
        };
        let Ok(tools) = doc.create_element("div") else {
            continue;
        };
        tools.set_class_name("fig-tools");
        for (format, label) in [("png", "PNG"), ("svg", "SVG")] {
            let Ok(b) = doc.create_element("button") else {
                continue;
            };
            let _ = b.set_attribute("type", "button");
            let _ = b.set_attribute("data-chart", chart.name());
            let _ = b.set_attribute("data-format", format);
            let _ = b.set_attribute("title", &format!("Save “{}” as {label}", chart.title()));
            b.set_text_content(Some(label));
            let _ = tools.append_child(&b);
        }
        let _ = figure.append_child(&tools);
    }
}

/// The gallery: one entry per preset, a plain link (opening it runs the experiment). Texts are
/// ours, but they still go in as text, never as HTML.
fn build_presets() {
    let list = el::<Element>("preset-list");
    list.set_text_content(None);
    for p in crate::link::presets::PRESETS {
        let doc = document();
        let (Ok(li), Ok(a), Ok(claim), Ok(expect)) = (
            doc.create_element("li"),
            doc.create_element("a"),
            doc.create_element("p"), // not a link key: an HTML paragraph
            doc.create_element("p"), // not a link key: an HTML paragraph
        ) else {
            continue;
        };
        let _ = a.set_attribute("href", &format!("?{}", crate::link::url::with_version(p.query)));
        let _ = a.set_attribute("data-preset", p.id);
        a.set_text_content(Some(p.title));
        claim.set_text_content(Some(p.claim));
        expect.set_text_content(Some(&format!("What you should see: {}", p.expect)));
        for child in [&a, &claim, &expect] {
            let _ = li.append_child(child);
        }
        let _ = list.append_child(&li);
    }
}

/// Shows the preset's claim and expectation when the page runs exactly a preset's experiment
/// and sweep (the view aside); hides it once a knob makes it a new experiment.
fn show_preset_note(study: &Study) {
    let current = crate::link::url::preset_of(study);
    set_hidden("preset-note", current.is_none());
    if let Some(p) = current {
        set_text("preset-title", p.title);
        set_text("preset-claim", p.claim);
        set_text("preset-expect", p.expect);
    }
}

thread_local! {
    /// The task the groups were last opened for: a new task opens the groups that matter to it
    /// and closes the rest; within a task a group a person opened stays open.
    static GROUPS_TASK: std::cell::Cell<Option<crate::knobs::task::Task>> =
        const { std::cell::Cell::new(None) };
}

/// Shows the groups the study has, opens those it uses, and disables every knob that changes
/// nothing in its runs, with the reason on the knob and in its group.
fn show_what_applies(study: &Study) {
    use crate::keys::Group;
    use crate::link::applies;
    let task = study.experiment.task;
    let new_task = GROUPS_TASK.with(|t| t.replace(Some(task))) != Some(task);
    let uses = applies::Uses::of(study);
    for group in Group::ALL {
        set_hidden(group.id(), !uses.group_shown(group));
        let node = el::<Element>(group.id());
        if node.tag_name().eq_ignore_ascii_case("details") {
            let matters = uses.group_matters(group);
            if matters {
                let _ = node.set_attribute("open", "");
            } else if new_task {
                let _ = node.remove_attribute("open");
            }
        }
        // The reasons once per group: "LoRA α, γ rule: there is no adaptation phase: set a rank r".
        let mut reasons: Vec<(&str, Vec<&str>)> = Vec::new();
        for key in keys::controls().filter(|k| k.group == group) {
            let why = uses.unused(key);
            let control = el::<Element>(key.name);
            if let Some(i) = control.dyn_ref::<HtmlInputElement>() {
                i.set_disabled(why.is_some());
            } else if let Some(s) = control.dyn_ref::<HtmlSelectElement>() {
                s.set_disabled(why.is_some());
            }
            if let Ok(Some(label)) = control.closest("label") {
                let _ = label.class_list().toggle_with_force("na", why.is_some());
                match why {
                    Some(why) => {
                        let _ = label.set_attribute("title", &format!("Changes nothing here: {why}"));
                    }
                    None => {
                        let _ = label.remove_attribute("title");
                    }
                }
            }
            if let Some(why) = why {
                match reasons.iter_mut().find(|(r, _)| *r == why) {
                    Some((_, labels)) => labels.push(key.label),
                    None => reasons.push((why, vec![key.label])),
                }
            }
        }
        if let Ok(Some(note)) = node.query_selector(".group-why") {
            let text: Vec<String> = reasons
                .iter()
                .map(|(why, labels)| format!("{}: {why}.", labels.join(", ")))
                .collect();
            note.set_text_content(Some(&text.join("\n")));
            let _ = note.toggle_attribute_with_force("hidden", text.is_empty());
        }
    }
}

/// Writes the study into the controls, key by key from the table.
pub fn write_controls(study: &Study) {
    for key in keys::controls() {
        let text = crate::link::url::value_text(study, key);
        let node = el::<Element>(key.name);
        match key.control() {
            Control::Check => {
                if let Some(i) = node.dyn_ref::<HtmlInputElement>() {
                    i.set_checked(text == "1");
                }
            }
            _ => {
                // An absent optional value shows as an empty box (its placeholder names it).
                let shown = match (key.ty, &key.slot) {
                    (Ty::Optional(none), _) if text == none => "",
                    (_, Slot::Sweep) if study.sweep.is_empty() => "",
                    _ => text.as_str(),
                };
                if let Some(s) = node.dyn_ref::<HtmlSelectElement>() {
                    s.set_value(shown);
                } else if let Some(i) = node.dyn_ref::<HtmlInputElement>() {
                    i.set_value(shown);
                }
            }
        }
    }
    show_preset_note(study);
    show_what_applies(study);
    // The shift's choices say what each does to this task ("copy becomes reverse").
    use crate::vocab::Named;
    let options = el::<Element>(crate::keys::SHIFT.name).children();
    for option in (0..options.length()).filter_map(|i| options.item(i)) {
        let shift = option
            .get_attribute("value")
            .and_then(|v| crate::knobs::task::Shift::parse_key(&v, "").ok());
        if let Some(shift) = shift {
            option.set_text_content(Some(shift.describe(study.experiment.task)));
        }
    }
}

/// The controls as (key, value) pairs, to be read by the same lenient link parser as a URL, so a
/// typed value and a linked value are validated the same way.
pub fn read_controls() -> Vec<(String, String)> {
    keys::controls()
        .map(|key| {
            let node = el::<Element>(key.name);
            let value = if let Some(s) = node.dyn_ref::<HtmlSelectElement>() {
                s.value()
            } else if let Some(i) = node.dyn_ref::<HtmlInputElement>() {
                if key.control() == Control::Check {
                    if i.checked() { "1".into() } else { "0".into() }
                } else {
                    i.value()
                }
            } else {
                String::new()
            };
            (key.name.to_string(), value)
        })
        .collect()
}

/// Calls `f` on every `event` at `target`, for the page's lifetime.
pub fn listen(target: &web_sys::EventTarget, event: &str, f: impl FnMut(web_sys::Event) + 'static) {
    let cb = wasm_bindgen::closure::Closure::<dyn FnMut(web_sys::Event)>::new(f);
    let _ = target.add_event_listener_with_callback(event, cb.as_ref().unchecked_ref());
    cb.forget(); // page-lifetime handler
}
