//! ReLU rule points: the places where a backward rule (plain gradient, guided
//! backpropagation, deconvolution) applies, and the one backward engine that applies them.
//!
//! The guided and deconvolution rules are non-linear in the upstream gradient
//! (`relu(grad_out)`), so ordinary autograd ops cannot express them, and tch has neither
//! tensor hooks nor custom autograd functions. The forward pass is written once against
//! [`ReluSite`]: every ReLU of the network, including the one after each residual add,
//! calls [`ReluSite::relu`] with its pre-activation and the nodes its graph reaches back
//! to. [`PlainRelu`] just applies the ReLU (normal inference and training); [`ReluTape`]
//! makes each ReLU one autograd node whose backward is [`ReluRule::apply`] (a C++
//! `torch::autograd::Function` in the shim calling back into Rust, [`crate::shim::rule_relu`]),
//! so [`ReluTape::backward`] is a single autograd pass seeded with the caller's upstream
//! gradient ([`crate::shim::grad`]). A rule is data, not a copy of the model.
//! [`CutTape`], the former engine (the graph cut at every ReLU, one backward per segment),
//! is kept as an independent reference for tests and benchmarks.

use tch::{TchError, Tensor};

use crate::shim::{self, ShimError};

/// Identifies a value in the forward pass: [`INPUT`] or the output of the n-th ReLU (1-based).
pub type NodeId = usize;

/// The node of the network input.
pub const INPUT: NodeId = 0;

/// A tensor flowing through the forward pass with the node it was last cut at.
#[derive(Debug)]
pub struct Act {
    /// The tensor.
    pub value: Tensor,
    /// The node it was last cut at.
    pub node: NodeId,
}

impl Act {
    /// The network input as the start of a forward pass.
    pub fn input(x: &Tensor) -> Self {
        Self {
            value: x.shallow_clone(),
            node: INPUT,
        }
    }
}

/// A ReLU rule point. `pre` is the pre-activation; `sources` are the nodes whose values
/// `pre` was computed from (the block input and, after a residual add, the skip path too).
pub trait ReluSite {
    /// Applies this site's ReLU to `pre` and returns the activation with its node.
    fn relu(&mut self, pre: Tensor, sources: &[NodeId]) -> Act;
}

/// Ordinary ReLU, no recording: inference and training.
#[derive(Debug, Default, Clone, Copy)]
pub struct PlainRelu;

impl ReluSite for PlainRelu {
    fn relu(&mut self, pre: Tensor, _sources: &[NodeId]) -> Act {
        Act {
            value: pre.relu(),
            node: INPUT,
        }
    }
}

/// How a ReLU passes the gradient backwards, given the upstream gradient `g` (with respect
/// to the ReLU's output) and the pre-activation `x`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReluRule {
    /// Autograd's rule: `g * 1[x > 0]`.
    Gradient,
    /// Guided backpropagation (Springenberg et al. 2015; Captum `GuidedBackprop`):
    /// `relu(g) * 1[x > 0]`.
    Guided,
    /// Deconvolution (Zeiler & Fergus 2014; Captum `Deconvolution`): `relu(g)`, the
    /// forward mask ignored.
    Deconvolution,
}

impl ReluRule {
    /// The gradient with respect to the ReLU's input, in at most two elementwise passes
    /// (`threshold_backward` is autograd's own ReLU backward, `g * 1[x > 0]`). `x` is the
    /// pre-activation or, equally, the ReLU's output: `1[relu(x) > 0] = 1[x > 0]`.
    pub fn apply(self, g: &Tensor, x: &Tensor) -> Result<Tensor, TchError> {
        match self {
            Self::Gradient => x.f_threshold_backward(g, 0.0),
            Self::Guided => x.f_threshold_backward(g, 0.0)?.f_relu_(),
            Self::Deconvolution => g.f_relu(),
        }
    }

    const ALL: [ReluRule; 3] = [Self::Gradient, Self::Guided, Self::Deconvolution];

    /// The rule as the integer tag the shim's autograd node carries.
    fn tag(self) -> i64 {
        Self::ALL.iter().position(|&r| r == self).unwrap_or(0) as i64
    }

