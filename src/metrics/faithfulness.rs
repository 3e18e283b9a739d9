//! Deletion and insertion (Petsiuk, Das and Saenko 2018, "RISE: Randomized input sampling
//! for explanation of black-box models", BMVC): remove (or add) pixels in the order of their
//! attribution and follow the model's softmax probability of the target class.
//!
//! * Pixel importance is the attribution reduced over channels by the **sum of absolute
//!   values**, `s(p) = sum_c |a_c(p)|`; pixels are ranked by decreasing `s`, ties by raster
//!   order (a stable sort), and a pixel is always deleted or inserted in all channels.
//! * Step `k = 0..K` (default `K = 20`) changes the `n_k = floor(k H W / K)` most important
//!   pixels: equal pixel fractions, exactly `k / K` when `K` divides `H W`.
//! * **Deletion** sets those pixels of `x` to the baseline; **insertion** starts from the
//!   baseline and puts those pixels of `x` back. The default baseline is the constant 0 for
//!   both (after sarxai's dataset normalisation, 0 is the training mean; it is also the
//!   baseline of Integrated Gradients and Occlusion in the study). RISE's blurred insertion
//!   baseline is available as [`Baseline::Blur`] (RISE: 11 x 11 kernel, sigma 5).
//! * The curve `y_k = softmax(f(x_k))[t]` is integrated over the deleted/inserted fraction
//!   `n_k / (H W)` on `[0, 1]` by the trapezoid rule. Lower deletion AUC and higher
//!   insertion AUC are better.
//!
//! All `K + 1` perturbed images of an image, and of several images, go through the model
//! together, in chunks sized by the [`MemoryBudget`].

use tch::{Device, Kind, Tensor};

use super::MetricError;
use crate::attr::batch::ranges;
use crate::attr::{validate, MemoryBudget};
use crate::model::folded::FoldedResNet;
use crate::model::ResNet;

/// What replaces deleted pixels, or what insertion starts from.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Baseline {
    /// Every value set to this constant.
    Constant(f64),
    /// The image blurred by a normalised Gaussian kernel (`kernel` x `kernel`, odd, standard
    /// deviation `sigma` pixels), per channel, with zero padding.
    Blur {
        /// Kernel side in pixels (odd).
        kernel: i64,
        /// Standard deviation in pixels.
        sigma: f64,
    },
}

impl Baseline {
    /// RISE's insertion baseline: an 11 x 11 Gaussian blur with sigma 5.
    #[cfg(test)]
    pub fn rise_blur() -> Self {
        Baseline::Blur {
            kernel: 11,
            sigma: 5.0,
        }
    }
}

/// Deletion or insertion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Game {
    /// Remove the most important pixels first (lower AUC is better).
    Deletion,
    /// Put the most important pixels back first (higher AUC is better).
    Insertion,
}

/// Deletion and insertion settings (RISE; default 20 steps, constant 0 baseline).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FaithfulnessConfig {
    /// Number of steps `K` (the curve has `K + 1` points).
    pub steps: usize,
    /// What deleted pixels become, and what insertion starts from.
    pub baseline: Baseline,
}

impl Default for FaithfulnessConfig {
    fn default() -> Self {
        Self {
            steps: 20,
            baseline: Baseline::Constant(0.0),
        }
    }
}

/// Deletion or insertion curves of a batch.
#[derive(Debug)]
pub struct Curves {
    /// Deletion or insertion.
    pub game: Game,
    /// Fraction of pixels deleted or inserted at each step, `n_k / (H W)`, from 0 to 1.
    pub fractions: Vec<f64>,
    /// Target-class scores (N, K + 1), f64 on the CPU.
    pub scores: Tensor,
    /// Area under each curve by the trapezoid rule over `fractions`, (N,) f64 on the CPU.
    pub auc: Tensor,
}

/// The area under `y(x)` by the trapezoid rule.
pub fn trapezoid(x: &[f64], y: &[f64]) -> f64 {
    x.windows(2)
        .zip(y.windows(2))
        .map(|(x, y)| (x[1] - x[0]) * (y[0] + y[1]) / 2.0)
        .sum()
}

/// Softmax probability of the target class, in chunks, without gradients, on the
/// BatchNorm-folded network (equal to the network's up to rounding).
fn target_probabilities(model: &FoldedResNet, x: &Tensor, t: &Tensor) -> Tensor {
    tch::no_grad(|| {
        model
            .forward(x)
            .softmax(-1, Kind::Double)
            .gather(1, &t.unsqueeze(1), false)
            .squeeze_dim(1)
    })
}

