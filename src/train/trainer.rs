//! One model, its optimizer and the loss: a training step, batch assembly with
//! augmentation, and the per-epoch sample order.

use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use tch::{Device, Kind, Tensor};

use super::augment::AugmentConfig;
use super::config::{Balance, TrainConfig};
use super::data::Samples;
use super::optim::Optimizer;
use super::TrainError;
use crate::model::{ResNet, ResNetConfig};

/// Loss and accuracy of one step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepStats {
    /// Mean loss over the batch.
    pub loss: f64,
    /// Correct predictions in the batch (training mode, before the update).
    pub correct: i64,
    /// Images in the batch.
    pub n: i64,
}

/// A model with its optimizer and loss settings.
#[derive(Debug)]
pub struct Trainer {
    /// The model trained.
    pub model: ResNet,
    /// Its optimizer, with its state.
    pub opt: Optimizer,
    class_weights: Option<Tensor>,
    label_smoothing: f64,
}

impl Trainer {
    /// A freshly initialised model (after `tch::manual_seed(cfg.seed)`) and optimizer for
    /// `num_classes` classes; `train_counts` (samples per class) sets the loss weights when
    /// `balance` is `loss_weights`.
    pub fn new(
        cfg: &TrainConfig,
        num_classes: usize,
        train_counts: &[usize],
        device: Device,
    ) -> Result<Trainer, TrainError> {
        let mc = ResNetConfig::new(cfg.model.arch, cfg.model.channels, num_classes as i64)?;
        tch::manual_seed(cfg.seed as i64);
        let model = ResNet::new(mc, device);
        let opt = Optimizer::new(&cfg.optimizer, &model.vs);
        let class_weights = (cfg.balance == Balance::LossWeights)
            .then(|| Tensor::from_slice(&class_weights(train_counts)).to_device(device));
        Ok(Trainer {
            model,
            opt,
            class_weights,
            label_smoothing: cfg.label_smoothing,
        })
    }

    /// One optimisation step on inputs `x` (`(b, channels, h, w)`, on the model's device)
    /// and labels `y` (`(b,)` int64) at learning rate `lr`.
    pub fn step(&mut self, x: &Tensor, y: &Tensor, lr: f64) -> StepStats {
        let logits = self.model.forward_t(x, true);
        let loss = logits.cross_entropy_loss(
            y,
            self.class_weights.as_ref(),
            tch::Reduction::Mean,
            -100,
            self.label_smoothing,
        );
        // Gradients returned by autograd (not accumulated into zeroed `.grad` buffers),
        // consumed by the in-place update.
        let grads = Tensor::run_backward(&[&loss], self.opt.variables(), false, false);
        self.opt.step_with(grads, lr);
        let correct = logits
            .detach()
            .argmax(1, false)
            .eq_tensor(y)
            .sum(Kind::Int64);
        StepStats {
            loss: f64::try_from(&loss).unwrap_or(f64::NAN),
            correct: i64::try_from(&correct).unwrap_or(0),
            n: y.size()[0],
        }
    }
}

/// scikit-learn's "balanced" class weights `n / (k * n_c)` (0 for an empty class).
pub fn class_weights(counts: &[usize]) -> Vec<f32> {
    let n: usize = counts.iter().sum();
    let k = counts.len();
    counts
        .iter()
        .map(|&c| {
            if c == 0 {
                0.0
            } else {
                n as f32 / (k as f32 * c as f32)
            }
        })
        .collect()
}

/// The epoch's sample order: a permutation of the training samples, or, with
/// `Balance::Sampler`, as many draws with replacement (a class uniformly among the
/// classes present, then a sample of it uniformly).
pub fn epoch_order<S: Samples + ?Sized>(
    data: &S,
    num_classes: usize,
    balance: Balance,
    rng: &mut ChaCha8Rng,
) -> Vec<usize> {
    let n = data.len();
    match balance {
        Balance::Sampler => {
            let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); num_classes];
            for i in 0..n {
                by_class[data.label(i) as usize].push(i);
            }
            let present: Vec<&Vec<usize>> = by_class.iter().filter(|v| !v.is_empty()).collect();
            (0..n)
                .map(|_| {
                    let members = present[rng.random_range(0..present.len())];
                    members[rng.random_range(0..members.len())]
                })
                .collect()
        }
        _ => {
            let mut order: Vec<usize> = (0..n).collect();
            order.shuffle(rng);
            order
        }
    }
}

