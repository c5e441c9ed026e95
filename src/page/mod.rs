//! The page as a pure state machine: `State`, the `Msg`s that change it and the `Effect`s a change
//! asks of the shell. Native and backend-agnostic; `web` only turns DOM events and runner
//! reports into messages and carries out the effects.

mod charts;
mod msg;
mod state;
mod update;

pub use charts::{Chart, Charts, draw_loss, svg};
pub use msg::{Effect, Export, FrameReport, FromWorker, Msg, Render, Shortcut, ToWorker};
pub use state::{
    ActiveBackend, BackendKind, LOSS_CHART_EVERY_MS, Level, Message, RunState, SIDE_EVERY_MS, State,
    boundary_points, cpu_backend,
};
pub use update::update;
