//! The page as a pure state machine: `State`, the `Msg`s that change it, the `Effect`s a change
//! asks of the shell, and `view`, what a state shows. Native and backend-agnostic; `web` only
//! turns DOM events and runner reports into messages, carries out the effects and applies the
//! view.

pub mod codec;
mod msg;
mod own;
mod pool;
mod state;
mod update;
mod view;

pub use msg::{Effect, Export, FrameReport, FromWorker, Msg, Shortcut, ToWorker, WEIGHTS_REFUSED};
pub use state::{
    ActiveBackend, BackendKind, LOSS_CHART_EVERY_MS, Level, LoadedWeights, Message, RunState, SIDE_EVERY_MS,
    Shown, State, Telemetry, TrainedWeights, boundary_points, cpu_backend,
};
pub use update::update;
pub use view::{Buttons, ChartView, DeckBar, Row, SweepBar, TablePreview, ViewModel, view};
