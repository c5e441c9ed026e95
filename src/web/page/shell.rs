//! Start-up, the DOM events (each becomes one message) and the effect executor: the only place
//! where effects touch the page, the address bar and the training worker. After every message
//! the page's view is shown again (`render`, once per animation frame).

use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{HtmlElement, MouseEvent};

use super::bus::Bus;
use super::remote::Remote;
use super::{dom, export, knobs, render};
use crate::page::{Effect, Export, Msg, Shortcut};

/// Start-up: build the controls, start the training worker, wire the events, then read the link.
pub fn boot() {
    dom::build_controls();
    let bus = Bus::new();
    let remote = Remote::new(bus.clone());
    bus.install(Box::new(move |bus, effects, at_once| {
        execute(bus, &remote, effects);
        if at_once {
            render::now(bus);
        } else {
            render::request(bus);
        }
    }));
    wire_events(&bus);
    let query = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default();
    // Logical processors, which a pool of training workers spreads a sweep over (#33).
    let cores = web_sys::window()
        .map(|w| w.navigator().hardware_concurrency())
        .filter(|c| c.is_finite() && *c >= 1.0)
        .map_or(1, |c| c as usize);
    // A link naming its data by hash runs with what this browser kept under it (#35).
    let Some(hash) = crate::link::url::data_hash_named(&query) else {
        bus.send(Msg::Boot { query, cores });
        return;
    };
    // The page boots once: with what storage answered, or without it after STORAGE_WAIT_MS
    // (a browser whose storage never answers must not keep the page from starting).
    let booted = Rc::new(std::cell::Cell::new(false));
    let boot: Rc<dyn Fn(Result<Option<String>, String>)> = Rc::new(move |kept| {
        if booted.replace(true) {
            return;
        }
        if let Ok(Some(text)) = &kept {
            bus.send(Msg::DataKept { text: text.clone() });
        }
        bus.send(Msg::Boot {
            query: query.clone(),
            cores,
        });
        if let Err(e) = kept {
            bus.send(Msg::StorageFailed(format!(
                "this browser's storage could not be read ({e})"
            )));
        }
    });
    let late = boot.clone();
    let on_time = Closure::once_into_js(move || {
        late(Err(format!("it did not answer within {STORAGE_WAIT_MS} ms")));
    });
    if let Some(w) = web_sys::window() {
        let _ =
            w.set_timeout_with_callback_and_timeout_and_arguments_0(on_time.unchecked_ref(), STORAGE_WAIT_MS);
    }
    wasm_bindgen_futures::spawn_local(async move { boot(super::store::get(&hash).await) });
}

/// How long start-up waits for the browser's storage before it reads the link without it.
const STORAGE_WAIT_MS: i32 = 3_000;

/// Carries out `effects` in order, then tells the worker the run state if it changed (Pause,
/// Train, Cancel, a new generation: the runner reads it between rounds).
fn execute(bus: &Rc<Bus>, remote: &Rc<Remote>, effects: Vec<Effect>) {
    for effect in effects {
        match effect {
            Effect::WriteUrl(query) => write_url(&query),
            Effect::WriteControls => {
                let study = bus.state().study.clone();
                dom::write_controls(&study);
                knobs::show(bus, &study);
            }
            Effect::ToggleFullScreen => toggle_full_screen(),
            Effect::KeepData { hash, text } => {
                let bus = bus.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    if let Err(e) = super::store::put(&hash, &text).await {
                        bus.send(Msg::StorageFailed(format!(
                            "your data could not be kept in this browser's storage ({e}): its link runs here until the page is reloaded"
                        )));
                    }
                });
            }
            Effect::ChooseBackend { ticket, choice } => remote.choose_backend(ticket, choice),
            Effect::MarkGpuLost => remote.mark_gpu_lost(),
            Effect::StartRunner { generation, shares } => {
                let (configs, sweep, stack, weights) = {
                    let s = bus.state();
                    let configs: Vec<_> = s.points.iter().map(|p| p.config.clone()).collect();
                    // Weights start a single run (`update` drops them for a sweep).
                    let weights = s
                        .weights_in
                        .as_ref()
                        .filter(|_| configs.len() == 1)
                        .map(|w| w.bytes.to_vec());
                    (configs, s.is_sweep(), s.study.view.stack, weights)
                };
                remote.start(generation, &configs, sweep, stack, shares, weights);
            }
            Effect::Export(what) => {
                let state = bus.state();
                match what {
                    Export::CopyLink => export::copy_link(),
                    Export::CopyEmbed => export::copy_embed(&state.study),
                    Export::Csv => export::csv(&state.runs),
                    Export::Json => export::json(&state.runs),
                    Export::Experiment => export::experiment(&state.study),
                    Export::Weights => export::weights(&state),
                    Export::Png(chart) => export::png(chart),
                    Export::Svg(chart) => export::svg(&state, chart),
                }
            }
        }
    }
    let (generation, run_state) = {
        let s = bus.state();
        (s.generation, s.run_state)
    };
    remote.steer(generation, run_state);
}

