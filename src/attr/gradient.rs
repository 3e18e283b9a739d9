//! Shared gradient helpers: the target-logit gradient under a ReLU rule, layer4's
//! activation and gradient, and batched evaluation of target logits.

use tch::{Kind, Tensor};

use super::batch::{ranges, MemoryBudget};
use super::AttrError;
use crate::model::{PlainRelu, ReluRule, ReluTape, ResNet};

/// One-hot rows selecting each image's target logit: the backward seed of
/// `sum_i f(x_i)[t_i]`.
pub fn target_seed(logits: &Tensor, targets: &Tensor) -> Tensor {
    logits
        .zeros_like()
        .scatter_value(1, &targets.unsqueeze(1), 1.0)
}

/// `f(x_i)[t_i]` for every image, evaluated without gradients in chunks.
pub fn target_logits(
    model: &ResNet,
    inputs: &Tensor,
    targets: &Tensor,
    budget: MemoryBudget,
) -> Tensor {
    let s = inputs.size();
    let chunk = budget.chunk(&model.config, s[2], s[3], inputs.kind(), false);
    let n = s[0] as usize;
    tch::no_grad(|| {
        let parts: Vec<Tensor> = ranges(n, chunk)
            .map(|r| {
                let (a, l) = (r.start as i64, r.len() as i64);
                model
                    .forward(&inputs.narrow(0, a, l))
                    .gather(1, &targets.narrow(0, a, l).unsqueeze(1), false)
                    .squeeze_dim(1)
            })
            .collect();
        Tensor::cat(&parts, 0)
    })
}

/// `d/dx sum_i f(x_i)[t_i]` with `rule` at every ReLU, for one chunk. The plain gradient
/// takes autograd's own ReLUs; the guided and deconvolution rules record the forward pass
/// on a [`ReluTape`]. Either way one forward and one backward pass.
fn input_gradient_chunk(
    model: &ResNet,
    x: &Tensor,
    targets: &Tensor,
    rule: ReluRule,
) -> Result<Tensor, AttrError> {
    let x = x.detach().set_requires_grad(true);
    match rule {
        ReluRule::Gradient => {
            let logits = model.forward(&x);
            let score = (&logits * target_seed(&logits, targets)).sum(logits.kind());
            Ok(Tensor::f_run_backward(&[score], &[&x], false, false)?.remove(0))
        }
        _ => {
            let mut tape = ReluTape::new(&x, rule);
            let features = model.features(&x, &mut tape, false);
            let logits = model.head(&features.value);
            let seed = target_seed(&logits, targets);
            Ok(tape.backward(&logits, &seed, features.node)?)
        }
    }
}

/// `d/dx sum_i f(x_i)[t_i]` with `rule` at every ReLU, over the whole batch in chunks
/// sized by `budget`.
pub fn input_gradients(
    model: &ResNet,
    inputs: &Tensor,
    targets: &Tensor,
    rule: ReluRule,
    budget: MemoryBudget,
) -> Result<Tensor, AttrError> {
    let s = inputs.size();
    let chunk = budget.chunk(&model.config, s[2], s[3], inputs.kind(), true);
    let parts = ranges(s[0] as usize, chunk)
        .map(|r| {
            let (a, l) = (r.start as i64, r.len() as i64);
            input_gradient_chunk(
                model,
                &inputs.narrow(0, a, l),
                &targets.narrow(0, a, l),
                rule,
            )
        })
        .collect::<Result<Vec<Tensor>, AttrError>>()?;
    Ok(Tensor::cat(&parts, 0))
}

/// Guided backpropagation and layer4's output `A` and gradient `dA` from one recorded
/// forward pass per chunk: the tape's gradient at its last ReLU is `dA`. Returns
/// `(guided, A, dA)`, concatenated over chunks sized by `budget`.
pub fn guided_and_layer4(
    model: &ResNet,
    inputs: &Tensor,
    targets: &Tensor,
    budget: MemoryBudget,
) -> Result<(Tensor, Tensor, Tensor), AttrError> {
    let s = inputs.size();
    let chunk = budget.chunk(&model.config, s[2], s[3], inputs.kind(), true);
    let (mut guided, mut acts, mut grads) = (Vec::new(), Vec::new(), Vec::new());
    for r in ranges(s[0] as usize, chunk) {
        let (a, l) = (r.start as i64, r.len() as i64);
        let x = inputs.narrow(0, a, l).detach().set_requires_grad(true);
        let mut tape = ReluTape::new(&x, ReluRule::Guided);
        let features = model.features(&x, &mut tape, false);
        let logits = model.head(&features.value);
        let seed = target_seed(&logits, &targets.narrow(0, a, l));
        let (g, d_act) = tape.backward_with_last(&logits, &seed, features.node)?;
        guided.push(g);
        acts.push(features.value.detach());
        grads.push(d_act);
    }
    Ok((
        Tensor::cat(&guided, 0),
        Tensor::cat(&acts, 0),
        Tensor::cat(&grads, 0),
    ))
}

