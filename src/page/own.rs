//! Your data and weights arriving in the page (#35): a file chosen or dropped, a paste, a click on
//! the decision boundary, a table file read again as its preview chose, a weights file. Each is
//! read as the CLI reads it and ends in [`open`], which edits the study through `update` and
//! holds (and stores) the data only once the study took it.

use super::msg::Effect;
use super::state::{Level, Message, State};
use crate::link::study::Study;
use crate::link::url;

/// What the page holds of your data, as it was before a file, a paste or a click.
pub(super) struct Holding {
    held: Option<crate::knobs::own::OwnData>,
    table_file: Option<super::state::TableFile>,
    wanted: Option<(String, String)>,
}

impl Holding {
    pub(super) fn of(state: &State) -> Self {
        Self {
            held: state.held.clone(),
            table_file: state.table_file.clone(),
            wanted: state.wanted.clone(),
        }
    }

    fn restore(self, state: &mut State) {
        state.held = self.held;
        state.table_file = self.table_file;
        state.wanted = self.wanted;
    }
}

/// Settles what an opened file, paste or click left once `update` ran it: the data it brought
/// is held (and kept in storage where a link cannot carry it) only once the study took it; data
/// the study refused leaves the page holding what it held before.
pub(super) fn settle(state: &mut State, before: Holding) -> Vec<Effect> {
    let new = state.held.as_ref().map(|d| d.hash().to_string());
    let now = state.study.experiment.data.as_ref().map(|d| d.hash().to_string());
    if new.is_some() && new == now {
        return keep(state);
    }
    if new != before.held.as_ref().map(|d| d.hash().to_string()) {
        before.restore(state);
    }
    Vec::new()
}

/// Says why `what` could not be opened; the page goes on holding what it held.
pub(super) fn refuse(state: &mut State, before: Holding, what: &str, why: &str) {
    before.restore(state);
    state.messages.push(Message {
        level: Level::Warning,
        text: format!("{}: {why}", crate::vocab::clip(what)),
    });
}

/// What a chosen or dropped file opens (#35): a whole link (an experiment file, or the file a
/// link without its data was waiting for), or data for the current experiment (as edits).
pub(super) enum Opened {
    Link(String),
    Data(Vec<(String, String)>),
}

/// Reads a file as the CLI's `--open` (an experiment file) or `--data` (a table or a text) do;
/// the data it brings is held (`state.held`), so the link can name it by hash.
pub(super) fn open_file(state: &mut State, name: &str, size: u64, bytes: &[u8]) -> Result<Opened, String> {
    use crate::data::read_file::{FileKind, as_text, check_named_size, read_file};
    use crate::data::read_table::TableOptions;
    use crate::knobs::own::OwnData;
    use crate::knobs::task::Task;
    check_named_size(name, size)?;
    if crate::link::bundle::is_experiment_file(name, bytes) {
        let opened = crate::link::bundle::read(as_text(bytes)?)?;
        if opened.data.is_some() {
            state.held = opened.data;
        }
        return Ok(Opened::Link(opened.query));
    }
    let kind = match state.study.experiment.task {
        Task::Table => FileKind::Table,
        Task::Text => FileKind::Text,
        _ => FileKind::of_name(name),
    };
    let opts = TableOptions::default();
    let data = OwnData::new(read_file(bytes, kind, &opts)?)?;
    state.table_file = match kind {
        FileKind::Table => {
            let text = as_text(bytes)?;
            Some(super::state::TableFile {
                name: name.to_string(),
                preview: crate::data::read_table::preview(text, PREVIEW_ROWS)?,
                text: text.into(),
                opts,
                hash: data.hash().to_string(),
            })
        }
        FileKind::Text => None,
    };
    Ok(use_data(state, data))
}

/// Rows of a table file the page shows.
pub(super) const PREVIEW_ROWS: usize = 5;

/// The table file read again as its preview chose.
pub(super) fn read_table_again(
    state: &mut State,
    target: usize,
    kind: crate::data::read_table::TargetKind,
    plane: bool,
) -> Result<Opened, String> {
    use crate::data::read_table::{TableOptions, read_table};
    use crate::knobs::own::{Body, OwnData};
    let file = state.table_file.as_mut().ok_or("no table file was read")?;
    let columns = &file.preview.columns;
    let name = columns.get(target).ok_or("the file has no such column")?;
    // By name, unless another column has it too (then by number).
    let unique = columns.iter().filter(|c| *c == name).count() == 1;
    let opts = TableOptions {
        target: Some(if unique {
            name.clone()
        } else {
            (target + 1).to_string()
        }),
        kind,
        plane,
    };
    let data = OwnData::new(Body::Table(read_table(&file.text, &opts)?))?;
    file.opts = opts;
    file.hash = data.hash().to_string();
    Ok(use_data(state, data))
}

