//! Model-parameter randomisation test (Adebayo, Gilmer, Muelly, Goodfellow, Hardt and Kim
//! 2018, "Sanity checks for saliency maps", NeurIPS): an explanation that depends on what
//! the model learned must change when the learned weights are destroyed.
//!
//! The ResNet is re-initialised stage by stage from the top, `fc`, `layer4`, `layer3`,
//! `layer2`, `layer1`, `stem` (`conv1` + `bn1`), **cascading** by default (stage `k`
//! randomises stages `1..=k`; [`Order::Independent`] randomises one stage at a time). A stage
//! is re-initialised with the model's own initialisation, [`ResNet::new`], built on the CPU
//! after `tch::manual_seed(seed)`: every tensor of the stage is replaced, convolution
//! weights by Kaiming-normal draws, `fc` by uniform draws, and BatchNorm to weight 1, bias 0,
//! running mean 0, running variance 1 (what PyTorch's `reset_parameters`, which Quantus'
//! `MPRT` calls, does). The trained model is never modified: the randomised model is a copy.
//!
//! After each stage the attribution is recomputed and compared with the original one per
//! image by the Spearman rank correlation over all its elements,
//!
//! `rho = cov(R(|a|), R(|b|)) / (sd(R(|a|)) sd(R(|b|)))`,
//!
//! with average ranks `R` for ties, of the **absolute** attributions by default (Quantus'
//! `MPRT` default `abs=True`; Adebayo et al. report both). A method passes when the
//! correlation falls towards 0 as more of the model is randomised; a correlation is NaN when
//! either map is constant. SSIM is not computed.
//!
//! Note: this re-seeds tch's global random generator (`tch::manual_seed(seed)`), so random
//! draws from other threads while the fresh weights are made would change them.

use tch::{Device, Kind, Tensor};

use super::MetricError;
use crate::attr::Attribution;
use crate::model::ResNet;

/// A group of ResNet layers randomised together.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// The final linear layer.
    Fc,
    /// The fourth stage of residual blocks.
    Layer4,
    /// The third stage.
    Layer3,
    /// The second stage.
    Layer2,
    /// The first stage.
    Layer1,
    /// The first convolution and its BatchNorm.
    Stem,
}

impl Stage {
    /// The cascade order, from the logits down to the input.
    pub const TOP_DOWN: [Stage; 6] = [
        Stage::Fc,
        Stage::Layer4,
        Stage::Layer3,
        Stage::Layer2,
        Stage::Layer1,
        Stage::Stem,
    ];

    /// The stage's name in records (`fc`, `layer4`, ..., `stem`).
    pub fn name(self) -> &'static str {
        match self {
            Stage::Fc => "fc",
            Stage::Layer4 => "layer4",
            Stage::Layer3 => "layer3",
            Stage::Layer2 => "layer2",
            Stage::Layer1 => "layer1",
            Stage::Stem => "stem",
        }
    }

    /// The state_dict name prefixes of the stage's tensors.
    pub fn prefixes(self) -> &'static [&'static str] {
        match self {
            Stage::Fc => &["fc."],
            Stage::Layer4 => &["layer4."],
            Stage::Layer3 => &["layer3."],
            Stage::Layer2 => &["layer2."],
            Stage::Layer1 => &["layer1."],
            Stage::Stem => &["conv1.", "bn1."],
        }
    }

    fn holds(self, name: &str) -> bool {
        self.prefixes().iter().any(|p| name.starts_with(p))
    }
}

/// Cascading (Adebayo et al.'s main test) or one stage at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Order {
    /// Each stage randomised on top of the stages before it.
    Cascading,
    /// Each stage randomised alone in the trained model.
    Independent,
}

/// Model parameter randomisation settings (Adebayo et al. 2018).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RandomisationConfig {
    /// Seed of the fresh weights (default 42, Quantus' default).
    pub seed: i64,
    /// Cascading or independent.
    pub order: Order,
    /// Stages in the order they are randomised (default [`Stage::TOP_DOWN`]).
    pub stages: Vec<Stage>,
    /// Rank the absolute attributions (default true).
    pub abs: bool,
}

impl Default for RandomisationConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            order: Order::Cascading,
            stages: Stage::TOP_DOWN.to_vec(),
            abs: true,
        }
    }
}

/// The correlation after randomising one more stage.
#[derive(Debug)]
pub struct StageCorrelation {
    /// The stage randomised at this step.
    pub stage: Stage,
    /// Every stage randomised in the model explained at this step.
    pub randomised: Vec<Stage>,
    /// Spearman rank correlation with the original attribution, (N,) f64 on the CPU.
    pub spearman: Tensor,
}