/// Deletion AUC of every image with the default configuration (20 steps, baseline 0):
/// (N,) f64 on the CPU. Lower is better.
pub fn deletion_auc(
    model: &ResNet,
    inputs: &Tensor,
    targets: &Tensor,
    attributions: &Tensor,
    budget: MemoryBudget,
) -> Result<Tensor, MetricError> {
    let cfg = FaithfulnessConfig::default();
    Ok(perturbation_curves(
        model,
        inputs,
        targets,
        attributions,
        Game::Deletion,
        &cfg,
        budget,
    )?
    .auc)
}

/// Insertion AUC of every image with the default configuration (20 steps, baseline 0):
/// (N,) f64 on the CPU. Higher is better.
pub fn insertion_auc(
    model: &ResNet,
    inputs: &Tensor,
    targets: &Tensor,
    attributions: &Tensor,
    budget: MemoryBudget,
) -> Result<Tensor, MetricError> {
    let cfg = FaithfulnessConfig::default();
    Ok(perturbation_curves(
        model,
        inputs,
        targets,
        attributions,
        Game::Insertion,
        &cfg,
        budget,
    )?
    .auc)
}

/// Deletion or insertion curves of `model`'s softmax probability of `targets`, with the
/// perturbed images batched to `budget`.
pub fn perturbation_curves(
    model: &ResNet,
    inputs: &Tensor,
    targets: &Tensor,
    attributions: &Tensor,
    game: Game,
    cfg: &FaithfulnessConfig,
    budget: MemoryBudget,
) -> Result<Curves, MetricError> {
    validate(model, inputs, targets)?;
    let s = inputs.size();
    let rows = budget.chunk(&model.config, s[2], s[3], inputs.kind(), false);
    let folded = FoldedResNet::new(model);
    let score = |x: &Tensor, t: &Tensor| Ok(target_probabilities(&folded, x, t));
    perturbation_curves_with(&score, rows, inputs, targets, attributions, game, cfg)
}

/// The same for any scoring function: `score(x, t)` returns the score of target `t[j]` at
/// image `x[j]`, shape (M,), and is called with at most `rows_per_call` images at a time.
pub fn perturbation_curves_with(
    score: &dyn Fn(&Tensor, &Tensor) -> Result<Tensor, MetricError>,
    rows_per_call: usize,
    inputs: &Tensor,
    targets: &Tensor,
    attributions: &Tensor,
    game: Game,
    cfg: &FaithfulnessConfig,
) -> Result<Curves, MetricError> {
    let s = inputs.size();
    if s.len() != 4 || !inputs.is_floating_point() || s.contains(&0) {
        return Err(MetricError::Shape {
            what: "inputs",
            expected: "(N, C, H, W) float with no empty dimension".into(),
            got: s,
        });
    }
    let (n, c, h, w) = (s[0], s[1], s[2], s[3]);
    if targets.size() != [n] {
        return Err(MetricError::Shape {
            what: "targets",
            expected: format!("({n},)"),
            got: targets.size(),
        });
    }
    let a = attributions.size();
    if a.len() != 4 || a[0] != n || a[1] == 0 || a[2..] != s[2..] {
        return Err(MetricError::Shape {
            what: "attributions",
            expected: format!(
                "(N, C', H, W) = ({n}, C', {h}, {w}) at the input resolution (use localisation::to_input_resolution for a Grad-CAM map)"
            ),
            got: a,
        });
    }
    if cfg.steps == 0 {
        return Err(MetricError::Config(
            "deletion/insertion needs at least one step".into(),
        ));
    }
    let (dev, kind) = (inputs.device(), inputs.kind());
    let importance = attributions
        .detach()
        .to_device(dev)
        .to_kind(Kind::Double)
        .abs()
        .sum_dim_intlist(1, false, Kind::Double)
        .reshape([n, h * w]);
    if !bool::try_from(importance.isfinite().all())? {
        return Err(MetricError::NonFinite {
            what: "attributions",
        });
    }
    // rank[i, p]: position of pixel p in image i's order (0 = most important).
    let (_, order) = importance.sort_stable(true, 1, true);
    let positions = Tensor::arange(h * w, (Kind::Int64, dev))
        .unsqueeze(0)
        .expand([n, h * w], false);
    let rank = order.zeros_like().scatter(1, &order, &positions);

    let hw = (h * w) as usize;
    let k = cfg.steps;
    let counts: Vec<i64> = (0..=k).map(|i| (i * hw / k) as i64).collect();
    let fractions: Vec<f64> = counts.iter().map(|&m| m as f64 / hw as f64).collect();
    let counts_t = Tensor::from_slice(&counts).to_device(dev).view([1, -1, 1]);

    let inputs = inputs.detach();
    let base = baseline_image(&inputs, cfg.baseline)?;
    let points = (k + 1) as i64;
    let group = (rows_per_call / (k + 1)).max(1);
    let mut curves = Vec::new();
    for r in ranges(n as usize, group) {
        let (start, g) = (r.start as i64, r.len() as i64);
        // (g, K+1, 1, H, W): pixel changed at step k.
        let changed = rank
            .narrow(0, start, g)
            .unsqueeze(1)
            .lt_tensor(&counts_t)
            .view([g, points, 1, h, w]);
        let x = inputs.narrow(0, start, g).unsqueeze(1);
        let b = base.narrow(0, start, g).unsqueeze(1);
        let perturbed = match game {
            Game::Deletion => b.where_self(&changed, &x),
            Game::Insertion => x.where_self(&changed, &b),
        }
        .to_kind(kind)
        .reshape([g * points, c, h, w]);
        let t = targets
            .narrow(0, start, g)
            .to_device(dev)
            .repeat_interleave_self_int(points, 0, None);
        for q in ranges((g * points) as usize, rows_per_call) {
            let (qa, ql) = (q.start as i64, q.len() as i64);
            let y = score(&perturbed.narrow(0, qa, ql), &t.narrow(0, qa, ql))?;
            if y.size() != [ql] {
                return Err(MetricError::Shape {
                    what: "scores",
                    expected: format!("({ql},)"),
                    got: y.size(),
                });
            }
            curves.push(y.detach().to_device(Device::Cpu).to_kind(Kind::Double));
        }
    }
    let scores = Tensor::cat(&curves, 0).view([n, points]);
    let rows: Vec<Vec<f64>> = Vec::<Vec<f64>>::try_from(&scores)?;
    let auc: Vec<f64> = rows.iter().map(|y| trapezoid(&fractions, y)).collect();
    Ok(Curves {
        game,
        fractions,
        scores,
        auc: Tensor::from_slice(&auc),
    })
}

