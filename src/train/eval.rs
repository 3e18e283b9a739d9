//! Evaluation of a classifier on one split: overall accuracy with 95 % confidence
//! intervals ([`crate::stats`]), balanced accuracy, per-class precision / recall / F1 and the confusion
//! matrix (text, JSON and PNG).
//!
//! Definitions (n samples, k correct, classes c with support n_c > 0 in the split):
//!
//! * accuracy `k / n`; its 95 % interval is **Wilson's score interval** (the primary one,
//!   `ci95`), with z the 0.975 quantile of the standard normal (statrs); the exact
//!   **Clopper-Pearson** interval (Beta quantiles through statrs' inverse regularised
//!   incomplete beta function) is reported too (`ci95_exact`);
//! * balanced accuracy: the mean recall over classes with support > 0 (scikit-learn's
//!   `balanced_accuracy_score`);
//! * precision `tp / predicted`, undefined (reported as none) when the class is never
//!   predicted; recall `tp / support`, undefined without support; F1 their harmonic mean
//!   (0 when both are 0, undefined when either is undefined);
//! * macro F1: the mean F1 over classes with support > 0, an undefined F1 counting as 0;
//! * confusion matrix: rows are true classes, columns predicted classes.

use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

use super::data::Samples;
use super::plot::{text_width, Canvas, BLACK, WHITE};
use crate::model::folded::FoldedResNet;
use crate::model::ResNet;
use crate::stats::{clopper_pearson_interval, wilson_interval, Interval};

/// Metrics of one class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    pub name: String,
    /// Samples of this class in the split.
    pub support: u64,
    /// Samples predicted as this class.
    pub predicted: u64,
    pub true_positives: u64,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub f1: Option<f64>,
}

/// The evaluation of a classifier on one split (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// Which split (e.g. `test`).
    pub split: String,
    pub n: u64,
    pub correct: u64,
    pub accuracy: f64,
    /// Wilson score interval, 95 %.
    pub ci95: Interval,
    /// Clopper-Pearson interval, 95 %.
    pub ci95_exact: Interval,
    pub balanced_accuracy: f64,
    pub macro_f1: f64,
    /// Mean cross-entropy, when computed.
    pub mean_loss: Option<f64>,
    pub classes: Vec<ClassMetrics>,
    /// `confusion[true][predicted]`.
    pub confusion: Vec<Vec<u64>>,
}

/// Errors of evaluation.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("{0} labels but {1} predictions")]
    Length(usize, usize),
    #[error("label {label} at position {index} is outside the {classes} classes")]
    Label {
        index: usize,
        label: i64,
        classes: usize,
    },
    #[error("nothing to evaluate: the {0} split is empty")]
    Empty(String),
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}

impl EvalReport {
    /// The report of predictions `pred` against labels `truth`.
    pub fn from_predictions(
        split: &str,
        classes: &[String],
        truth: &[i64],
        pred: &[i64],
        mean_loss: Option<f64>,
    ) -> Result<EvalReport, EvalError> {
        if truth.len() != pred.len() {
            return Err(EvalError::Length(truth.len(), pred.len()));
        }
        if truth.is_empty() {
            return Err(EvalError::Empty(split.to_string()));
        }
        let k = classes.len();
        let mut confusion = vec![vec![0u64; k]; k];
        for (i, (&t, &p)) in truth.iter().zip(pred).enumerate() {
            for (label, what) in [(t, t), (p, p)] {
                if !(0..k as i64).contains(&label) {
                    return Err(EvalError::Label {
                        index: i,
                        label: what,
                        classes: k,
                    });
                }
            }
            confusion[t as usize][p as usize] += 1;
        }
        let n = truth.len() as u64;
        let correct: u64 = (0..k).map(|c| confusion[c][c]).sum();
        let per_class: Vec<ClassMetrics> = (0..k)
            .map(|c| {
                let support: u64 = confusion[c].iter().sum();
                let predicted: u64 = confusion.iter().map(|row| row[c]).sum();
                let tp = confusion[c][c];
                let precision = (predicted > 0).then(|| tp as f64 / predicted as f64);
                let recall = (support > 0).then(|| tp as f64 / support as f64);
                let f1 = match (precision, recall) {
                    (Some(p), Some(r)) if p + r > 0.0 => Some(2.0 * p * r / (p + r)),
                    (Some(_), Some(_)) => Some(0.0),
                    _ => None,
                };
                ClassMetrics {
                    name: classes[c].clone(),
                    support,
                    predicted,
                    true_positives: tp,
                    precision,
                    recall,
                    f1,
                }
            })
            .collect();
        let present: Vec<&ClassMetrics> = per_class.iter().filter(|c| c.support > 0).collect();
        let balanced_accuracy =
            present.iter().filter_map(|c| c.recall).sum::<f64>() / present.len() as f64;
        let macro_f1 =
            present.iter().map(|c| c.f1.unwrap_or(0.0)).sum::<f64>() / present.len() as f64;
        Ok(EvalReport {
            split: split.to_string(),
            n,
            correct,
            accuracy: correct as f64 / n as f64,
            ci95: wilson_interval(correct, n, 0.95),
            ci95_exact: clopper_pearson_interval(correct, n, 0.95),
            balanced_accuracy,
            macro_f1,
            mean_loss,
            classes: per_class,
            confusion,
        })
    }