fn write_url(query: &str) {
    let Some(window) = web_sys::window() else { return };
    let path = window.location().pathname().unwrap_or_default();
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&format!("{path}?{query}")));
    }
}

/// Full screen for the whole page, or back (the browser may refuse: it needs a key press or a
/// click, which the F key is).
fn toggle_full_screen() {
    let doc = dom::document();
    if doc.fullscreen_element().is_some() {
        doc.exit_fullscreen();
    } else if let Some(root) = doc.document_element() {
        let _ = root.request_fullscreen();
    }
}

/// The shortcut `e` asks for, unless a person is typing in a field (or Space would press the
/// focused button or box itself); `scrolls`: the page scrolls (PageUp/PageDown are left to it). Read through `Reflect`: the fields are plain properties.
fn shortcut(e: &web_sys::Event, scrolls: bool) -> Option<Shortcut> {
    let get = |k: &str| js_sys::Reflect::get(e, &k.into()).ok();
    let flag = |k: &str| get(k).and_then(|v| v.as_bool()).unwrap_or(false);
    if flag("ctrlKey") || flag("metaKey") || flag("altKey") {
        return None;
    }
    let key = get("key").and_then(|v| v.as_string())?;
    let target = e.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok());
    let tag = target
        .as_ref()
        .map(|t| t.tag_name().to_ascii_lowercase())
        .unwrap_or_default();
    let kind = target
        .as_ref()
        .and_then(|t| t.get_attribute("type"))
        .unwrap_or_default()
        .to_ascii_lowercase();
    let editable = target
        .as_ref()
        .and_then(|t| t.dyn_ref::<HtmlElement>().map(|h| h.is_content_editable()))
        .unwrap_or(false);
    let typing = editable
        || tag == "select"
        || tag == "textarea"
        || (tag == "input" && !matches!(kind.as_str(), "checkbox" | "range" | "button" | "radio"));
    if typing {
        return None;
    }
    // Space presses a focused button or box, opens a group's <summary>, follows a link.
    let presses_itself = matches!(tag.as_str(), "button" | "input" | "summary" | "a");
    // Arrows move a focused slider (a presenter's knob), not the deck.
    let moves_itself = kind == "range";
    match key.as_str() {
        " " if presses_itself => None,
        " " => Some(Shortcut::TrainPause),
        "r" | "R" => Some(Shortcut::Reset),   // not a link key: the R key
        "p" | "P" => Some(Shortcut::Present), // not a link key: the P key
        "f" | "F" => Some(Shortcut::FullScreen),
        "?" => Some(Shortcut::Keys),
        "Escape" => Some(Shortcut::CloseKeys),
        "ArrowRight" | "ArrowLeft" if moves_itself => None,
        "ArrowRight" => Some(Shortcut::NextSlide),
        "ArrowLeft" => Some(Shortcut::PreviousSlide),
        // A clicker's keys: the deck's in presenter and embed mode, where nothing scrolls; the
        // normal page keeps them for scrolling.
        "PageDown" => Some(Shortcut::NextSlide).filter(|_| !scrolls),
        "PageUp" => Some(Shortcut::PreviousSlide).filter(|_| !scrolls),
        _ => None,
    }
}

/// What a file was given as: the data input's, the weights input's, or dropped (by its name).
#[derive(Clone, Copy, PartialEq)]
enum Intent {
    Data,
    Weights,
    ByName,
}

