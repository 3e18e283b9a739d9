//! Integrated Gradients (Sundararajan et al. 2017; Captum `IntegratedGradients`):
//!
//! `IG(x) = (x - x') * sum_i w_i * grad f_t(x' + a_i (x - x'))`
//!
//! with Captum's default quadrature: 50 Gauss-Legendre nodes `a_i = (1 + z_i) / 2` and
//! weights `w_i = v_i / 2` on [0, 1], zero baseline `x'`. The Riemann rules are offered
//! too. As in Captum, the step weights are rounded to float32 before they scale the
//! gradients (also in float64 mode), and the scaled inputs are laid out step-major.
//! All `steps * N` scaled inputs are evaluated in chunks sized by the budget.

use tch::{Kind, Tensor};

use super::batch::{ranges, MemoryBudget};
use super::gradient::{input_gradients, target_logits};
use super::{validate, AttrError, Attribution, Method};
use crate::model::{ReluRule, ResNet};

/// The quadrature rule over the path from the baseline to the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IgRule {
    /// Gauss-Legendre nodes and weights mapped to `[0, 1]` (Captum's default, `gausslegendre`).
    #[default]
    GaussLegendre,
    /// Left Riemann sum: `alpha = i / n`, weights `1 / n`.
    RiemannLeft,
    /// Right Riemann sum: `alpha = (i + 1) / n`, weights `1 / n`.
    RiemannRight,
    /// Midpoint Riemann sum: `alpha = (i + 1/2) / n`, weights `1 / n`.
    RiemannMiddle,
    /// Trapezoid rule: `alpha = i / (n - 1)`, end weights halved.
    RiemannTrapezoid,
}

impl IgRule {
    /// `(step weights, alphas)` for `n` steps, exactly as Captum's
    /// `approximation_parameters`.
    pub fn weights_and_alphas(self, n: usize) -> (Vec<f64>, Vec<f64>) {
        let nf = n as f64;
        let lin = |a: f64, b: f64| -> Vec<f64> {
            if n == 1 {
                vec![a]
            } else {
                (0..n)
                    .map(|i| a + (b - a) * i as f64 / (nf - 1.0))
                    .collect()
            }
        };
        match self {
            IgRule::GaussLegendre => {
                let (z, v) = gauss_legendre(n);
                (
                    v.iter().map(|w| 0.5 * w).collect(),
                    z.iter().map(|z| 0.5 * (1.0 + z)).collect(),
                )
            }
            IgRule::RiemannLeft => (vec![1.0 / nf; n], lin(0.0, 1.0 - 1.0 / nf)),
            IgRule::RiemannRight => (vec![1.0 / nf; n], lin(1.0 / nf, 1.0)),
            IgRule::RiemannMiddle => (
                vec![1.0 / nf; n],
                lin(1.0 / (2.0 * nf), 1.0 - 1.0 / (2.0 * nf)),
            ),
            IgRule::RiemannTrapezoid => {
                let mut w = vec![1.0 / (nf - 1.0); n];
                w[0] = 1.0 / (2.0 * (nf - 1.0));
                w[n - 1] = w[0];
                (w, lin(0.0, 1.0))
            }
        }
    }
}

/// Gauss-Legendre nodes (ascending, as numpy's `leggauss`) and weights on [-1, 1], by
/// Newton's method on the Legendre recurrence.
pub fn gauss_legendre(n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut nodes = Vec::with_capacity(n);
    let mut weights = Vec::with_capacity(n);
    for i in 0..n {
        let mut x = (std::f64::consts::PI * (i as f64 + 0.75) / (n as f64 + 0.5)).cos();
        let mut dp = 0.0;
        for _ in 0..100 {
            let (mut p0, mut p1) = (1.0, x);
            for k in 2..=n {
                let p2 = ((2 * k - 1) as f64 * x * p1 - (k - 1) as f64 * p0) / k as f64;
                p0 = p1;
                p1 = p2;
            }
            let pn = if n == 0 { 1.0 } else { p1 };
            let pn1 = if n == 1 { 1.0 } else { p0 };
            dp = n as f64 * (x * pn - pn1) / (x * x - 1.0);
            let dx = pn / dp;
            x -= dx;
            if dx.abs() < 1e-16 {
                break;
            }
        }
        nodes.push(x);
        weights.push(2.0 / ((1.0 - x * x) * dp * dp));
    }
    nodes.reverse();
    weights.reverse();
    (nodes, weights)
}

/// Integrated Gradients: `(x - x') * sum_i w_i d f_t / d x (x' + alpha_i (x - x'))`.
#[derive(Debug, Clone, Copy)]
pub struct IntegratedGradients {
    /// Number of points on the path (Captum's `n_steps`, default 50).
    pub steps: usize,
    /// The quadrature rule (default Gauss-Legendre).
    pub rule: IgRule,
    /// The constant baseline `x'` (Captum's default: 0).
    pub baseline: f64,
    /// Images per forward and backward pass (path points count as images).
    pub budget: MemoryBudget,
}