    /// A one-line summary: `test: accuracy 91.50 % (95 % CI 87.9-94.1, Wilson), balanced 91.2 %`.
    pub fn summary(&self) -> String {
        format!(
            "{}: accuracy {:.2} % ({}/{}; 95 % CI {:.2}-{:.2} %, Wilson), balanced accuracy {:.2} %, macro F1 {:.3}",
            self.split,
            100.0 * self.accuracy,
            self.correct,
            self.n,
            100.0 * self.ci95.lo,
            100.0 * self.ci95.hi,
            100.0 * self.balanced_accuracy,
            self.macro_f1
        )
    }

    /// The report as plain text: summary, per-class table and confusion matrix.
    pub fn to_text(&self) -> String {
        let opt = |v: Option<f64>| v.map_or("   n/a".to_string(), |v| format!("{v:6.3}"));
        let mut s = String::new();
        let _ = writeln!(s, "{}", self.summary());
        let _ = writeln!(
            s,
            "95 % CI, exact (Clopper-Pearson): {:.2}-{:.2} %",
            100.0 * self.ci95_exact.lo,
            100.0 * self.ci95_exact.hi
        );
        if let Some(l) = self.mean_loss {
            let _ = writeln!(s, "mean cross-entropy: {l:.4}");
        }
        let w = self
            .classes
            .iter()
            .map(|c| c.name.len())
            .max()
            .unwrap_or(5)
            .max(5);
        let _ = writeln!(s, "\n{:w$}  precision  recall      f1  support", "class");
        for c in &self.classes {
            let _ = writeln!(
                s,
                "{:w$}     {}  {}  {}  {:7}",
                c.name,
                opt(c.precision),
                opt(c.recall),
                opt(c.f1),
                c.support
            );
        }
        let _ = writeln!(
            s,
            "\nconfusion matrix (rows: true class, columns: predicted)"
        );
        let cw = self
            .confusion
            .iter()
            .flatten()
            .map(|v| v.to_string().len())
            .max()
            .unwrap_or(1)
            .max(3);
        let _ = write!(s, "{:w$} ", "");
        for k in 0..self.classes.len() {
            let _ = write!(s, " {:>cw$}", format!("c{k}"));
        }
        let _ = writeln!(s);
        for (k, row) in self.confusion.iter().enumerate() {
            let _ = write!(s, "{:w$} ", format!("c{k} {}", self.classes[k].name));
            let _ = write!(s, "");
            for v in row {
                let _ = write!(s, " {v:>cw$}");
            }
            let _ = writeln!(s);
        }
        s
    }

