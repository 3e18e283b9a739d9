//! SGD with momentum and AdamW with explicit, saveable state (tch's optimizers hide their
//! momentum buffers, so a resumed run could not continue exactly).
//!
//! Updates follow PyTorch's `torch.optim.SGD` (dampening 0; the momentum buffer starts as
//! the first gradient) and `torch.optim.AdamW` (bias-corrected, decoupled decay), applied
//! to every trainable variable of a [`VarStore`] in name order. Weight decay skips 1-D
//! parameters (BatchNorm weights and biases, the fc bias) unless `decay_norm_and_bias`.

use std::collections::BTreeMap;

use tch::nn::VarStore;
use tch::{Kind, Tensor};

use super::config::{OptimizerConfig, OptimizerKind};

/// One parameter and its state.
#[derive(Debug)]
struct Param {
    name: String,
    var: Tensor,
    decay: bool,
    /// SGD momentum buffer, or AdamW's first moment.
    m: Option<Tensor>,
    /// AdamW's second moment.
    v: Option<Tensor>,
}

/// The optimizer (see the module docs).
#[derive(Debug)]
pub struct Optimizer {
    cfg: OptimizerConfig,
    params: Vec<Param>,
    /// The parameters in update order (shallow clones), for `Tensor::run_backward`.
    vars: Vec<Tensor>,
    /// Updates done so far.
    pub steps: u64,
}

/// A 0-dimensional tensor of `v` with `like`'s kind and device (a fused multiplier for
/// `addcmul_`, which has no scalar `value` argument in tch).
fn scalar_like(v: f64, like: &Tensor) -> Tensor {
    Tensor::scalar_tensor(v, (like.kind(), like.device()))
}

impl Optimizer {
    /// Collects the trainable variables of `vs`.
    pub fn new(cfg: &OptimizerConfig, vs: &VarStore) -> Optimizer {
        let mut vars: Vec<(String, Tensor)> = vs
            .variables()
            .into_iter()
            .filter(|(_, t)| t.requires_grad())
            .collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        let params: Vec<Param> = vars
            .into_iter()
            .map(|(name, var)| Param {
                decay: cfg.decay_norm_and_bias || var.dim() > 1,
                name,
                var,
                m: None,
                v: None,
            })
            .collect();
        Optimizer {
            cfg: cfg.clone(),
            vars: params.iter().map(|p| p.var.shallow_clone()).collect(),
            params,
            steps: 0,
        }
    }

    /// The trainable variables in the order [`Optimizer::step_with`] expects gradients.
    pub fn variables(&self) -> &[Tensor] {
        &self.vars
    }

    /// Clears the gradients accumulated in the variables (needed only with
    /// [`Optimizer::step`]).
    pub fn zero_grad(&mut self) {
        for p in &mut self.params {
            p.var.zero_grad();
        }
    }

    /// One update with learning rate `lr` from the gradients accumulated in the variables
    /// by `backward()` (they are copied, not modified).
    pub fn step(&mut self, lr: f64) {
        let grads: Vec<Tensor> = self
            .params
            .iter()
            .map(|p| {
                let g = p.var.grad();
                if g.defined() {
                    g.copy()
                } else {
                    g
                }
            })
            .collect();
        self.step_with(grads, lr);
    }