/// Your data held and made the experiment's: its task and its link text as edits, or the whole
/// link that was waiting for exactly this data.
pub(super) fn use_data(state: &mut State, data: crate::knobs::own::OwnData) -> Opened {
    let task = if data.text().is_some() { "text" } else { "table" };
    let link = data.link_text();
    state.held = Some(data);
    if let Some((hash, query)) = &state.wanted
        && state.held.as_ref().is_some_and(|d| d.hash() == hash)
    {
        // The file the link was waiting for: the whole link runs now.
        return Opened::Link(query.clone());
    }
    state.wanted = None; // other data, chosen instead
    Opened::Data(vec![
        (crate::keys::TASK.name.to_string(), task.to_string()),
        (crate::keys::DATA.name.to_string(), link),
    ])
}

/// Pasted points (x, y, class a line, as `--data FILE --points` reads them).
pub(super) fn paste_points(state: &mut State, text: &str) -> Result<Opened, String> {
    use crate::data::read_table::{TableOptions, read_table};
    use crate::knobs::own::{Body, OwnData};
    let opts = TableOptions {
        plane: true,
        ..TableOptions::default()
    };
    let data = OwnData::new(Body::Table(read_table(text, &opts)?))?;
    Ok(use_data(state, data))
}

/// A click on the decision boundary adds a point of `class` there: to your points, or to the
/// points the chart shows (a built-in 2-D task's training set), which become your points.
pub(super) fn add_point(state: &mut State, x: f32, y: f32, class: u16) -> Result<Opened, String> {
    use crate::knobs::own::{Body, OwnData};
    use crate::knobs::task::Task;
    let cfg = &state.study.experiment;
    let mine = cfg
        .data
        .as_ref()
        .and_then(|d| d.table())
        .filter(|t| cfg.task == Task::Table && t.plane && t.dim() == 2 && t.classes() > 0);
    let mut table = match mine {
        Some(t) => t.clone(),
        None => crate::data::table::points_table(&state.data)
            .ok_or("points are placed on the decision boundary of a 2-D classification task")?,
    };
    table.push_point(x, y, class)?;
    Ok(use_data(state, OwnData::new(Body::Table(table))?))
}

/// Reads a weights file as the CLI's `--load-weights` does, and checks it against the study:
/// a single run of the same family (the worker checks every name and shape when it builds the
/// model). Knobs that change what the same weights compute are said, and loading goes on.
pub(super) fn weights_file(
    state: &mut State,
    name: &str,
    size: u64,
    bytes: Vec<u8>,
) -> Result<super::state::LoadedWeights, String> {
    use crate::model::checkpoint::{self, Checkpoint, MAX_FILE_BYTES, META_STEPS};
    if size > MAX_FILE_BYTES {
        return Err(format!(
            "the file is {:.1} MB, larger than any model tinytune trains ({:.0} MB)",
            size as f64 / 1e6,
            MAX_FILE_BYTES as f64 / 1e6
        ));
    }
    let ck = Checkpoint::from_bytes(&bytes)?;
    if state.is_sweep() {
        return Err(format!(
            "weights start a single run, and this study is a sweep of {} runs",
            state.points.len()
        ));
    }
    let cfg = &state.study.experiment;
    checkpoint::check_family(&ck, cfg)?;
    for d in checkpoint::differences(&ck, cfg) {
        state.messages.push(Message {
            level: Level::Warning,
            text: format!("{}: {d}", crate::vocab::clip(name)),
        });
    }
    let steps = ck
        .meta
        .get(META_STEPS)
        .map_or(String::new(), |s| format!(", trained {s} steps"));
    Ok(super::state::LoadedWeights {
        name: name.to_string(),
        about: format!("{} tensors{steps}", ck.tensors.len()),
        bytes: std::sync::Arc::new(bytes),
    })
}

/// Keeps the held data in the browser's storage when a link can only name it by hash.
pub(super) fn keep(state: &State) -> Vec<Effect> {
    use crate::knobs::own::OwnData;
    let Some(data) = &state.held else {
        return Vec::new();
    };
    if !OwnData::names_by_hash(&data.link_text()) {
        return Vec::new();
    }
    data.inline_text_uncapped()
        .map(|text| Effect::KeepData {
            hash: data.hash().to_string(),
            text,
        })
        .into_iter()
        .collect()
}

/// The hash and link of a link whose data (named by hash) the page does not hold.
pub(super) fn wanted(query: &str, study: &Study) -> Option<(String, String)> {
    let hash = url::data_hash_named(query)?;
    let held = study
        .experiment
        .data
        .as_ref()
        .is_some_and(|d| d.hash() == hash && d.body().is_some());
    (!held).then(|| (hash, query.to_string()))
}
