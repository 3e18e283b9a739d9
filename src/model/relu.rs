//! ReLU rule points: the places where a backward rule (plain gradient, guided
//! backpropagation, deconvolution) applies, and the one backward engine that walks them.
//!
//! tch has neither tensor hooks nor custom autograd functions, and the guided and
//! deconvolution rules are non-linear in the upstream gradient (`relu(grad_out)`), so no
//! single autograd graph can express them. Instead the forward pass is written once
//! against [`ReluSite`]: every ReLU of the network, including the one after each residual
//! add, calls [`ReluSite::relu`] with its pre-activation and the nodes its graph reaches
//! back to. [`PlainRelu`] just applies the ReLU (normal inference and training);
//! [`ReluTape`] cuts the graph there: the ReLU output becomes a fresh leaf, and the
//! pre-activation is remembered. [`ReluTape::backward`] then walks the segments from the
//! output back to the input, applying a [`ReluRule`] at every cut. A rule is data, not a
//! copy of the model.

use tch::Tensor;

/// Identifies a value in the forward pass: [`INPUT`] or the output of the n-th ReLU (1-based).
pub type NodeId = usize;

/// The node of the network input.
pub const INPUT: NodeId = 0;

/// A tensor flowing through the forward pass with the node it was last cut at.
#[derive(Debug)]
pub struct Act {
    pub value: Tensor,
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
    /// (`threshold_backward` is autograd's own ReLU backward, `g * 1[x > 0]`).
    pub fn apply(self, g: &Tensor, x: &Tensor) -> Tensor {
        match self {
            Self::Gradient => x.threshold_backward(g, 0.0),
            Self::Guided => x.threshold_backward(g, 0.0).relu_(),
            Self::Deconvolution => g.relu(),
        }
    }
}

#[derive(Debug)]
struct Segment {
    pre: Tensor,
    sources: Vec<NodeId>,
    leaf: Tensor,
}

/// Records a forward pass cut at every ReLU, for [`ReluTape::backward`].
#[derive(Debug)]
pub struct ReluTape {
    input: Tensor,
    segments: Vec<Segment>,
}

impl ReluTape {
    /// Starts a recording; `input` must require grad (the engine differentiates to it).
    pub fn new(input: &Tensor) -> Self {
        Self {
            input: input.shallow_clone(),
            segments: Vec::new(),
        }
    }

    /// Number of ReLU rule points recorded.
    pub fn len(&self) -> usize {
        self.segments.len()
    }

    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    fn value(&self, node: NodeId) -> &Tensor {
        if node == INPUT {
            &self.input
        } else {
            &self.segments[node - 1].leaf
        }
    }

    /// Backpropagates `(output * seed).sum()` from `output` (computed from node `last`,
    /// which must be the last recorded ReLU or the input) to the input, applying `rule` at
    /// every ReLU. Returns d/d input. Consumes the tape (its graphs are freed at the end).
    pub fn backward(self, output: &Tensor, seed: &Tensor, last: NodeId, rule: ReluRule) -> Tensor {
        self.backward_with_last(output, seed, last, rule).0
    }

    /// As [`ReluTape::backward`], also returning the gradient at node `last` itself
    /// (`d/d value(last)`, before any rule applies): layer4's gradient for Grad-CAM when
    /// `last` is the network's last ReLU, so that Guided Grad-CAM needs one forward pass.
    ///
    /// Segments are visited in reverse creation order; a node's gradient is complete when
    /// its own segment is reached, because every consumer of a node was created after it.
    /// Each segment is backpropagated from the scalar `<pre, g_pre>` (a dot product: one
    /// read of both tensors, and a backward that yields `g_pre` in one pass), because tch's
    /// `run_backward` takes no upstream gradient.
    pub fn backward_with_last(
        self,
        output: &Tensor,
        seed: &Tensor,
        last: NodeId,
        rule: ReluRule,
    ) -> (Tensor, Tensor) {
        let n = self.segments.len();
        let mut grads: Vec<Option<Tensor>> = (0..=n).map(|_| None).collect();
        let root = (output * seed).sum(output.kind());
        let g_last = Tensor::run_backward(&[root], &[self.value(last)], false, false).remove(0);
        grads[last] = Some(g_last.shallow_clone());
        for node in (1..=n).rev() {
            let seg = &self.segments[node - 1];
            let Some(g_out) = grads[node].take() else {
                continue;
            };
            let g_pre = rule.apply(&g_out, &seg.pre);
            drop(g_out);
            let root = seg.pre.flatten(0, -1).dot(&g_pre.flatten(0, -1));
            drop(g_pre);
            let inputs: Vec<&Tensor> = seg.sources.iter().map(|&s| self.value(s)).collect();
            // keep_graph: two segments may share graph below their sources (the stem's
            // max-pool feeds both paths of the first block), so each is walked once per
            // consumer; backward is linear in the upstream gradient, so contributions add.
            let gs = Tensor::run_backward(&[root], &inputs, true, false);
            for (&src, g) in seg.sources.iter().zip(gs) {
                if !g.defined() {
                    continue;
                }
                grads[src] = Some(match grads[src].take() {
                    Some(acc) => acc + g,
                    None => g,
                });
            }
        }
        let input = grads[INPUT]
            .take()
            .unwrap_or_else(|| self.input.zeros_like());
        (input, g_last)
    }
}

impl ReluSite for ReluTape {
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