    /// One update with learning rate `lr` from `grads`, one per [`Optimizer::variables`]
    /// entry (undefined for a parameter without gradient, which is left alone). The
    /// gradient tensors are consumed and used as scratch space, so that every update is a
    /// few in-place passes without temporaries, as PyTorch's single-tensor SGD/AdamW.
    pub fn step_with(&mut self, grads: Vec<Tensor>, lr: f64) {
        assert_eq!(grads.len(), self.params.len(), "one gradient per parameter");
        self.steps += 1;
        let c = &self.cfg;
        let t = self.steps as i32;
        tch::no_grad(|| {
            for (p, mut g) in self.params.iter_mut().zip(grads) {
                if !g.defined() {
                    continue;
                }
                let wd = if p.decay { c.weight_decay } else { 0.0 };
                match c.kind {
                    OptimizerKind::Sgd => {
                        // grad += wd * param
                        if wd != 0.0 {
                            let _ = g.addcmul_(&p.var, &scalar_like(wd, &p.var));
                        }
                        let mut step_dir = g;
                        if c.momentum != 0.0 {
                            // buf = momentum * buf + grad (the first gradient at step 1)
                            let buf = match p.m.take() {
                                None => step_dir.detach().copy(),
                                Some(mut b) => {
                                    let _ = b.g_mul_scalar_(c.momentum).g_add_(&step_dir);
                                    b
                                }
                            };
                            if c.nesterov {
                                // grad += momentum * buf
                                let _ = step_dir.addcmul_(&buf, &scalar_like(c.momentum, &buf));
                            } else {
                                step_dir = buf.shallow_clone();
                            }
                            p.m = Some(buf);
                        }
                        // param -= lr * direction
                        let _ = p.var.addcmul_(&step_dir, &scalar_like(-lr, &p.var));
                    }
                    OptimizerKind::Adamw => {
                        let [b1, b2] = c.betas;
                        if wd != 0.0 {
                            let _ = p.var.g_mul_scalar_(1.0 - lr * wd);
                        }
                        // m = lerp(m, g, 1 - b1); v = b2 v + (1 - b2) g^2
                        let m = p.m.get_or_insert_with(|| g.zeros_like());
                        let _ = m.lerp_(&g, 1.0 - b1);
                        let v = p.v.get_or_insert_with(|| g.zeros_like());
                        let _ = v.g_mul_scalar_(b2);
                        let scaled = &g * (1.0 - b2);
                        let _ = v.addcmul_(&g, &scaled);
                        drop(scaled);
                        let bc1 = 1.0 - b1.powi(t);
                        let bc2 = 1.0 - b2.powi(t);
                        let step_size = lr / bc1;
                        // denom = sqrt(v) / sqrt(bc2) + eps, scaled by -1 / step_size so that
                        // param += m / denom' is param -= step_size * m / denom.
                        g.copy_(v);
                        let _ = g.sqrt_();
                        let _ = g.g_div_scalar_(bc2.sqrt());
                        let _ = g.g_add_scalar_(c.eps);
                        let _ = g.g_mul_scalar_(-1.0 / step_size);
                        let _ = p.var.addcdiv_(m, &g);
                    }
                }
            }
        });
    }

    /// The state as named tensors (`m.<param>`, `v.<param>`), on the CPU, F32.
    pub fn state_tensors(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        for p in &self.params {
            for (prefix, t) in [("m", &p.m), ("v", &p.v)] {
                if let Some(t) = t {
                    out.push((
                        format!("{prefix}.{}", p.name),
                        t.detach()
                            .to_device(tch::Device::Cpu)
                            .to_kind(Kind::Float)
                            .contiguous(),
                    ));
                }
            }
        }
        out
    }