    /// The confusion matrix as an image: row-normalised shading, counts in the cells,
    /// class names on both axes.
    pub fn confusion_canvas(&self) -> Canvas {
        let k = self.classes.len().max(1);
        let cell = 44usize;
        let label_w = self
            .classes
            .iter()
            .map(|c| text_width(&c.name, 1))
            .max()
            .unwrap_or(0)
            + 16;
        let (ox, oy) = (label_w as i64 + 20, label_w as i64 + 40);
        let width = ox as usize + k * cell + 20;
        let height = oy as usize + k * cell + 40;
        let mut c = Canvas::new(width, height, WHITE);
        let title = format!(
            "{} ACCURACY {:.2}% (N={})",
            self.split,
            100.0 * self.accuracy,
            self.n
        );
        c.text(10, 8, &title, 2, BLACK);
        c.text(ox, oy - 14 - label_w as i64 + 24, "PREDICTED", 1, BLACK);
        c.text_vertical(4, oy, "TRUE", 1, BLACK);
        for (t, row) in self.confusion.iter().enumerate() {
            let support: u64 = row.iter().sum::<u64>().max(1);
            for (p, &v) in row.iter().enumerate() {
                let f = v as f64 / support as f64;
                let shade = |full: u8| (255.0 - f * (255.0 - full as f64)).round() as u8;
                let color = [shade(8), shade(48), shade(107)];
                let (x, y) = (ox + (p * cell) as i64, oy + (t * cell) as i64);
                c.fill_rect(x, y, cell, cell, color);
                c.rect(x, y, cell, cell, [220, 220, 220]);
                let label = v.to_string();
                let ink = if f > 0.5 { WHITE } else { BLACK };
                c.text(
                    x + (cell as i64 - text_width(&label, 1) as i64) / 2,
                    y + cell as i64 / 2 - 3,
                    &label,
                    1,
                    ink,
                );
            }
        }
        for (i, cls) in self.classes.iter().enumerate() {
            let tw = text_width(&cls.name, 1) as i64;
            c.text(
                ox - tw - 6,
                oy + (i * cell + cell / 2) as i64 - 3,
                &cls.name,
                1,
                BLACK,
            );
            c.text_vertical(
                ox + (i * cell + cell / 2) as i64 - 3,
                oy - tw - 6,
                &cls.name,
                1,
                BLACK,
            );
        }
        c
    }

    /// Writes the confusion matrix PNG atomically.
    pub fn save_confusion_png(&self, path: &Path) -> std::io::Result<()> {
        self.confusion_canvas().save_png(path)
    }
}

/// Batches of `images` (`n` samples of `size` x `size`) as model inputs on `device`:
/// shape `(b, channels, size, size)`, the band replicated when `channels` is 3.
pub fn input_tensor(images: &[f32], size: usize, channels: i64, device: Device) -> Tensor {
    let n = (images.len() / (size * size)) as i64;
    let x = Tensor::from_slice(images).reshape([n, 1, size as i64, size as i64]);
    let x = if channels > 1 {
        x.repeat([1, channels, 1, 1])
    } else {
        x
    };
    x.to_device(device)
}

/// Predictions of `model` in evaluation mode on `data`, in batches of `batch`, with the
/// mean cross-entropy against the samples' labels. The logits come from the model with
/// BatchNorm folded into its convolutions ([`FoldedResNet`]: the same affine maps, fewer
/// passes over memory; equal to `forward_t(x, false)` up to float rounding).
pub fn predict(
    model: &ResNet,
    data: &dyn Samples,
    batch: usize,
) -> Result<(Vec<i64>, f64), EvalError> {
    let n = data.len();
    let size = data.size();
    let per = size * size;
    let channels = model.config.in_channels;
    let device = model.device();
    let mut preds = Vec::with_capacity(n);
    let mut loss_sum = 0.0f64;
    let mut buf = Vec::with_capacity(batch.max(1) * per);
    let folded = FoldedResNet::new(model);
    tch::no_grad(|| -> Result<(), EvalError> {
        for start in (0..n).step_by(batch.max(1)) {
            let end = (start + batch.max(1)).min(n);
            buf.clear();
            for i in start..end {
                buf.extend_from_slice(data.image(i));
            }
            let x = input_tensor(&buf, size, channels, device);
            let logits = folded.forward(&x);
            let p = logits.argmax(1, false).to_device(Device::Cpu);
            preds.extend(Vec::<i64>::try_from(&p)?);
            let labels: Vec<i64> = (start..end).map(|i| data.label(i)).collect();
            let y = Tensor::from_slice(&labels).to_device(device);
            let loss = logits.to_kind(Kind::Float).cross_entropy_loss::<Tensor>(
                &y,
                None,
                tch::Reduction::Sum,
                -100,
                0.0,
            );
            loss_sum += f64::try_from(loss)?;
        }
        Ok(())
    })?;
    Ok((preds, loss_sum / n.max(1) as f64))
}