/// Copies the tensors named by `filter` from `src` into `dst` (same architecture), checking
/// names and shapes; dtypes and devices are converted.
fn copy_vars(dst: &ResNet, src: &ResNet, filter: impl Fn(&str) -> bool) -> Result<(), MetricError> {
    let from = src.vs.variables();
    tch::no_grad(|| {
        for (name, t) in dst.vs.variables() {
            if !filter(&name) {
                continue;
            }
            let s = from.get(&name).ok_or_else(|| {
                MetricError::Config(format!("the source model has no tensor {name}"))
            })?;
            if s.size() != t.size() {
                return Err(MetricError::Shape {
                    what: "model tensor",
                    expected: format!("{name} {:?}", t.size()),
                    got: s.size(),
                });
            }
            let mut t = t;
            t.f_copy_(s)?;
        }
        Ok(())
    })
}

/// A new model with the architecture, device and float kind of `model` and its weights.
fn clone_model(model: &ResNet) -> Result<ResNet, MetricError> {
    let mut copy = ResNet::new(model.config, model.device());
    let kind = model
        .vs
        .variables()
        .get("conv1.weight")
        .map(|t| t.kind())
        .unwrap_or(Kind::Float);
    match kind {
        Kind::Double => copy.vs.double(),
        Kind::Half => copy.vs.half(),
        Kind::BFloat16 => copy.vs.bfloat16(),
        _ => {}
    }
    copy_vars(&copy, model, |_| true)?;
    Ok(copy)
}

/// Freshly initialised weights for `model`'s architecture, on the CPU, from `seed`.
fn fresh_weights(model: &ResNet, seed: i64) -> ResNet {
    tch::manual_seed(seed);
    ResNet::new(model.config, Device::Cpu)
}

/// A copy of `model` with the tensors of `stages` re-initialised from `seed` (an exact copy
/// when `stages` is empty). `model` is not modified.
pub fn randomised_copy(model: &ResNet, stages: &[Stage], seed: i64) -> Result<ResNet, MetricError> {
    let copy = clone_model(model)?;
    if !stages.is_empty() {
        let fresh = fresh_weights(model, seed);
        copy_vars(&copy, &fresh, |name| stages.iter().any(|s| s.holds(name)))?;
    }
    Ok(copy)
}

/// Average ranks (1-based) with ties sharing the mean of their positions.
fn average_ranks(v: &[f64]) -> Vec<f64> {
    let n = v.len();
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&i, &j| v[i].total_cmp(&v[j]));
    let mut ranks = vec![0.0; n];
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        let r = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            ranks[k] = r;
        }
        i = j + 1;
    }
    ranks
}

fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut cov, mut va, mut vb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        cov += (x - ma) * (y - mb);
        va += (x - ma) * (x - ma);
        vb += (y - mb) * (y - mb);
    }
    if va == 0.0 || vb == 0.0 {
        f64::NAN
    } else {
        cov / (va * vb).sqrt()
    }
}

/// Spearman rank correlation of `a[i]` and `b[i]` over all their elements, per image, of
/// the absolute values when `abs`: (N,) f64 on the CPU, NaN where either map is constant.
pub fn spearman(a: &Tensor, b: &Tensor, abs: bool) -> Result<Tensor, MetricError> {
    let s = a.size();
    if s.is_empty() || s[0] == 0 || s[1..].contains(&0) || b.size() != s {
        return Err(MetricError::Shape {
            what: "attributions to correlate",
            expected: format!("two tensors of one shape (N, ...), the first being {s:?}"),
            got: b.size(),
        });
    }
    let prep = |t: &Tensor| -> Result<Vec<Vec<f64>>, MetricError> {
        let t = t
            .detach()
            .to_device(Device::Cpu)
            .to_kind(Kind::Double)
            .reshape([s[0], -1]);
        let t = if abs { t.abs() } else { t };
        if !bool::try_from(t.isfinite().all())? {
            return Err(MetricError::NonFinite {
                what: "attributions",
            });
        }
        Ok(Vec::<Vec<f64>>::try_from(&t)?)
    };
    let (a, b) = (prep(a)?, prep(b)?);
    let rho: Vec<f64> = a
        .iter()
        .zip(&b)
        .map(|(x, y)| pearson(&average_ranks(x), &average_ranks(y)))
        .collect();
    Ok(Tensor::from_slice(&rho))
}