    /// Restores the state written by [`Optimizer::state_tensors`] after `steps` updates;
    /// every tensor must match a parameter's name and shape.
    pub fn load_state(
        &mut self,
        steps: u64,
        mut tensors: BTreeMap<String, Tensor>,
    ) -> Result<(), String> {
        let mut problems = Vec::new();
        for p in &mut self.params {
            for (prefix, slot) in [("m", &mut p.m), ("v", &mut p.v)] {
                *slot = match tensors.remove(&format!("{prefix}.{}", p.name)) {
                    None => None,
                    Some(t) if t.size() != p.var.size() => {
                        problems.push(format!(
                            "optimizer state {prefix}.{}: shape {:?}, parameter {:?}",
                            p.name,
                            t.size(),
                            p.var.size()
                        ));
                        None
                    }
                    Some(t) => Some(t.to_device(p.var.device()).to_kind(p.var.kind())),
                };
            }
        }
        problems.extend(
            tensors
                .keys()
                .map(|k| format!("unexpected optimizer state {k}")),
        );
        if steps > 0 && self.cfg.kind == OptimizerKind::Sgd && self.cfg.momentum != 0.0 {
            if let Some(p) = self.params.iter().find(|p| p.m.is_none()) {
                problems.push(format!("missing momentum buffer of {}", p.name));
            }
        }
        if !problems.is_empty() {
            return Err(problems.join("; "));
        }
        self.steps = steps;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::nn::VarStore;
    use tch::Device;

    fn quadratic_vs() -> (VarStore, Tensor) {
        let vs = VarStore::new(Device::Cpu);
        let w = vs.root().var_copy(
            "w",
            &Tensor::from_slice(&[1.0f32, -2.0, 3.0, 0.5]).reshape([2, 2]),
        );
        (vs, w)
    }

    /// Hand-computed PyTorch SGD (momentum 0.9, nesterov, wd 0.1) on f(w) = sum(w^2)/2.
    #[test]
    fn sgd_matches_pytorch_formulas() {
        let (vs, w) = quadratic_vs();
        let cfg = OptimizerConfig {
            kind: OptimizerKind::Sgd,
            momentum: 0.9,
            nesterov: true,
            weight_decay: 0.1,
            ..Default::default()
        };
        let mut opt = Optimizer::new(&cfg, &vs);
        let mut wr = [1.0f64, -2.0, 3.0, 0.5];
        let mut buf = [0.0f64; 4];
        for step in 0..3 {
            opt.zero_grad();
            (&w * &w).sum(Kind::Float).g_mul_scalar(0.5).backward();
            opt.step(0.1);
            for i in 0..4 {
                let d = wr[i] + 0.1 * wr[i];
                buf[i] = if step == 0 { d } else { 0.9 * buf[i] + d };
                wr[i] -= 0.1 * (d + 0.9 * buf[i]);
            }
        }
        let got: Vec<f32> = w.flatten(0, -1).try_into().unwrap();
        for (g, r) in got.iter().zip(wr) {
            assert!((*g as f64 - r).abs() < 1e-5, "{g} {r}");
        }
    }

    #[test]
    fn adamw_matches_pytorch_formulas_and_state_round_trips() {
        let (vs, w) = quadratic_vs();
        let cfg = OptimizerConfig {
            kind: OptimizerKind::Adamw,
            weight_decay: 0.01,
            ..Default::default()
        };
        let mut opt = Optimizer::new(&cfg, &vs);
        let mut wr = [1.0f64, -2.0, 3.0, 0.5];
        let (mut m, mut v) = ([0.0f64; 4], [0.0f64; 4]);
        let lr = 0.01;
        for t in 1..=3 {
            opt.zero_grad();
            (&w * &w).sum(Kind::Float).g_mul_scalar(0.5).backward();
            opt.step(lr);
            for i in 0..4 {
                let g = wr[i];
                wr[i] *= 1.0 - lr * 0.01;
                m[i] = 0.9 * m[i] + 0.1 * g;
                v[i] = 0.999 * v[i] + 0.001 * g * g;
                let mh = m[i] / (1.0 - 0.9f64.powi(t));
                let vh = (v[i] / (1.0 - 0.999f64.powi(t))).sqrt();
                wr[i] -= lr * mh / (vh + 1e-8);
            }
        }
        let got: Vec<f32> = w.flatten(0, -1).try_into().unwrap();
        for (g, r) in got.iter().zip(wr) {
            assert!((*g as f64 - r).abs() < 1e-5, "{g} {r}");
        }
        let state: BTreeMap<String, Tensor> = opt.state_tensors().into_iter().collect();
        assert_eq!(state.len(), 2);
        let mut fresh = Optimizer::new(&cfg, &vs);
        fresh
            .load_state(
                3,
                state.iter().map(|(k, t)| (k.clone(), t.copy())).collect(),
            )
            .unwrap();
        let again: BTreeMap<String, Tensor> = fresh.state_tensors().into_iter().collect();
        for (k, t) in &state {
            assert!(t.equal(&again[k]));
        }
        let mut bad = state;
        bad.insert(
            "m.nope".into(),
            Tensor::zeros([1], (Kind::Float, Device::Cpu)),
        );
        assert!(fresh.load_state(3, bad).unwrap_err().contains("m.nope"));
    }
}
