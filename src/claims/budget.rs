//! The numbers a run was made at (architecture, epochs, input size, explained images per
//! class) and the smoke budget, whose runs every verdict marks "smoke: not comparable".
//! The profiles' budgets are chosen in [`crate::reproduce`]; the pins re-derive from a
//! run's recorded training configuration whether it was a smoke run.

use crate::model::Arch;
use crate::train::TrainConfig;

/// The numbers a profile's protocol runs at. `--smoke` changes only these: the archive's
/// pin check and extraction, the format choice, the data loader, the training loop,
/// scoring, the pins and the claims are the same functions as in a full run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ProfileBudget {
    /// Architecture (`None`: the profile's).
    pub arch: Option<Arch>,
    /// Training epochs (`None`: the profile's).
    pub epochs: Option<usize>,
    /// Input side in pixels after preprocessing (`None`: the profile's, 100).
    pub size: Option<usize>,
    /// Test images explained per class and polarization.
    pub per_class: usize,
}

impl ProfileBudget {
    /// `--smoke`: ResNet-18, one epoch, 32x32 inputs (a 100x100 ResNet-18 scoring pass is
    /// about 10x the work: occlusion covers 4x4 instead of 18x18 windows), one test image per
    /// class. Minutes on a CPU; the numbers are not comparable with the paper's.
    pub const SMOKE: ProfileBudget = ProfileBudget {
        arch: Some(Arch::Resnet18),
        epochs: Some(1),
        size: Some(32),
        per_class: 1,
    };

    /// Sets the budget's numbers in a profile's training configuration. Fewer epochs
    /// scale the warm-up with them (the schedule keeps its shape: the paper profile's 2 of
    /// 60 epochs become 1/30 of one).
    pub fn apply(&self, c: &mut TrainConfig) {
        if let Some(a) = self.arch {
            c.model.arch = a;
        }
        if let Some(e) = self.epochs {
            if c.epochs > 0 {
                c.schedule.warmup_epochs *= e as f64 / c.epochs as f64;
            }
            c.epochs = e;
        }
        if let Some(s) = self.size {
            c.dataset.preprocess.size = s;
        }
    }

    /// The budget in words.
    pub fn describe(&self) -> String {
        let or = |v: Option<String>| v.unwrap_or_else(|| "the profile's".into());
        format!(
            "architecture {}, epochs {}, input {} px, {} test image(s) per class",
            or(self.arch.map(|a| a.to_string())),
            or(self.epochs.map(|e| e.to_string())),
            or(self.size.map(|s| s.to_string())),
            self.per_class
        )
    }

    /// Whether a training configuration has the smoke budget's numbers (how claims check
    /// re-derives that a run was a smoke run).
    pub fn is_smoke(c: &TrainConfig) -> bool {
        let s = ProfileBudget::SMOKE;
        s.arch == Some(c.model.arch)
            && s.epochs == Some(c.epochs)
            && s.size == Some(c.dataset.preprocess.size)
    }
}
