//! What a run is called (its legend label) and when two runs train the same weights.

use crate::keys;
use crate::knobs::ExperimentConfig;
use crate::vocab::{Named, format_number};

impl ExperimentConfig {
    /// A short legend label naming the model and optimizer.
    pub fn label(&self) -> String {
        let optimizer = format!(
            "{} {} {}",
            self.opt.key(),
            keys::LR.is(&format_number(self.lr)),
            keys::BS.is(&self.batch.to_string())
        );
        format!("{} · {optimizer}", self.arch().describe(self))
    }

    /// Whether `self` and `other` train the very same weights: equal experiments apart from
    /// post-training quantization, which only acts once training is over. The page then keeps the
    /// finished run's weights on screen while the new one runs, so the histogram and its grid
    /// follow the bit knob at once.
    pub fn same_training(&self, other: &ExperimentConfig) -> bool {
        use crate::knobs::quant::QMode;
        let post_hoc = |c: &ExperimentConfig| !c.quant.enabled() || c.quant.mode == QMode::Ptq;
        let strip = |c: &ExperimentConfig| ExperimentConfig {
            quant: crate::knobs::quant::QuantConfig::default(),
            ..c.clone()
        };
        post_hoc(self) && post_hoc(other) && strip(self) == strip(other)
    }
}