    /// [`ReluRule::apply`] on `(tag, g, y)`: the backward of the shim's rule ReLU.
    fn backward(tag: i64, g: &Tensor, y: &Tensor) -> Result<Tensor, TchError> {
        let rule = usize::try_from(tag)
            .ok()
            .and_then(|i| Self::ALL.get(i))
            .ok_or_else(|| TchError::Torch(format!("unknown ReLU rule tag {tag}")))?;
        rule.apply(g, y)
    }
}

/// Records a forward pass in which every ReLU is one autograd node applying a
/// [`ReluRule`] in its backward, for [`ReluTape::backward`].
#[derive(Debug)]
pub struct ReluTape {
    input: Tensor,
    rule: ReluRule,
    count: usize,
    /// The output of the most recent ReLU (the only node besides the input whose gradient
    /// can be asked for).
    last: Option<Tensor>,
    /// The first error of the shim while recording, reported by [`ReluTape::backward`].
    error: Option<ShimError>,
}

impl ReluTape {
    /// Starts a recording that applies `rule` at every ReLU; `input` must require grad
    /// (the engine differentiates to it).
    pub fn new(input: &Tensor, rule: ReluRule) -> Self {
        Self {
            input: input.shallow_clone(),
            rule,
            count: 0,
            last: None,
            error: None,
        }
    }

    /// Number of ReLU rule points recorded.
    pub fn len(&self) -> usize {
        self.count
    }

    /// No ReLU rule point recorded yet.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Backpropagates `sum(output * seed)` from `output` (computed from node `last`, which
    /// must be the last recorded ReLU or the input) to the input, applying the rule at every
    /// ReLU. Returns d/d input.
    pub fn backward(
        self,
        output: &Tensor,
        seed: &Tensor,
        last: NodeId,
    ) -> Result<Tensor, ShimError> {
        Ok(self.backward_with_last(output, seed, last)?.0)
    }

    /// As [`ReluTape::backward`], also returning the gradient at node `last` itself
    /// (`d/d value(last)`, before any rule applies): layer4's gradient for Grad-CAM when
    /// `last` is the network's last ReLU, so that Guided Grad-CAM needs one forward pass.
    ///
    /// One autograd pass, `torch::autograd::grad([output], [input, value(last)], [seed])`:
    /// no graph is retained, so every node frees what it saved as soon as its backward has
    /// run.
    pub fn backward_with_last(
        self,
        output: &Tensor,
        seed: &Tensor,
        last: NodeId,
    ) -> Result<(Tensor, Tensor), ShimError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let at_last = match (&self.last, last) {
            (_, INPUT) => None,
            (Some(t), n) if n == self.count => Some(t),
            _ => {
                return Err(ShimError {
                    call: "ReluTape::backward",
                    message: format!(
                        "node {last} is neither the input nor the last of {} ReLUs",
                        self.count
                    ),
                })
            }
        };
        let mut inputs = vec![&self.input];
        inputs.extend(at_last);
        let mut g = shim::grad(&[output], &inputs, &[seed], false, false)?;
        let g_last = match at_last {
            Some(_) => g.remove(1),
            None => g[0].shallow_clone(),
        };
        Ok((g.remove(0), g_last))
    }
}

impl ReluSite for ReluTape {
    fn relu(&mut self, pre: Tensor, _sources: &[NodeId]) -> Act {
        let value = match shim::rule_relu(&pre, ReluRule::backward, self.rule.tag()) {
            Ok(y) => y,
            Err(e) => {
                self.error.get_or_insert(e);
                pre.relu()
            }
        };
        self.count += 1;
        self.last = Some(value.shallow_clone());
        Act {
            value,
            node: self.count,
        }
    }
}

#[derive(Debug)]
struct Segment {
    pre: Tensor,
    sources: Vec<NodeId>,
    leaf: Tensor,
}

/// The former engine, kept as an independent reference for [`ReluTape`] (agreement tests,
/// benchmarks): the graph is cut at every ReLU (its output becomes a fresh leaf, its
/// pre-activation is remembered), and [`CutTape::backward_with_last`] walks the segments
/// from the output back to the input, backpropagating each from the scalar `<pre, g_pre>`
/// because tch's `run_backward` seeds ones.
#[derive(Debug)]
pub struct CutTape {
    input: Tensor,
    segments: Vec<Segment>,
}

