//! The page's elements: controls ⇄ config, messages, status text. User-controlled text only ever
//! goes in through `textContent` / `value`, never as HTML.

use wasm_bindgen::JsCast;
use web_sys::{Document, Element, HtmlElement, HtmlInputElement, HtmlSelectElement};

use crate::config::{Activation, BackendChoice, ExperimentConfig, Named, OptimizerKind, Task, format_number};
use crate::data::Shift;
use crate::lora::{AInit, Factors, ScaleRule};
use crate::model::Residual;
use crate::mup::Parameterization;
use crate::planted::SvProfile;
use crate::schedule::Schedule;

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

pub fn set_text(id: &str, text: &str) {
    el::<Element>(id).set_text_content(Some(text));
}

/// A `data-*` attribute on `#app`: the state tests and the benchmark read.
pub fn set_data(key: &str, value: &str) {
    let _ = el::<HtmlElement>("app").dataset().set(key, value);
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Info,
    Warning,
    Error,
}

pub fn set_hidden(id: &str, hidden: bool) {
    el::<HtmlElement>(id).set_hidden(hidden);
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

/// Removes the messages of one level (a fixed control clears its warning; errors stay).
pub fn clear_messages(level: Level) {
    let items = el::<Element>("messages").children();
    for i in (0..items.length()).rev() {
        if let Some(li) = items.item(i).filter(|li| li.class_name() == level_class(level)) {
            li.remove();
        }
    }
}

fn level_class(level: Level) -> &'static str {
    match level {
        Level::Info => "info",
        Level::Warning => "warning",
        Level::Error => "error",
    }
}

pub fn push_message(level: Level, text: &str) {
    let li = document().create_element("li").expect("create li");
    li.set_class_name(level_class(level));
    li.set_text_content(Some(text));
    let _ = el::<Element>("messages").append_child(&li);
}

fn fill_select<N: Named + PartialEq>(id: &str) {
    let select: HtmlSelectElement = el(id);
    select.set_text_content(None);
    for (_, key, label) in N::NAMES {
        let opt = document().create_element("option").expect("create option");
        let _ = opt.set_attribute("value", key);
        opt.set_text_content(Some(label));
        let _ = select.append_child(&opt);
    }
}

/// Fills the select boxes from the enums' tables (one source of names for links, CLI and page).
pub fn build_controls() {
    fill_select::<Task>("task");
    fill_select::<Activation>("act");
    fill_select::<OptimizerKind>("opt");
    fill_select::<BackendChoice>("backend");
    fill_select::<Parameterization>("param");
    fill_select::<Residual>("res");
    fill_select::<Schedule>("sched");
    fill_select::<crate::metrics::SweepMetric>("metric");
    fill_select::<crate::quant::QFormat>("qfmt");
    fill_select::<crate::quant::Granularity>("qgran");
    fill_select::<crate::quant::Clip>("qclip");
    fill_select::<crate::quant::QMode>("qmode");
    fill_select::<ScaleRule>("scale");
    fill_select::<AInit>("ainit");
    fill_select::<Factors>("train");
    fill_select::<Shift>("shift");
    fill_select::<SvProfile>("sv");
    build_presets();
}

