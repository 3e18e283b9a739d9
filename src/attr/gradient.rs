//! Shared gradient helpers: the target-logit gradient under a ReLU rule, layer4's
//! activation and gradient, and batched evaluation of target logits.

use tch::{Kind, Tensor};

use super::batch::{ranges, Budget};
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
pub fn target_logits(model: &ResNet, inputs: &Tensor, targets: &Tensor, budget: Budget) -> Tensor {
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
    budget: Budget,
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
    budget: Budget,
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
    budget: Budget,
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
