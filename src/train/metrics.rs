//! The per-epoch metrics log (`metrics.jsonl`, one JSON object per completed epoch,
//! rewritten atomically after every epoch from the checkpointed history, so a resumed run
//! never repeats or loses a line) and the training curve (`curve.png`).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::plot::{line_chart, Canvas, Series, BLUE, GREEN, ORANGE, WHITE};
use crate::io::write_atomic;

/// What one epoch did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Learning rate of the epoch's first iteration.
    pub lr_first: f64,
    /// Learning rate of the epoch's last iteration.
    pub lr_last: f64,
    /// Mean training loss over the epoch (augmented images, training mode).
    pub train_loss: f64,
    /// Training accuracy over the epoch (augmented images, training mode), in `[0, 1]`.
    pub train_accuracy: f64,
    /// Validation loss (none without validation data).
    pub val_loss: Option<f64>,
    /// Validation accuracy, in `[0, 1]`.
    pub val_accuracy: Option<f64>,
    /// Validation balanced accuracy (mean per-class recall), in `[0, 1]`.
    pub val_balanced_accuracy: Option<f64>,
    /// Wall-clock seconds of the epoch (training and validation).
    pub seconds: f64,
    /// Training images per second.
    pub images_per_second: f64,
}

impl EpochMetrics {
    /// One line: `epoch  3/12  loss 0.4123  acc 86.25%  val_loss ...  lr 5.000e-2  9.1s (420 img/s)`.
    pub fn summary(&self, epochs: usize) -> String {
        format!(
            "epoch {:>3}/{}  loss {:.4}  acc {:.2}%{}  lr {:.3e}  {:.1}s ({:.0} img/s)",
            self.epoch,
            epochs,
            self.train_loss,
            100.0 * self.train_accuracy,
            match (&self.val_accuracy, &self.val_loss) {
                (Some(a), Some(l)) => format!("  val_loss {l:.4}  val_acc {:.2}%", 100.0 * a),
                _ => String::new(),
            },
            self.lr_first,
            self.seconds,
            self.images_per_second
        )
    }
}

/// Writes `metrics.jsonl` atomically.
pub fn write_jsonl(path: &Path, metrics: &[EpochMetrics]) -> std::io::Result<()> {
    let mut text = String::new();
    for m in metrics {
        text.push_str(&serde_json::to_string(m).map_err(std::io::Error::other)?);
        text.push('\n');
    }
    write_atomic(path, text.as_bytes())
}

/// Reads `metrics.jsonl`.
pub fn read_jsonl(path: &Path) -> std::io::Result<Vec<EpochMetrics>> {
    std::fs::read_to_string(path)?
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).map_err(std::io::Error::other))
        .collect()
}

/// The training curve: loss, accuracy (%) and learning rate per epoch, side by side.
pub fn curve_canvas(metrics: &[EpochMetrics], title: &str) -> Canvas {
    let (pw, ph) = (420usize, 300usize);
    let mut c = Canvas::new(3 * pw, ph + 30, WHITE);
    c.text(10, 8, title, 2, super::plot::BLACK);
    let pts = |f: &dyn Fn(&EpochMetrics) -> Option<f64>| -> Vec<(f64, f64)> {
        metrics
            .iter()
            .map(|m| (m.epoch as f64, f(m).unwrap_or(f64::NAN)))
            .collect()
    };
    let has_val = metrics.iter().any(|m| m.val_accuracy.is_some());
    let mut loss = vec![Series {
        label: "TRAIN",
        color: BLUE,
        points: pts(&|m| Some(m.train_loss)),
    }];
    let mut acc = vec![Series {
        label: "TRAIN",
        color: BLUE,
        points: pts(&|m| Some(100.0 * m.train_accuracy)),
    }];
    if has_val {
        loss.push(Series {
            label: "VAL",
            color: ORANGE,
            points: pts(&|m| m.val_loss),
        });
        acc.push(Series {
            label: "VAL",
            color: ORANGE,
            points: pts(&|m| m.val_accuracy.map(|a| 100.0 * a)),
        });
        acc.push(Series {
            label: "VAL BALANCED",
            color: GREEN,
            points: pts(&|m| m.val_balanced_accuracy.map(|a| 100.0 * a)),
        });
    }
    let lr = vec![Series {
        label: "",
        color: BLUE,
        points: pts(&|m| Some(m.lr_first)),
    }];
    line_chart(&mut c, 0, 30, pw, ph, "LOSS", &loss, None);
    line_chart(
        &mut c,
        pw as i64,
        30,
        pw,
        ph,
        "ACCURACY %",
        &acc,
        Some((0.0, 100.0)),
    );
    line_chart(
        &mut c,
        2 * pw as i64,
        30,
        pw,
        ph,
        "LEARNING RATE",
        &lr,
        None,
    );
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(e: usize) -> EpochMetrics {
        EpochMetrics {
            epoch: e,
            lr_first: 0.1 / e as f64,
            lr_last: 0.1 / e as f64,
            train_loss: 2.0 / e as f64,
            train_accuracy: 0.2 * e as f64,
            val_loss: (e > 1).then_some(1.0),
            val_accuracy: Some(0.5),
            val_balanced_accuracy: Some(0.4),
            seconds: 1.0,
            images_per_second: 10.0,
        }
    }

    #[test]
    fn jsonl_round_trips_and_curve_draws() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("metrics.jsonl");
        let ms = vec![m(1), m(2), m(3)];
        write_jsonl(&p, &ms).unwrap();
        assert_eq!(read_jsonl(&p).unwrap(), ms);
        assert_eq!(std::fs::read_to_string(&p).unwrap().lines().count(), 3);
        let c = curve_canvas(&ms, "VH RESNET18");
        assert!(c.pixels.chunks(3).any(|px| px == ORANGE));
        c.save_png(&dir.path().join("curve.png")).unwrap();
    }
}