/// A file's name, size and bytes as a message: weights as `Msg::WeightsFile`, data and
/// experiment files as `Msg::DataFile`; its size checked against its cap before it is read.
fn send_file(bus: &Rc<Bus>, file: web_sys::File, intent: Intent) {
    let (name, size) = (file.name(), file.size() as u64);
    let is_weights = match intent {
        Intent::Data => false,
        Intent::Weights => true,
        Intent::ByName => name.to_ascii_lowercase().ends_with(".safetensors"),
    };
    let msg = move |name, size, bytes| match is_weights {
        true => Msg::WeightsFile { name, size, bytes },
        false => Msg::DataFile { name, size, bytes },
    };
    let too_big = match is_weights {
        true => size > crate::model::checkpoint::MAX_FILE_BYTES,
        false => crate::data::read_file::check_named_size(&name, size).is_err(),
    };
    if too_big {
        bus.send(msg(name, size, Vec::new()));
        return;
    }
    let bus = bus.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let bytes = match wasm_bindgen_futures::JsFuture::from(file.array_buffer()).await {
            Ok(buffer) => js_sys::Uint8Array::new(&buffer).to_vec(),
            Err(_) => Vec::new(), // unreadable: refused as empty, with its name
        };
        bus.send(msg(name, size, bytes));
    });
}

fn on_click(id: &str, bus: &Rc<Bus>, msg: impl Fn() -> Msg + 'static) {
    let bus = bus.clone();
    dom::listen(&dom::el::<HtmlElement>(id), "click", move |_| bus.send(msg()));
}

