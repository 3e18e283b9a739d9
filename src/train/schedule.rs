//! Learning-rate schedules, evaluated per iteration from the iteration index alone (so a
//! resumed run gets exactly the learning rates of an uninterrupted one).
//!
//! With `t = iteration / iterations_per_epoch` (in epochs), `E` epochs, peak rate `lr`,
//! warm-up length `w` epochs and start ratio `s`:
//!
//! * warm-up (`t < w`): `lr * (s + (1 - s) * t / w)`, linear from `s * lr`;
//! * `cosine`: `lr_min + (lr - lr_min) * (1 + cos(pi * (t - w) / (E - w))) / 2` with
//!   `lr_min = min_lr_ratio * lr`;
//! * `step`: `lr * gamma^floor((t - w) / step_epochs)` (step decay every `step_epochs`);
//! * `constant`: `lr`.

use serde::{Deserialize, Serialize};

/// Schedule family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScheduleKind {
    /// Cosine decay from the peak to `min_lr_ratio * lr` after the warm-up
    #[default]
    Cosine,
    /// Multiply by `gamma` every `step_epochs` after the warm-up
    Step,
    /// The peak rate after the warm-up
    Constant,
}

/// Schedule settings (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScheduleConfig {
    /// Cosine, step or constant.
    pub kind: ScheduleKind,
    /// Linear warm-up length in epochs (may be fractional; 0 disables it).
    pub warmup_epochs: f64,
    /// Learning rate at the start of the warm-up, as a fraction of the peak.
    pub warmup_start_ratio: f64,
    /// Floor of the cosine schedule, as a fraction of the peak.
    pub min_lr_ratio: f64,
    /// Step schedule: epochs between decays.
    pub step_epochs: usize,
    /// Step schedule: factor per decay.
    pub gamma: f64,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        ScheduleConfig {
            kind: ScheduleKind::Cosine,
            warmup_epochs: 1.0,
            warmup_start_ratio: 0.1,
            min_lr_ratio: 0.0,
            step_epochs: 10,
            gamma: 0.1,
        }
    }
}

impl ScheduleConfig {
    /// Checks the ranges against the run's epoch count.
    pub fn validate(&self, epochs: usize) -> Result<(), String> {
        if !(self.warmup_epochs.is_finite() && self.warmup_epochs >= 0.0)
            || self.warmup_epochs > epochs as f64
        {
            return Err(format!(
                "schedule.warmup_epochs = {} must be >= 0 and at most the {epochs} epoch(s)",
                self.warmup_epochs
            ));
        }
        for (name, v) in [
            ("warmup_start_ratio", self.warmup_start_ratio),
            ("min_lr_ratio", self.min_lr_ratio),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("schedule.{name} = {v} must be in [0, 1]"));
            }
        }
        if self.kind == ScheduleKind::Step
            && (self.step_epochs == 0 || !(self.gamma > 0.0 && self.gamma <= 1.0))
        {
            return Err(format!(
                "step schedule needs step_epochs >= 1 (got {}) and gamma in (0, 1] (got {})",
                self.step_epochs, self.gamma
            ));
        }
        Ok(())
    }

    /// The learning rate of iteration `iter` (0-based) for peak rate `lr`, `epochs`
    /// epochs of `iters_per_epoch` iterations.
    pub fn lr_at(&self, lr: f64, epochs: usize, iters_per_epoch: usize, iter: usize) -> f64 {
        let ipe = iters_per_epoch.max(1) as f64;
        let t = iter as f64 / ipe;
        let w = self.warmup_epochs;
        if t < w {
            return lr * (self.warmup_start_ratio + (1.0 - self.warmup_start_ratio) * t / w);
        }
        match self.kind {
            ScheduleKind::Constant => lr,
            ScheduleKind::Cosine => {
                let span = (epochs as f64 - w).max(1e-12);
                let p = ((t - w) / span).clamp(0.0, 1.0);
                let lo = self.min_lr_ratio * lr;
                lo + (lr - lo) * 0.5 * (1.0 + (std::f64::consts::PI * p).cos())
            }
            ScheduleKind::Step => {
                let k = ((t - w) / self.step_epochs as f64).floor().max(0.0);
                lr * self.gamma.powf(k)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_with_warmup_has_the_documented_shape() {
        let s = ScheduleConfig::default();
        let lr = |i| s.lr_at(0.1, 10, 100, i);
        assert!((lr(0) - 0.01).abs() < 1e-12);
        assert!((lr(50) - 0.055).abs() < 1e-12);
        assert!((lr(100) - 0.1).abs() < 1e-12);
        assert!((lr(550) - 0.05).abs() < 1e-12);
        assert!(lr(999) < 1e-4 && lr(999) > 0.0);
        for i in 100..999 {
            assert!(lr(i + 1) <= lr(i));
        }
    }

    #[test]
    fn step_and_constant() {
        let s = ScheduleConfig {
            kind: ScheduleKind::Step,
            warmup_epochs: 0.0,
            step_epochs: 3,
            gamma: 0.5,
            ..Default::default()
        };
        assert_eq!(s.lr_at(1.0, 9, 10, 0), 1.0);
        assert_eq!(s.lr_at(1.0, 9, 10, 29), 1.0);
        assert_eq!(s.lr_at(1.0, 9, 10, 30), 0.5);
        assert_eq!(s.lr_at(1.0, 9, 10, 65), 0.25);
        let c = ScheduleConfig {
            kind: ScheduleKind::Constant,
            warmup_epochs: 0.0,
            ..Default::default()
        };
        assert_eq!(c.lr_at(0.3, 5, 7, 20), 0.3);
        assert!(ScheduleConfig {
            warmup_epochs: 6.0,
            ..Default::default()
        }
        .validate(5)
        .is_err());
        assert!(ScheduleConfig::default().validate(2).is_ok());
    }
}