/// The randomisation test of `method` on `model` at `inputs`: one correlation per stage of
/// `cfg.stages`, in order. The original attribution is computed once, then one attribution
/// of the whole batch per stage (the method's own batching applies).
pub fn parameter_randomisation(
    model: &ResNet,
    method: &dyn Attribution,
    inputs: &Tensor,
    targets: &Tensor,
    cfg: &RandomisationConfig,
) -> Result<Vec<StageCorrelation>, MetricError> {
    let original = method.attribute(model, inputs, targets)?.detach();
    if cfg.stages.is_empty() {
        return Ok(Vec::new());
    }
    let fresh = fresh_weights(model, cfg.seed);
    let work = clone_model(model)?;
    let mut out = Vec::with_capacity(cfg.stages.len());
    for (i, &stage) in cfg.stages.iter().enumerate() {
        let randomised = match cfg.order {
            Order::Cascading => cfg.stages[..=i].to_vec(),
            Order::Independent => {
                if i > 0 {
                    let previous = cfg.stages[i - 1];
                    copy_vars(&work, model, |name| previous.holds(name))?;
                }
                vec![stage]
            }
        };
        copy_vars(&work, &fresh, |name| stage.holds(name))?;
        let attr = method.attribute(&work, inputs, targets)?.detach();
        out.push(StageCorrelation {
            stage,
            randomised,
            spearman: spearman(&original, &attr, cfg.abs)?,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Arch, ResNetConfig};

    fn values(t: &Tensor) -> Vec<f64> {
        Vec::<f64>::try_from(t).unwrap()
    }

    #[test]
    fn ranks_average_ties() {
        assert_eq!(average_ranks(&[3.0, 1.0, 2.0]), [3.0, 1.0, 2.0]);
        assert_eq!(average_ranks(&[5.0, 1.0, 5.0, 0.0]), [3.5, 2.0, 3.5, 1.0]);
    }

    #[test]
    fn spearman_of_monotone_reversed_and_constant_maps() {
        let a = Tensor::from_slice(&[1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0]).view([2, 3]);
        let up = a.exp(); // monotone: rank correlation 1
        let down = -&a; // reversed without abs: -1
        assert_eq!(values(&spearman(&a, &up, false).unwrap()), [1.0, 1.0]);
        let r = values(&spearman(&a, &down, false).unwrap());
        assert!(r.iter().all(|v| (v + 1.0).abs() < 1e-12), "{r:?}");
        // With abs, -a ranks like a.
        assert_eq!(values(&spearman(&a, &down, true).unwrap()), [1.0, 1.0]);
        let c = Tensor::ones([2, 3], (Kind::Double, Device::Cpu));
        assert!(values(&spearman(&a, &c, true).unwrap())
            .iter()
            .all(|v| v.is_nan()));
        assert!(spearman(&a, &a.view([3, 2]), true).is_err());
    }

    #[test]
    fn randomised_copy_replaces_exactly_the_named_stages() {
        tch::manual_seed(7);
        let model = ResNet::new(
            ResNetConfig::new(Arch::Resnet18, 1, 3).unwrap(),
            Device::Cpu,
        );
        // The stages to randomise hold a constant no initialisation draws: the global
        // generator is shared with the tests running beside this one (one of them may
        // re-seed it between `manual_seed(7)` and the model's initialisation, and the
        // model could then come out equal to the copy's fresh weights).
        tch::no_grad(|| {
            for (name, mut t) in model.vs.variables() {
                if name.starts_with("fc.") || name.starts_with("conv1.") {
                    let _ = t.fill_(0.5);
                }
            }
        });
        let same = randomised_copy(&model, &[], 1).unwrap();
        let top = randomised_copy(&model, &[Stage::Fc, Stage::Stem], 1).unwrap();
        let (orig, same, top) = (
            model.vs.variables(),
            same.vs.variables(),
            top.vs.variables(),
        );
        for (name, t) in &orig {
            assert!(same[name].equal(t), "identity copy changed {name}");
            let randomised = name.starts_with("fc.") || name.starts_with("conv1.");
            // BN tensors re-initialise to their (unchanged) defaults; weights change.
            if randomised {
                assert!(!top[name].equal(t), "{name} not randomised");
            } else if !name.starts_with("bn1.") {
                assert!(top[name].equal(t), "{name} randomised");
            }
        }
        // (That the same seed gives the same weights is checked in tests/metrics_properties.rs,
        // away from the other unit tests that draw from tch's global generator.)
    }
}