/// The baseline image of every input, same shape and kind.
fn baseline_image(inputs: &Tensor, baseline: Baseline) -> Result<Tensor, MetricError> {
    match baseline {
        Baseline::Constant(v) => Ok(inputs.full_like(v)),
        Baseline::Blur { kernel, sigma } => {
            if kernel < 1 || kernel % 2 == 0 || sigma.is_nan() || sigma <= 0.0 {
                return Err(MetricError::Config(format!(
                    "the blur kernel must be odd and positive and sigma positive; got {kernel}, {sigma}"
                )));
            }
            let c = inputs.size()[1];
            let half = kernel / 2;
            let g: Vec<f64> = (-half..=half)
                .map(|i| (-((i * i) as f64) / (2.0 * sigma * sigma)).exp())
                .collect();
            let sum: f64 = g.iter().sum();
            let g: Vec<f64> = g.iter().map(|v| v / sum).collect();
            let g = Tensor::from_slice(&g)
                .to_kind(inputs.kind())
                .to_device(inputs.device());
            let rows = g.view([1, 1, kernel, 1]).expand([c, 1, kernel, 1], false);
            let cols = g.view([1, 1, 1, kernel]).expand([c, 1, 1, kernel], false);
            let y = inputs.f_conv2d(&rows, None::<Tensor>, [1, 1], [half, 0], [1, 1], c)?;
            Ok(y.f_conv2d(&cols, None::<Tensor>, [1, 1], [0, half], [1, 1], c)?)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A linear "model" `f(x) = sum(w * x)`: the score of any target.
    fn linear(w: &Tensor) -> impl Fn(&Tensor, &Tensor) -> Result<Tensor, MetricError> + '_ {
        move |x: &Tensor, _t: &Tensor| {
            Ok((x * w).sum_dim_intlist([1i64, 2, 3].as_slice(), false, Kind::Double))
        }
    }

    fn setup() -> (Tensor, Tensor, Tensor) {
        tch::manual_seed(3);
        let w = Tensor::rand([1, 2, 6, 6], (Kind::Double, Device::Cpu));
        let x = Tensor::rand([3, 2, 6, 6], (Kind::Double, Device::Cpu)) + 0.1;
        let t = Tensor::zeros([3], (Kind::Int64, Device::Cpu));
        (w, x, t)
    }

    #[test]
    fn trapezoid_of_a_line_and_a_constant() {
        let x = [0.0, 0.25, 0.5, 1.0];
        assert!((trapezoid(&x, &[0.0, 0.25, 0.5, 1.0]) - 0.5).abs() < 1e-15);
        assert!((trapezoid(&x, &[2.0; 4]) - 2.0).abs() < 1e-15);
    }

    #[test]
    fn curve_endpoints_and_fractions() {
        let (w, x, t) = setup();
        let f = linear(&w);
        let a = &x * &w;
        let cfg = FaithfulnessConfig {
            steps: 7,
            baseline: Baseline::Constant(0.0),
        };
        let del = perturbation_curves_with(&f, 64, &x, &t, &a, Game::Deletion, &cfg).unwrap();
        let ins = perturbation_curves_with(&f, 64, &x, &t, &a, Game::Insertion, &cfg).unwrap();
        assert_eq!(del.fractions.len(), 8);
        assert_eq!(del.fractions[0], 0.0);
        assert_eq!(del.fractions[7], 1.0);
        // 36 pixels in 7 steps: floor(36 k / 7).
        assert_eq!(del.fractions[1], 5.0 / 36.0);
        let full = f(&x, &t).unwrap();
        assert!(del.scores.select(1, 0).allclose(&full, 1e-12, 1e-12, false));
        assert!(ins.scores.select(1, 7).allclose(&full, 1e-12, 1e-12, false));
        assert_eq!(del.scores.select(1, 7).abs().max().double_value(&[]), 0.0);
        assert_eq!(ins.scores.select(1, 0).abs().max().double_value(&[]), 0.0);
    }

    #[test]
    fn result_does_not_depend_on_the_chunk_size() {
        let (w, x, t) = setup();
        let f = linear(&w);
        let a = Tensor::randn([3, 1, 6, 6], (Kind::Float, Device::Cpu));
        let cfg = FaithfulnessConfig::default();
        let one = perturbation_curves_with(&f, 1, &x, &t, &a, Game::Insertion, &cfg).unwrap();
        let many = perturbation_curves_with(&f, 1000, &x, &t, &a, Game::Insertion, &cfg).unwrap();
        assert!(one.scores.equal(&many.scores));
        assert!(one.auc.equal(&many.auc));
    }

    #[test]
    fn oracle_beats_random_on_a_linear_model() {
        let (w, x, t) = setup();
        let f = linear(&w);
        let oracle = &x * &w;
        let random = Tensor::rand([3, 2, 6, 6], (Kind::Double, Device::Cpu));
        let cfg = FaithfulnessConfig::default();
        let auc = |a: &Tensor, game| {
            Vec::<f64>::try_from(
                perturbation_curves_with(&f, 64, &x, &t, a, game, &cfg)
                    .unwrap()
                    .auc,
            )
            .unwrap()
        };
        let (d_o, d_r) = (auc(&oracle, Game::Deletion), auc(&random, Game::Deletion));
        let (i_o, i_r) = (auc(&oracle, Game::Insertion), auc(&random, Game::Insertion));
        for i in 0..3 {
            assert!(
                d_o[i] < d_r[i],
                "deletion: oracle {} random {}",
                d_o[i],
                d_r[i]
            );
            assert!(
                i_o[i] > i_r[i],
                "insertion: oracle {} random {}",
                i_o[i],
                i_r[i]
            );
        }
    }

    #[test]
    fn blur_baseline_keeps_constants_away_from_the_border() {
        let x = Tensor::full([1, 2, 15, 15], 3.0, (Kind::Double, Device::Cpu));
        let b = baseline_image(&x, Baseline::rise_blur()).unwrap();
        assert_eq!(b.size(), x.size());
        assert!((b.double_value(&[0, 1, 7, 7]) - 3.0).abs() < 1e-12);
        assert!(b.double_value(&[0, 0, 0, 0]) < 3.0); // zero padding
        assert!(baseline_image(
            &x,
            Baseline::Blur {
                kernel: 4,
                sigma: 1.0
            }
        )
        .is_err());
    }

    #[test]
    fn rejects_attributions_at_another_resolution() {
        let (w, x, t) = setup();
        let f = linear(&w);
        let cam = Tensor::ones([3, 1, 2, 2], (Kind::Float, Device::Cpu));
        let cfg = FaithfulnessConfig::default();
        let err = perturbation_curves_with(&f, 8, &x, &t, &cam, Game::Deletion, &cfg).unwrap_err();
        assert!(err.to_string().contains("to_input_resolution"), "{err}");
        let zero = FaithfulnessConfig { steps: 0, ..cfg };
        assert!(matches!(
            perturbation_curves_with(&f, 8, &x, &t, &x, Game::Deletion, &zero),
            Err(MetricError::Config(_))
        ));
    }
}