impl Default for IntegratedGradients {
    fn default() -> Self {
        Self {
            steps: 50,
            rule: IgRule::GaussLegendre,
            baseline: 0.0,
            budget: MemoryBudget::default(),
        }
    }
}

impl IntegratedGradients {
    /// Attributions and Captum's convergence delta per image:
    /// `sum(IG(x)) - (f_t(x) - f_t(x'))`.
    pub fn attribute_with_delta(
        &self,
        model: &ResNet,
        inputs: &Tensor,
        targets: &Tensor,
    ) -> Result<(Tensor, Tensor), AttrError> {
        let attr = self.attribute(model, inputs, targets)?;
        let baseline = inputs.zeros_like() + self.baseline;
        let end = target_logits(model, inputs, targets, self.budget);
        let start = target_logits(model, &baseline, targets, self.budget);
        let sums = attr.flatten(1, -1).sum_dim_intlist(1, false, attr.kind());
        Ok((attr, sums - (end - start)))
    }
}

impl Attribution for IntegratedGradients {
    fn method(&self) -> Method {
        Method::IntegratedGradients
    }

    fn attribute(
        &self,
        model: &ResNet,
        inputs: &Tensor,
        targets: &Tensor,
    ) -> Result<Tensor, AttrError> {
        validate(model, inputs, targets)?;
        if self.steps == 0 || (self.rule == IgRule::RiemannTrapezoid && self.steps < 2) {
            return Err(AttrError::Config(format!(
                "integrated gradients needs more steps than {}",
                self.steps
            )));
        }
        let (weights, alphas) = self.rule.weights_and_alphas(self.steps);
        let shape = inputs.size();
        let n = shape[0];
        let steps = self.steps as i64;
        let dev = inputs.device();
        let kind = inputs.kind();
        let baseline = self.baseline;
        let diff = inputs - baseline;
        // Row k of the step-major layout is image k % n at alpha k / n.
        let alpha_rows = Tensor::from_slice(&alphas)
            .to_kind(kind)
            .to_device(dev)
            .repeat_interleave_self_int(n, 0, None);
        let image_rows = Tensor::arange(n, (Kind::Int64, dev)).repeat([steps]);
        let chunk = self
            .budget
            .chunk(&model.config, shape[2], shape[3], kind, true);
        let mut grads = Vec::new();
        for r in ranges((steps * n) as usize, chunk) {
            let idx = image_rows.narrow(0, r.start as i64, r.len() as i64);
            let a = alpha_rows
                .narrow(0, r.start as i64, r.len() as i64)
                .view([-1, 1, 1, 1]);
            let scaled = diff.index_select(0, &idx) * a + baseline;
            let t = targets.index_select(0, &idx);
            grads.push(input_gradients(
                model,
                &scaled,
                &t,
                ReluRule::Gradient,
                MemoryBudget::images(r.len()),
            )?);
        }
        let grads = Tensor::cat(&grads, 0);
        // Captum: torch.tensor(step_sizes).float(), i.e. weights rounded to float32.
        let w = Tensor::from_slice(&weights)
            .to_kind(Kind::Float)
            .to_kind(kind)
            .to_device(dev)
            .view([steps, 1]);
        let scaled = grads.contiguous().view([steps, -1]) * w;
        let mut total_shape = vec![steps];
        total_shape.extend_from_slice(&shape);
        let total = scaled.reshape(&total_shape).sum_dim_intlist(0, false, kind);
        Ok(total * diff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauss_legendre_matches_numpy_leggauss() {
        // numpy.polynomial.legendre.leggauss(3)
        let (z, w) = gauss_legendre(3);
        let r = (0.6f64).sqrt();
        assert!((z[0] + r).abs() < 1e-15 && z[1].abs() < 1e-15 && (z[2] - r).abs() < 1e-15);
        assert!((w[0] - 5.0 / 9.0).abs() < 1e-15 && (w[1] - 8.0 / 9.0).abs() < 1e-15);
        let (z, w) = gauss_legendre(50);
        assert!((w.iter().sum::<f64>() - 2.0).abs() < 1e-13);
        assert!(z.windows(2).all(|p| p[0] < p[1]));
        // Exact for polynomials of degree 2n - 1: integral of x^98 over [-1, 1] = 2/99.
        let q: f64 = z.iter().zip(&w).map(|(x, w)| w * x.powi(98)).sum();
        assert!((q - 2.0 / 99.0).abs() < 1e-13);
    }

    #[test]
    fn riemann_rules_match_captum() {
        let (w, a) = IgRule::RiemannTrapezoid.weights_and_alphas(5);
        assert_eq!(w, vec![0.125, 0.25, 0.25, 0.25, 0.125]);
        assert_eq!(a, vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        let (_, a) = IgRule::RiemannMiddle.weights_and_alphas(4);
        assert_eq!(a, vec![0.125, 0.375, 0.625, 0.875]);
    }
}