/// layer4's output `A` and `dA = d/dA sum_i f(x_i)[t_i]`, both (N, K, h, w), in chunks.
pub fn layer4_activation_and_gradient(
    model: &ResNet,
    inputs: &Tensor,
    targets: &Tensor,
    budget: MemoryBudget,
) -> (Tensor, Tensor) {
    let s = inputs.size();
    let chunk = budget.chunk(&model.config, s[2], s[3], inputs.kind(), false);
    let (acts, grads): (Vec<Tensor>, Vec<Tensor>) = ranges(s[0] as usize, chunk)
        .map(|r| {
            let (a, l) = (r.start as i64, r.len() as i64);
            let act = tch::no_grad(|| {
                model
                    .features(&inputs.narrow(0, a, l), &mut PlainRelu, false)
                    .value
            });
            let act = act.detach().set_requires_grad(true);
            let logits = model.head(&act);
            let score =
                (&logits * target_seed(&logits, &targets.narrow(0, a, l))).sum(logits.kind());
            let grad = Tensor::run_backward(&[score], &[&act], false, false).remove(0);
            (act.detach(), grad)
        })
        .unzip();
    (Tensor::cat(&acts, 0), Tensor::cat(&grads, 0))
}

/// Relative L2 error `||a - b|| / ||b||` (0 when both are zero), in f64.
pub fn relative_l2(a: &Tensor, b: &Tensor) -> f64 {
    let a = a.to_kind(Kind::Double);
    let b = b.to_kind(Kind::Double);
    let num = (&a - &b).norm().double_value(&[]);
    let den = b.norm().double_value(&[]);
    if den == 0.0 {
        num
    } else {
        num / den
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attr::grad_cam::grad_cam_map;
    use crate::attr::{Attribution, Deconvolution, GuidedBackprop, GuidedGradCam};
    use crate::model::{Arch, CutTape, ResNetConfig};
    use tch::Device;

    /// The cut engine (the engine before issue 18): the input gradient under `rule` and the
    /// Grad-CAM map from the same pass, upsampled to the input size.
    fn cut(m: &ResNet, x: &Tensor, t: &Tensor, rule: ReluRule) -> (Tensor, Tensor) {
        let x = x.detach().set_requires_grad(true);
        let mut tape = CutTape::new(&x);
        let f = m.features(&x, &mut tape, false);
        let logits = m.head(&f.value);
        let seed = target_seed(&logits, t);
        let (g, d_act) = tape
            .backward_with_last(&logits, &seed, f.node, rule)
            .unwrap();
        let map = grad_cam_map(&f.value.detach(), &d_act, true);
        let s = x.size();
        (g, map.upsample_nearest2d([s[2], s[3]], None, None))
    }

    /// Guided Backprop, Deconvolution and Guided Grad-CAM equal the cut engine's on every
    /// depth, four images of 36x52 in chunks of two: relative L2 <= `tol` (float32 1e-6,
    /// float64 1e-12). The engines differ only in rounding (autograd sums the stem
    /// max-pool's two consumers before its backward, the cut engine after), in the
    /// gradient; the Grad-CAM factor `c` is bitwise the same. So Guided Grad-CAM `g c` is
    /// held to the same bound on the factor that differs:
    /// `||g c - g' c|| <= tol max(c) ||g'||`. (Its plain relative L2 in float32 reached
    /// 1.4e-6 on ResNet-50, where the cut engine itself is 2.1e-6 from float64.)
    #[test]
    fn rule_methods_equal_the_cut_engine_on_every_depth() {
        let budget = MemoryBudget {
            max_images: Some(2),
            ..MemoryBudget::default()
        };
        for (kind, tol) in [(Kind::Float, 1e-6), (Kind::Double, 1e-12)] {
            for arch in Arch::ALL {
                tch::manual_seed(11);
                let mut m = ResNet::new(ResNetConfig::new(arch, 1, 4).unwrap(), Device::Cpu);
                let warm = Tensor::randn([4, 1, 36, 52], (Kind::Float, Device::Cpu));
                tch::no_grad(|| drop(m.forward_t(&warm, true)));
                if kind == Kind::Double {
                    m.vs.double();
                }
                let x = Tensor::randn([4, 1, 36, 52], (kind, Device::Cpu));
                let t = Tensor::from_slice(&[0i64, 1, 2, 3]);
                let gb = GuidedBackprop { budget }.attribute(&m, &x, &t).unwrap();
                let (g, cam) = cut(&m, &x, &t, ReluRule::Guided);
                let e = relative_l2(&gb, &g);
                assert!(e <= tol, "{arch:?} {kind:?} guided-backprop: {e:e}");
                let dc = Deconvolution { budget }.attribute(&m, &x, &t).unwrap();
                let (d, _) = cut(&m, &x, &t, ReluRule::Deconvolution);
                let e = relative_l2(&dc, &d);
                assert!(e <= tol, "{arch:?} {kind:?} deconvolution: {e:e}");
                let ggc = GuidedGradCam { budget }.attribute(&m, &x, &t).unwrap();
                let want = &g * &cam;
                let c_max = cam.max().double_value(&[]);
                assert!(c_max > 0.0, "{arch:?}: Grad-CAM map all zero");
                let err = (&ggc - &want)
                    .to_kind(Kind::Double)
                    .norm()
                    .double_value(&[]);
                let bound = tol * c_max * g.to_kind(Kind::Double).norm().double_value(&[]);
                assert!(
                    err <= bound,
                    "{arch:?} {kind:?} guided-grad-cam: {err:e} > {bound:e}"
                );
                if kind == Kind::Double {
                    let e = relative_l2(&ggc, &want);
                    assert!(e <= tol, "{arch:?} guided-grad-cam: {e:e}");
                }
            }
        }
    }
}