impl CutTape {
    /// Starts a recording; `input` must require grad.
    pub fn new(input: &Tensor) -> Self {
        Self {
            input: input.shallow_clone(),
            segments: Vec::new(),
        }
    }

    fn value(&self, node: NodeId) -> &Tensor {
        if node == INPUT {
            &self.input
        } else {
            &self.segments[node - 1].leaf
        }
    }

    /// `(d/d input, d/d value(last))` of `sum(output * seed)` with `rule` at every ReLU.
    /// Segments are visited in reverse creation order; a node's gradient is complete when
    /// its own segment is reached, because every consumer of a node was created after it.
    pub fn backward_with_last(
        self,
        output: &Tensor,
        seed: &Tensor,
        last: NodeId,
        rule: ReluRule,
    ) -> Result<(Tensor, Tensor), TchError> {
        let n = self.segments.len();
        let mut grads: Vec<Option<Tensor>> = (0..=n).map(|_| None).collect();
        let root = (output * seed).f_sum(output.kind())?;
        let g_last = Tensor::f_run_backward(&[root], &[self.value(last)], false, false)?.remove(0);
        grads[last] = Some(g_last.shallow_clone());
        for node in (1..=n).rev() {
            let seg = &self.segments[node - 1];
            let Some(g_out) = grads[node].take() else {
                continue;
            };
            let g_pre = rule.apply(&g_out, &seg.pre)?;
            let root = seg.pre.flatten(0, -1).f_dot(&g_pre.flatten(0, -1))?;
            let inputs: Vec<&Tensor> = seg.sources.iter().map(|&s| self.value(s)).collect();
            // keep_graph: two segments may share graph below their sources (the stem's
            // max-pool feeds both paths of the first block).
            let gs = Tensor::f_run_backward(&[root], &inputs, true, false)?;
            for (&src, g) in seg.sources.iter().zip(gs) {
                if g.defined() {
                    grads[src] = Some(match grads[src].take() {
                        Some(acc) => acc + g,
                        None => g,
                    });
                }
            }
        }
        let input = grads[INPUT]
            .take()
            .unwrap_or_else(|| self.input.zeros_like());
        Ok((input, g_last))
    }
}