/// The gallery: one entry per preset, a plain link (opening it runs the experiment). Texts are
/// ours, but they still go in as text, never as HTML.
fn build_presets() {
    let list = el::<Element>("preset-list");
    list.set_text_content(None);
    for p in crate::presets::PRESETS {
        let doc = document();
        let (Ok(li), Ok(a), Ok(claim), Ok(expect)) = (
            doc.create_element("li"),
            doc.create_element("a"),
            doc.create_element("p"),
            doc.create_element("p"),
        ) else {
            continue;
        };
        let _ = a.set_attribute("href", &format!("?v=1&{}", p.query));
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
/// (view keys and backend aside); hides it once a knob makes it a new experiment.
pub fn show_preset_note(cfg: &ExperimentConfig) {
    let experiment = cfg.experiment();
    let current = crate::presets::PRESETS
        .iter()
        .find(|p| crate::url::parse(p.query).config.experiment() == experiment);
    set_hidden("preset-note", current.is_none());
    if let Some(p) = current {
        set_text("preset-title", p.title);
        set_text("preset-claim", p.claim);
        set_text("preset-expect", p.expect);
    }
    set_hidden("planted-knobs", cfg.task != Task::Planted);
}

/// Ids of the controls, which are also their link keys.
pub const CONTROL_KEYS: &[&str] = &[
    "task", "n", "seed", "w", "d", "act", "res", "opt", "lr", "bs", "steps", "sched", "warm", "wd", "param",
    "bw", "ain", "aout", "rzero", "coord", "r", "alpha", "scale", "ainit", "train", "lplus", "target",
    "asteps", "shift", "pr", "dim", "noise", "k", "sv", "bits", "qfmt", "qgran", "qgs", "qclip", "qout",
    "qmode", "backend", "ylog", "xlog", "metric", "sweep",
];

fn set_value(id: &str, v: &str) {
    let node = el::<Element>(id);
    if let Some(s) = node.dyn_ref::<HtmlSelectElement>() {
        s.set_value(v);
    } else if let Some(i) = node.dyn_ref::<HtmlInputElement>() {
        i.set_value(v);
    }
}

pub fn write_controls(cfg: &ExperimentConfig) {
    set_value("task", cfg.task.key());
    set_value("n", &cfg.points.to_string());
    set_value("seed", &cfg.seed.to_string());
    set_value("w", &cfg.width.to_string());
    set_value("d", &cfg.depth.to_string());
    set_value("act", cfg.act.key());
    set_value("res", cfg.residual.key());
    set_value("opt", cfg.opt.key());
    set_value("lr", &format_number(cfg.lr));
    set_value("bs", &cfg.batch.to_string());
    set_value("steps", &cfg.steps.to_string());
    set_value("sched", cfg.sched.key());
    set_value("warm", &cfg.warm.to_string());
    set_value("wd", &format_number(cfg.wd));
    set_value("coord", &cfg.coord.to_string());
    let m = &cfg.mup;
    set_value("param", m.param.key());
    set_value("bw", &m.base_width.to_string());
    set_value("ain", &format_number(m.alpha_in));
    set_value("aout", &format_number(m.alpha_out));
    el::<HtmlInputElement>("rzero").set_checked(m.readout_zero);
    let l = &cfg.lora;
    set_value("r", &l.rank.map(|r| r.to_string()).unwrap_or_default());
    set_value("alpha", &format_number(l.alpha));
    set_value("scale", l.scale.key());
    set_value("ainit", l.ainit.key());
    set_value("train", l.train.key());
    set_value("lplus", &format_number(l.lplus));
    set_value("target", &l.target.to_text());
    set_value("asteps", &cfg.adapt_steps.to_string());
    set_value("shift", cfg.shift.key());
    let p = &cfg.planted;
    set_value("pr", &p.rank.to_string());
    set_value("dim", &p.dim.to_string());
    set_value("noise", &format_number(p.noise));
    set_value("k", &p.k.map(|k| k.to_string()).unwrap_or_default());
    set_value("sv", p.sv.key());
    let q = &cfg.quant;
    set_value("bits", &q.bits.to_string());
    set_value("qfmt", q.fmt.key());
    set_value("qgran", q.gran.key());
    set_value("qgs", &q.group.to_string());
    set_value("qclip", q.clip.key());
    set_value("qout", &format_number(q.outlier));
    set_value("qmode", q.mode.key());
    set_value("backend", cfg.backend.key());
    el::<HtmlInputElement>("ylog").set_checked(cfg.log_y);
    el::<HtmlInputElement>("xlog").set_checked(cfg.log_x);
    set_value("metric", cfg.metric.key());
    set_value("sweep", &cfg.sweep.to_text());
    show_preset_note(cfg);
}

/// The controls as (key, value) pairs, to be read by the same lenient link parser as a URL, so a
/// typed value and a linked value are validated the same way.
pub fn read_controls() -> Vec<(&'static str, String)> {
    CONTROL_KEYS
        .iter()
        .map(|&key| {
            let node = el::<Element>(key);
            let value = if let Some(s) = node.dyn_ref::<HtmlSelectElement>() {
                s.value()
            } else if let Some(i) = node.dyn_ref::<HtmlInputElement>() {
                if i.type_() == "checkbox" {
                    if i.checked() { "1".into() } else { "0".into() }
                } else {
                    i.value()
                }
            } else {
                String::new()
            };
            (key, value)
        })
        .collect()
}