fn wire_events(bus: &Rc<Bus>) {
    for key in dom::control_keys() {
        let bus = bus.clone();
        dom::listen(&dom::el::<HtmlElement>(key), "change", move |_| {
            bus.send(Msg::Edit(dom::read_controls()))
        });
    }
    on_click("train-button", bus, || Msg::Train);
    on_click("pause", bus, || Msg::Pause);
    on_click("cancel", bus, || Msg::Cancel);
    on_click("reset", bus, || Msg::Reset);
    on_click("copy-link", bus, || Msg::Export(Export::CopyLink));
    on_click("copy-embed", bus, || Msg::Export(Export::CopyEmbed));
    on_click("download-csv", bus, || Msg::Export(Export::Csv));
    on_click("download-json", bus, || Msg::Export(Export::Json));
    on_click("download-experiment", bus, || Msg::Export(Export::Experiment));
    on_click("download-weights", bus, || Msg::Export(Export::Weights));
    on_click("weights-forget", bus, || Msg::ForgetWeights);
    on_click("download-png", bus, || {
        Msg::Export(Export::Png(render::main_chart()))
    });
    on_click("download-svg", bus, || {
        Msg::Export(Export::Svg(render::main_chart()))
    });
    // Each figure's own PNG and SVG buttons (`dom::build_chart_tools`).
    let tools = bus.clone();
    dom::listen(&dom::el::<HtmlElement>("charts"), "click", move |e| {
        let button = e
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .and_then(|el| el.closest("button[data-chart]").ok().flatten());
        let Some(button) = button else { return };
        let chart = button
            .get_attribute("data-chart")
            .and_then(|n| crate::report::Chart::from_name(&n));
        if let Some(chart) = chart {
            tools.send(Msg::Export(
                match button.get_attribute("data-format").as_deref() {
                    Some("svg") => Export::Svg(chart),
                    _ => Export::Png(chart),
                },
            ));
        }
    });
    // A data or experiment file, and weights (#35), chosen in the Data group or dropped on the
    // page.
    for (id, intent) in [("data-file", Intent::Data), ("weights-file", Intent::Weights)] {
        let files = bus.clone();
        dom::listen(&dom::el::<HtmlElement>(id), "change", move |e| {
            let Some(input) = e
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
            else {
                return;
            };
            let Some(file) = input.files().and_then(|list| list.get(0)) else {
                return;
            };
            input.set_value(""); // choosing the same file again is a change again
            send_file(&files, file, intent);
        });
    }
    // The table file's preview (#35): the target column, what it holds, points or not.
    for id in ["preview-target", "preview-kind", "preview-points"] {
        let read = bus.clone();
        dom::listen(&dom::el::<HtmlElement>(id), "change", move |_| {
            use crate::data::read_table::TargetKind;
            let target = dom::el::<web_sys::HtmlSelectElement>("preview-target").value();
            let kind = match dom::el::<web_sys::HtmlSelectElement>("preview-kind")
                .value()
                .as_str()
            {
                "classes" => TargetKind::Classes,
                "values" => TargetKind::Values,
                _ => TargetKind::Auto,
            };
            read.send(Msg::ReadTable {
                target: target.parse().unwrap_or(0),
                kind,
                plane: dom::el::<web_sys::HtmlInputElement>("preview-points").checked(),
            });
        });
    }
    // Points (#35): pasted, or placed by a click on the decision boundary.
    let paste = bus.clone();
    dom::listen(&dom::el::<HtmlElement>("data-paste-use"), "click", move |_| {
        let text = dom::el::<web_sys::HtmlTextAreaElement>("data-paste").value();
        paste.send(Msg::PastePoints(text));
    });
    let place = bus.clone();
    dom::listen(&dom::el::<HtmlElement>("boundary-canvas"), "click", move |e| {
        let Some(mouse) = e.dyn_ref::<MouseEvent>() else {
            return;
        };
        let canvas: web_sys::HtmlCanvasElement = dom::el("boundary-canvas");
        // The click in the backing store's pixels, where the chart's layout is computed.
        let sx = f64::from(canvas.width()) / f64::from(canvas.client_width().max(1));
        let sy = f64::from(canvas.height()) / f64::from(canvas.client_height().max(1));
        let pixel = (
            (f64::from(mouse.offset_x()) * sx).round() as i32,
            (f64::from(mouse.offset_y()) * sy).round() as i32,
        );
        let size = (canvas.width(), canvas.height());
        let Some((x, y)) = crate::plot::point_at(size, super::canvas::style(), pixel) else {
            return;
        };
        let class = dom::el::<web_sys::HtmlSelectElement>("point-class")
            .value()
            .parse()
            .unwrap_or(0);
        place.send(Msg::AddPoint { x, y, class });
    });
    // Dropping needs `dragover` refused by the page, or the browser opens the file instead.
    dom::listen(&dom::document(), "dragover", |e| e.prevent_default());
    let dropped = bus.clone();
    dom::listen(&dom::document(), "drop", move |e| {
        let Some(drag) = e.dyn_ref::<web_sys::DragEvent>() else {
            return;
        };
        let file = drag
            .data_transfer()
            .and_then(|t| t.files())
            .and_then(|list| list.get(0));
        if let Some(file) = file {
            e.prevent_default();
            send_file(&dropped, file, Intent::ByName);
        }
    });
    on_click("present-button", bus, || Msg::Shortcut(Shortcut::Present));
    on_click("add-to-deck", bus, || Msg::AddToDeck);
    on_click("deck-prev", bus, || Msg::Shortcut(Shortcut::PreviousSlide));
    on_click("deck-next", bus, || Msg::Shortcut(Shortcut::NextSlide));
    let keys = bus.clone();
    dom::listen(&dom::document(), "keydown", move |e| {
        let scrolls = {
            let view = &keys.state().study.view;
            !(view.present || view.embed)
        };
        if let Some(s) = shortcut(&e, scrolls) {
            let slide = matches!(s, Shortcut::NextSlide | Shortcut::PreviousSlide);
            if slide && keys.state().study.view.deck.is_empty() {
                return; // without a deck the arrows and PageDown scroll the page as ever
            }
            e.prevent_default(); // Space would scroll the page
            keys.send(Msg::Shortcut(s));
        }
    });

    // A preset opens in the page without a reload; a modified click (new tab) is the browser's.
    let presets = bus.clone();
    dom::listen(&dom::el::<HtmlElement>("preset-list"), "click", move |e| {
        let Some(mouse) = e.dyn_ref::<MouseEvent>() else {
            return;
        };
        if mouse.ctrl_key() || mouse.meta_key() || mouse.shift_key() || mouse.button() != 0 {
            return;
        }
        let id = e
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .and_then(|el| el.closest("a[data-preset]").ok().flatten())
            .and_then(|a| a.get_attribute("data-preset"));
        if let Some(id) = id {
            e.prevent_default();
            presets.send(Msg::Preset(id));
        }
    });

    let canvas = dom::el::<HtmlElement>("loss-canvas");
    dom::listen(&canvas, "mousemove", |e| {
        if let Some(m) = e.dyn_ref::<MouseEvent>() {
            render::show_hover(m);
        }
    });
    dom::listen(&canvas, "mouseleave", |_| dom::set_hidden("hover", true));

    // The canvases follow the window: every chart is drawn again at its new size.
    let resize = bus.clone();
    if let Some(w) = web_sys::window() {
        dom::listen(&w, "resize", move |_| {
            render::invalidate();
            render::request(&resize);
        });
    }
}