/// Evaluates `model` on `data` (one split), reporting it under the name `split`.
pub fn evaluate(
    model: &ResNet,
    split: &str,
    classes: &[String],
    data: &dyn Samples,
    batch: usize,
) -> Result<EvalReport, EvalError> {
    if data.is_empty() {
        return Err(EvalError::Empty(split.to_string()));
    }
    let (pred, loss) = predict(model, data, batch)?;
    EvalReport::from_predictions(split, classes, &data.labels(), &pred, Some(loss))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(k: usize) -> Vec<String> {
        (0..k).map(|i| format!("class{i}")).collect()
    }

    /// Side of the test images.
    const SIDE: usize = 24;

    /// Random `SIDE` x `SIDE` images with labels, as [`Samples`].
    struct Images {
        pixels: Vec<f32>,
        labels: Vec<i64>,
    }

    impl Samples for Images {
        fn len(&self) -> usize {
            self.labels.len()
        }
        fn size(&self) -> usize {
            SIDE
        }
        fn image(&self, i: usize) -> &[f32] {
            &self.pixels[i * SIDE * SIDE..(i + 1) * SIDE * SIDE]
        }
        fn label(&self, i: usize) -> i64 {
            self.labels[i]
        }
    }

    /// `predict` (folded BatchNorm, in batches of 3) gives the unfolded model's arg-max
    /// and its mean cross-entropy to float rounding, on a model with random BatchNorm
    /// statistics.
    #[test]
    fn predict_equals_the_unfolded_model() {
        let model = crate::model::folded::tests::random_model(
            crate::model::Arch::Resnet18,
            2,
            4,
            Kind::Float,
        );
        tch::manual_seed(3);
        let n = 7;
        let data = Images {
            pixels: Vec::<f32>::try_from(Tensor::randn(
                [n * (SIDE * SIDE) as i64],
                (Kind::Float, Device::Cpu),
            ))
            .unwrap(),
            labels: (0..n).map(|i| i % 4).collect(),
        };
        let (pred, loss) = predict(&model, &data, 3).unwrap();
        let x = input_tensor(&data.pixels, SIDE, 2, Device::Cpu);
        let logits = tch::no_grad(|| model.forward_t(&x, false));
        let expected: Vec<i64> = Vec::try_from(logits.argmax(1, false)).unwrap();
        let y = Tensor::from_slice(&data.labels);
        let want = f64::try_from(logits.cross_entropy_for_logits(&y)).unwrap();
        assert_eq!(pred, expected);
        assert!((loss - want).abs() <= 1e-5 * want.abs(), "{loss} vs {want}");
    }

    #[test]
    fn metrics_match_scikit_learn_on_a_small_example() {
        // y_true = [0,0,0,1,1,2], y_pred = [0,0,1,1,1,0]:
        // accuracy 4/6, balanced accuracy (2/3 + 1 + 0)/3, precision [2/3, 2/3, 0/0],
        // recall [2/3, 1, 0], f1 [2/3, 0.8, undefined precision -> none].
        let r = EvalReport::from_predictions(
            "test",
            &names(3),
            &[0, 0, 0, 1, 1, 2],
            &[0, 0, 1, 1, 1, 0],
            None,
        )
        .unwrap();
        assert_eq!((r.n, r.correct), (6, 4));
        assert!((r.balanced_accuracy - (2.0 / 3.0 + 1.0) / 3.0).abs() < 1e-12);
        assert!((r.classes[1].f1.unwrap() - 0.8).abs() < 1e-12);
        assert_eq!(r.classes[2].precision, None);
        assert_eq!(r.classes[2].recall, Some(0.0));
        assert!((r.macro_f1 - (2.0 / 3.0 + 0.8) / 3.0).abs() < 1e-12);
        assert_eq!(
            r.confusion,
            vec![vec![2, 1, 0], vec![0, 2, 0], vec![1, 0, 0]]
        );
        let text = r.to_text();
        assert!(text.contains("n/a") && text.contains("Wilson"), "{text}");
        let png = r.confusion_canvas().to_png().unwrap();
        assert_eq!(&png[1..4], b"PNG");
    }

    #[test]
    fn bad_inputs_are_errors() {
        assert!(EvalReport::from_predictions("t", &names(2), &[0], &[0, 1], None).is_err());
        assert!(EvalReport::from_predictions("t", &names(2), &[0, 2], &[0, 1], None).is_err());
        assert!(EvalReport::from_predictions("t", &names(2), &[], &[], None).is_err());
    }
}