impl ReluSite for CutTape {
    fn relu(&mut self, pre: Tensor, sources: &[NodeId]) -> Act {
        let leaf = pre.relu().detach().set_requires_grad(true);
        self.segments.push(Segment {
            pre,
            sources: sources.to_vec(),
            leaf: leaf.shallow_clone(),
        });
        Act {
            value: leaf,
            node: self.segments.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attr::gradient::{relative_l2, target_seed};
    use crate::model::{Arch, ResNet, ResNetConfig};
    use tch::{Device, Kind};

    /// A random network with running statistics from a few training-mode passes, in `kind`,
    /// and two non-square inputs with targets.
    fn setup(arch: Arch, kind: Kind, seed: i64) -> (ResNet, Tensor, Tensor) {
        tch::manual_seed(seed);
        let mut m = ResNet::new(ResNetConfig::new(arch, 2, 5).unwrap(), Device::Cpu);
        tch::no_grad(|| {
            for _ in 0..2 {
                let _ = m.forward_t(
                    &Tensor::randn([4, 2, 40, 56], (Kind::Float, Device::Cpu)),
                    true,
                );
            }
        });
        if kind == Kind::Double {
            m.vs.double();
        }
        let x = Tensor::randn([2, 2, 40, 56], (kind, Device::Cpu));
        let t = Tensor::from_slice(&[1i64, 4]);
        (m, x, t)
    }

    /// `(d/d input, d/d layer4)` of the target logits with `rule`, by the one-pass engine
    /// and by the cut reference.
    fn both(m: &ResNet, x: &Tensor, t: &Tensor, rule: ReluRule) -> [(Tensor, Tensor); 2] {
        let x = x.detach().set_requires_grad(true);
        let mut tape = ReluTape::new(&x, rule);
        let f = m.features(&x, &mut tape, false);
        assert_eq!(tape.len(), m.config.arch.relu_count());
        let logits = m.head(&f.value);
        let seed = target_seed(&logits, t);
        let new = tape.backward_with_last(&logits, &seed, f.node).unwrap();
        let mut cut = CutTape::new(&x);
        let f = m.features(&x, &mut cut, false);
        let logits = m.head(&f.value);
        let old = cut
            .backward_with_last(&logits, &seed, f.node, rule)
            .unwrap();
        [new, old]
    }

    /// The one-pass engine equals the cut engine at the input and at layer4 on every depth
    /// and rule: float32 to rounding (relative L2 <= 1e-6; the two differ only in where the
    /// stem max-pool's two consumers are summed, before or after its backward), float64
    /// <= 1e-12.
    #[test]
    fn one_pass_engine_equals_the_cut_engine_on_every_depth() {
        for (kind, tol) in [(Kind::Float, 1e-6), (Kind::Double, 1e-12)] {
            for arch in Arch::ALL {
                let (m, x, t) = setup(arch, kind, 3);
                for rule in ReluRule::ALL {
                    let [(gi, gl), (ri, rl)] = both(&m, &x, &t, rule);
                    assert!(ri.abs().sum(Kind::Double).double_value(&[]) > 0.0);
                    let (ei, el) = (relative_l2(&gi, &ri), relative_l2(&gl, &rl));
                    assert!(ei <= tol, "{arch:?} {kind:?} {rule:?} input: {ei:e}");
                    assert!(el <= tol, "{arch:?} {kind:?} {rule:?} layer4: {el:e}");
                }
            }
        }
    }

    /// With the gradient rule the tape is plain autograd, and the gradient at layer4 is
    /// what autograd gives there; asking for a node that is not the last is an error.
    #[test]
    fn gradient_rule_is_autograd_and_last_is_checked() {
        let (m, x, t) = setup(Arch::Resnet18, Kind::Double, 5);
        let x = x.set_requires_grad(true);
        let f = m.features(&x, &mut PlainRelu, false);
        let logits = m.head(&f.value);
        let seed = target_seed(&logits, &t);
        let want = Tensor::run_backward(
            &[(&logits * &seed).sum(Kind::Double)],
            &[&x, &f.value],
            false,
            false,
        );
        let [(gi, gl), _] = both(&m, &x, &t, ReluRule::Gradient);
        assert!(relative_l2(&gi, &want[0]) < 1e-12);
        assert!(relative_l2(&gl, &want[1]) < 1e-12);
        let mut tape = ReluTape::new(&x, ReluRule::Guided);
        let f = m.features(&x, &mut tape, false);
        let logits = m.head(&f.value);
        let e = tape
            .backward(&logits, &target_seed(&logits, &t), f.node - 1)
            .unwrap_err();
        assert!(e.message.contains("neither the input nor the last"), "{e}");
    }

    /// The rules on a hand-made example; the tag round-trips and an unknown tag is an error.
    #[test]
    fn rules_by_hand() {
        let x = Tensor::from_slice(&[-1.0f64, 2.0, 3.0, 0.0]);
        let g = Tensor::from_slice(&[5.0f64, -6.0, 7.0, 8.0]);
        let v = |t: Tensor| Vec::<f64>::try_from(t).unwrap();
        assert_eq!(
            v(ReluRule::Gradient.apply(&g, &x).unwrap()),
            [0.0, -6.0, 7.0, 0.0]
        );
        assert_eq!(
            v(ReluRule::Guided.apply(&g, &x).unwrap()),
            [0.0, 0.0, 7.0, 0.0]
        );
        assert_eq!(
            v(ReluRule::Deconvolution.apply(&g, &x).unwrap()),
            [5.0, 0.0, 7.0, 8.0]
        );
        for rule in ReluRule::ALL {
            let by_tag = ReluRule::backward(rule.tag(), &g, &x.relu()).unwrap();
            assert!(by_tag.equal(&rule.apply(&g, &x).unwrap()), "{rule:?}");
        }
        assert!(ReluRule::backward(3, &g, &x).is_err());
    }
}
