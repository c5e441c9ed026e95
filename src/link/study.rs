//! A study: what a link holds. The experiment (one training run's knobs), the sweep around it and
//! the view; and what going from one study to another asks of the page.

use super::sweep::{Sweep, SweepPoint};
use crate::knobs::ExperimentConfig;
use crate::knobs::view::View;

/// One link's worth: the experiment, the knobs swept around it, how results are shown.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Study {
    pub experiment: ExperimentConfig,
    /// Knobs to vary around the experiment; empty for a single run.
    pub sweep: Sweep,
    pub view: View,
}

/// What a change of the config asks of the page (docs/ARCHITECTURE.md §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// Nothing that matters changed.
    None,
    /// Only how the results are shown changed: redraw, keep the run.
    Redraw,
    /// The backend choice changed: pick the device again, then start a new run.
    SwitchBackend,
    /// A knob of the experiment changed: the old curve no longer describes it; start a new run.
    Restart,
}

impl Study {
    /// A study of one run of `experiment`, with the default view.
    pub fn of(experiment: ExperimentConfig) -> Self {
        Self {
            experiment,
            ..Self::default()
        }
    }

    pub fn is_sweep(&self) -> bool {
        !self.sweep.is_empty()
    }

    /// The runs of the study: its sweep expanded, or the experiment alone. The link codec has
    /// checked the sweep, so expansion does not fail for a parsed link; if it did, the experiment
    /// still runs.
    pub fn runs(&self) -> Vec<SweepPoint> {
        let single = || {
            vec![SweepPoint {
                config: self.experiment.clone(),
                knobs: Vec::new(),
            }]
        };
        if self.sweep.is_empty() {
            single()
        } else {
            self.sweep.expand(&self.experiment).unwrap_or_else(|_| single())
        }
    }

    /// What going from `self` to `new` requires: view-only keys never throw a run away.
    pub fn change_to(&self, new: &Study) -> Change {
        if self.view.backend != new.view.backend {
            Change::SwitchBackend // which restarts the run on the new device
        } else if self.experiment != new.experiment || self.sweep != new.sweep {
            Change::Restart
        } else if self.view != new.view {
            Change::Redraw
        } else {
            Change::None
        }
    }
}