/// Batches of an epoch: chunks of `batch_size`; a final batch of one sample is dropped
/// (BatchNorm cannot normalise a single sample when the last feature map is 1x1).
pub fn batches(order: &[usize], batch_size: usize) -> Vec<&[usize]> {
    order
        .chunks(batch_size)
        .filter(|c| c.len() > 1 || order.len() == 1)
        .collect()
}

/// Iterations per epoch for `n` samples.
pub fn iterations_per_epoch(n: usize, batch_size: usize) -> usize {
    let full = n / batch_size;
    let rest = n % batch_size;
    full + usize::from(rest > 1 || n == 1)
}

/// Assembles a batch: the images of `idx` (augmented with draws from `rng` when `augment`
/// is given), as `(b, channels, s, s)` on `device`, and their labels.
pub fn make_batch<S: Samples + ?Sized>(
    data: &S,
    idx: &[usize],
    augment: Option<(&AugmentConfig, &mut ChaCha8Rng)>,
    channels: i64,
    device: Device,
) -> (Tensor, Tensor) {
    let s = data.size();
    let per = s * s;
    let mut buf = vec![0f32; idx.len() * per];
    match augment {
        Some((cfg, rng)) if !cfg.is_identity() => {
            for (k, &i) in idx.iter().enumerate() {
                let t = cfg.draw(s, rng);
                let dst = &mut buf[k * per..(k + 1) * per];
                match data.context(i) {
                    Some((chip, margin)) => t.apply_within(chip, margin, dst, s),
                    None => t.apply(data.image(i), dst, s),
                }
            }
        }
        _ => {
            for (k, &i) in idx.iter().enumerate() {
                buf[k * per..(k + 1) * per].copy_from_slice(data.image(i));
            }
        }
    }
    let labels: Vec<i64> = idx.iter().map(|&i| data.label(i)).collect();
    let x = super::eval::input_tensor(&buf, s, channels, device);
    (x, Tensor::from_slice(&labels).to_device(device))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    struct Toy(Vec<i64>);
    impl Samples for Toy {
        fn len(&self) -> usize {
            self.0.len()
        }
        fn size(&self) -> usize {
            1
        }
        fn image(&self, _: usize) -> &[f32] {
            &[0.0]
        }
        fn label(&self, i: usize) -> i64 {
            self.0[i]
        }
    }

    #[test]
    fn balanced_sampler_equalises_classes() {
        let labels: Vec<i64> = (0..1000).map(|i| if i < 900 { 0 } else { 1 }).collect();
        let toy = Toy(labels);
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let order = epoch_order(&toy, 2, Balance::Sampler, &mut rng);
        let ones = order.iter().filter(|&&i| toy.label(i) == 1).count();
        assert!((400..600).contains(&ones), "{ones}");
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let mut perm = epoch_order(&toy, 2, Balance::None, &mut rng);
        perm.sort();
        assert_eq!(perm, (0..1000).collect::<Vec<_>>());
    }

    #[test]
    fn weights_and_batches() {
        assert_eq!(
            class_weights(&[30, 10, 0]),
            vec![40.0 / 90.0, 40.0 / 30.0, 0.0]
        );
        let order: Vec<usize> = (0..9).collect();
        assert_eq!(batches(&order, 4).len(), 2);
        assert_eq!(iterations_per_epoch(9, 4), 2);
        assert_eq!(batches(&order, 3).len(), 3);
        assert_eq!(iterations_per_epoch(10, 4), 3);
        assert_eq!(iterations_per_epoch(1, 4), 1);
    }
}
