//! Which knobs matter to a study (#14): a key that changes nothing in any of its runs is shown
//! disabled with the reason its row gives (width on the planted task, LoRA's α without a rank),
//! and the page opens the control groups the study uses.

use super::study::Study;
use super::url::value_text;
use crate::keys::{Group, KEYS, Key};
use crate::knobs::ExperimentConfig;
use crate::knobs::task::Task;

/// What a study's runs use, worked out once for all its keys and groups (the page asks after
/// every edit, and a sweep's runs are expanded once, not once per key).
pub struct Uses<'a> {
    study: &'a Study,
    runs: Vec<ExperimentConfig>,
}

impl<'a> Uses<'a> {
    pub fn of(study: &'a Study) -> Self {
        Self {
            study,
            runs: study.runs().into_iter().map(|p| p.config).collect(),
        }
    }

    /// Why `key` changes nothing in any run of the study (a swept knob acts in some), or `None`.
    pub fn unused(&self, key: &Key) -> Option<&'static str> {
        if !key.is_knob() {
            return None;
        }
        let mut reasons = self.runs.iter().map(|cfg| (key.unused_in)(cfg));
        let first = reasons.next().flatten()?;
        reasons.all(|r| r.is_some()).then_some(first)
    }

    /// Whether the page shows `group` at all: the planted task's (and matrix sensing's) and the
    /// transformer's knobs only where a run uses them.
    pub fn group_shown(&self, group: Group) -> bool {
        match group {
            Group::Planted => self
                .runs
                .iter()
                .any(|c| matches!(c.task, Task::Planted | Task::Sense)),
            Group::Transformer => self.runs.iter().any(|c| c.is_transformer()),
            _ => true,
        }
    }

    /// Whether `group` matters to the study: the data, the model and the optimizer always (the
    /// model not on the planted task), a task's own group, and any group with a key the study
    /// sets or sweeps away from its default.
    pub fn group_matters(&self, group: Group) -> bool {
        let study = self.study;
        // The planted task's student and the sensing task's factors are set in their own group.
        let planted = matches!(study.experiment.task, Task::Planted | Task::Sense);
        let core = match group {
            Group::Data | Group::Optimizer | Group::Run => true,
            Group::Model => !planted,
            Group::Planted | Group::Transformer => self.group_shown(group),
            _ => false,
        };
        if core {
            return true;
        }
        let default = Study::default();
        let swept = study.sweep.keys();
        KEYS.iter().filter(|k| k.group == group).any(|k| {
            swept.contains(k) || (self.unused(k).is_none() && value_text(study, k) != value_text(&default, k))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::url::parse;

    fn reason(link: &str, key: &str) -> Option<&'static str> {
        let study = parse(link).study;
        Uses::of(&study).unused(crate::keys::key(key).unwrap())
    }

    #[test]
    fn knobs_that_change_nothing_say_why() {
        assert!(reason("task=planted", "w").unwrap().contains("linear layer"));
        assert_eq!(reason("task=spiral", "w"), None);
        assert!(reason("", "alpha").unwrap().contains("set a rank"));
        assert_eq!(reason("r=4", "alpha"), None);
        assert!(reason("r=0", "alpha").unwrap().contains("no adapter"));
        assert!(reason("", "qfmt").unwrap().contains("set bits"));
        assert!(reason("bits=4", "qgs").unwrap().contains("qgran=group"));
        assert_eq!(reason("bits=4&qgran=group", "qgs"), None);
        assert!(reason("task=copy", "act").unwrap().contains("GELU"));
        assert!(reason("", "heads").unwrap().contains("sequence task"));
        assert!(reason("", "bw").unwrap().contains("param=mup"));
        assert!(reason("", "rzero").is_some());
        assert_eq!(
            reason("r=4&train=b", "lplus"),
            None,
            "B alone still trains at λ·lr"
        );
        assert!(reason("r=4&train=a", "lplus").unwrap().contains("B is frozen"));
        // A knob that acts in one run of a sweep acts.
        assert_eq!(reason("sweep=param:sp,mup", "bw"), None);
        assert_eq!(reason("sweep=bits:4,32", "qfmt"), None);
        // View keys always act.
        assert_eq!(reason("", "ylog"), None);
    }

    #[test]
    fn the_groups_that_matter_open() {
        let m = |link: &str, g| Uses::of(&parse(link).study).group_matters(g);
        assert!(m("", Group::Data) && m("", Group::Model) && !m("", Group::Lora) && !m("", Group::Quant));
        assert!(m("r=4", Group::Lora) && m("bits=4", Group::Quant) && m("param=mup", Group::Scaling));
        assert!(m("sweep=w:64,128;param:sp,mup", Group::Scaling));
        assert!(m("task=planted&r=4", Group::Planted) && !m("task=planted&r=4", Group::Model));
        assert!(m("task=copy", Group::Transformer) && !m("", Group::Transformer));
        assert!(!Uses::of(&parse("").study).group_shown(Group::Transformer));
        assert!(Uses::of(&parse("task=planted").study).group_shown(Group::Planted));
    }
}
