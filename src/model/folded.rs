//! A forward-only copy of a ResNet in evaluation mode with every BatchNorm folded into the
//! convolution before it. In evaluation mode BatchNorm is the affine map
//! `y = gamma (z - mean) / sqrt(var + eps) + beta`, so for `z = w * x`
//!
//! `w' = w gamma / sqrt(var + eps)`, `b' = beta - mean gamma / sqrt(var + eps)`
//!
//! give `y = w' * x + b'` exactly up to rounding (the scale is formed in float64 and then
//! cast to the model's kind). Used by every forward-only pass (occlusion, its
//! Max-Sensitivity, evaluation, deletion/insertion curves); gradients and training keep
//! the [`ResNet`] itself. The copy reflects the weights at the time it is made.

use tch::{Kind, Tensor};

use super::graph::{Graph, Op};
use super::layers::{BatchNorm2d, Conv2d};
use super::resnet::ResNet;

/// A ResNet with BatchNorm folded into its convolutions, as the layers of a [`Graph`].
#[derive(Debug)]
pub struct FoldedResNet {
    pub graph: Graph,
    /// (weight, bias) of every convolution layer, None for pooling and adds.
    convs: Vec<Option<(Tensor, Tensor)>>,
    fc: (Tensor, Tensor),
    /// The last layer reading each node (nodes read by none: usize::MAX).
    last_use: Vec<usize>,
}

/// `(w gamma / sqrt(var + eps), beta - mean gamma / sqrt(var + eps))` in `w`'s kind.
fn fold(conv: &Conv2d, bn: &BatchNorm2d) -> (Tensor, Tensor) {
    let kind = conv.weight.kind();
    let d = |t: &Tensor| t.detach().to_kind(Kind::Double);
    let scale = d(&bn.weight) / (d(&bn.running_var) + BatchNorm2d::EPS).sqrt();
    let w = (d(&conv.weight) * scale.view([-1, 1, 1, 1])).to_kind(kind);
    let b = (d(&bn.bias) - d(&bn.running_mean) * &scale).to_kind(kind);
    (w, b)
}

impl FoldedResNet {
    /// Folds `model`'s current weights (its kind and device).
    pub fn new(model: &ResNet) -> Self {
        let graph = Graph::resnet(model.config.arch, model.config.in_channels);
        let mut pairs = model.conv_bn_pairs().into_iter();
        let convs = tch::no_grad(|| {
            graph
                .layers
                .iter()
                .map(|l| match l.op {
                    Op::Conv { slide, c_in } => {
                        let (conv, bn) = pairs.next().expect("one conv per conv layer");
                        assert_eq!(conv.weight.size(), [l.c_out, c_in, slide.k, slide.k]);
                        assert_eq!(conv.geometry(), (slide.s, slide.p), "{}", l.name);
                        Some(fold(conv, bn))
                    }
                    _ => None,
                })
                .collect()
        });
        assert!(pairs.next().is_none(), "every conv folded");
        let (w, b) = model.fc_parameters();
        let mut last_use = vec![usize::MAX; graph.nodes()];
        for (i, l) in graph.layers.iter().enumerate() {
            for &j in &l.inputs {
                last_use[j] = i;
            }
        }
        Self {
            graph,
            convs,
            fc: (w.detach(), b.detach()),
            last_use,
        }
    }

    /// Layer `i` on its input maps; `padded: false` computes it without padding, on maps
    /// that already hold the context around the outputs wanted.
    pub fn apply(&self, i: usize, inputs: &[&Tensor], padded: bool) -> Tensor {
        let l = &self.graph.layers[i];
        let s = l.slide();
        let p = if padded { s.p } else { 0 };
        let y = match l.op {
            Op::Conv { .. } => {
                let (w, b) = self.convs[i].as_ref().expect("conv weights");
                inputs[0].conv2d(w, Some(b), [s.s; 2], [p; 2], [1, 1], 1)
            }
            Op::MaxPool { .. } => inputs[0].max_pool2d([s.k; 2], [s.s; 2], [p; 2], [1, 1], false),
            Op::Add => inputs[0] + inputs[1],
        };
        if l.relu {
            y.relu()
        } else {
            y
        }
    }

    /// Every node `0..=upto` for the images `x` (node 0 is `x`).
    pub fn nodes(&self, x: &Tensor, upto: usize) -> Vec<Tensor> {
        let mut out = vec![x.shallow_clone()];
        for i in 0..upto {
            let ins: Vec<&Tensor> = self.graph.layers[i]
                .inputs
                .iter()
                .map(|&j| &out[j])
                .collect();
            let y = self.apply(i, &ins, true);
            out.push(y);
        }
        out
    }

    /// Logits from `value` at node `node` (the input or a block input): the layers after
    /// it, then the head. Maps are dropped after their last reader.
    pub fn forward_from(&self, node: usize, value: Tensor) -> Tensor {
        let n = self.graph.nodes();
        let mut maps: Vec<Option<Tensor>> = (0..n).map(|_| None).collect();
        maps[node] = Some(value);
        for i in node..self.graph.layers.len() {
            let l = &self.graph.layers[i];
            let y = {
                let ins: Vec<&Tensor> = l
                    .inputs
                    .iter()
                    .map(|&j| maps[j].as_ref().expect("a block reads only its own maps"))
                    .collect();
                self.apply(i, &ins, true)
            };
            for &j in &l.inputs {
                if self.last_use[j] == i {
                    maps[j] = None;
                }
            }
            maps[i + 1] = Some(y);
        }
        self.head(maps[n - 1].as_ref().expect("features"))
    }

    /// Global average pool and fc: layer4's output to logits.
    pub fn head(&self, features: &Tensor) -> Tensor {
        features
            .adaptive_avg_pool2d([1, 1])
            .flatten(1, -1)
            .linear(&self.fc.0, Some(&self.fc.1))
    }

    /// Logits of `x` (evaluation mode).
    pub fn forward(&self, x: &Tensor) -> Tensor {
        self.forward_from(0, x.shallow_clone())
    }

    /// `f(x)[t]` for every image, without gradients, `chunk` images per pass (the unit
    /// tests' reference).
    #[cfg(test)]
    pub fn target_logits(&self, x: &Tensor, targets: &Tensor, chunk: usize) -> Tensor {
        let n = x.size()[0];
        let chunk = chunk.max(1) as i64;
        tch::no_grad(|| {
            let parts: Vec<Tensor> = (0..n)
                .step_by(chunk as usize)
                .map(|a| {
                    let l = chunk.min(n - a);
                    self.forward(&x.narrow(0, a, l))
                        .gather(1, &targets.narrow(0, a, l).unsqueeze(1), false)
                        .squeeze_dim(1)
                })
                .collect();
            Tensor::cat(&parts, 0)
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::{Arch, ResNetConfig};
    use tch::Device;

    /// A network with random BatchNorm statistics and affine parameters (a freshly built
    /// one has the identity BatchNorm, which folding would not exercise), in `kind`.
    pub(crate) fn random_model(arch: Arch, c: i64, classes: i64, kind: Kind) -> ResNet {
        tch::manual_seed(7);
        let mut m = ResNet::new(ResNetConfig::new(arch, c, classes).unwrap(), Device::Cpu);
        tch::no_grad(|| {
            let mut vars: Vec<(String, Tensor)> = m.vs.variables().into_iter().collect();
            vars.sort_by(|a, b| a.0.cmp(&b.0));
            for (name, mut v) in vars {
                let shape = v.size();
                if shape.len() != 1 || name.starts_with("fc") {
                    continue;
                }
                let (u, g) = (
                    Tensor::rand([shape[0]], (Kind::Float, Device::Cpu)) * 0.5 + 0.5,
                    Tensor::randn([shape[0]], (Kind::Float, Device::Cpu)) * 0.1,
                );
                let value = if name.ends_with("weight") || name.ends_with("running_var") {
                    u
                } else {
                    g
                };
                v.copy_(&value);
            }
        });
        if kind == Kind::Double {
            m.vs.double();
        }
        m
    }

    fn rel_l2(a: &Tensor, b: &Tensor) -> f64 {
        let d = (a - b).to_kind(Kind::Double).norm().double_value(&[]);
        d / b.to_kind(Kind::Double).norm().double_value(&[])
    }

    #[test]
    fn folded_logits_agree_with_the_network_at_every_depth() {
        for arch in Arch::ALL {
            for (kind, bound) in [(Kind::Float, 1e-5), (Kind::Double, 1e-12)] {
                let m = random_model(arch, 2, 10, kind);
                let x = Tensor::randn([3, 2, 45, 54], (kind, Device::Cpu));
                let want = tch::no_grad(|| m.forward(&x));
                let f = FoldedResNet::new(&m);
                let got = tch::no_grad(|| f.forward(&x));
                let e = rel_l2(&got, &want);
                assert!(e <= bound, "{arch} {kind:?}: relative L2 {e:e} > {bound:e}");
                let t = Tensor::from_slice(&[1i64, 4, 9]);
                let tl = f.target_logits(&x, &t, 2);
                let e = rel_l2(&tl, &got.gather(1, &t.unsqueeze(1), false).squeeze_dim(1));
                assert!(e <= bound, "{arch} {kind:?}: chunked target logits {e:e}");
            }
        }
    }

    #[test]
    fn folded_forward_is_deterministic() {
        let m = random_model(Arch::Resnet18, 1, 5, Kind::Float);
        let f = FoldedResNet::new(&m);
        let x = Tensor::randn([2, 1, 40, 40], (Kind::Float, Device::Cpu));
        let a = tch::no_grad(|| f.forward(&x));
        let b = tch::no_grad(|| f.forward(&x));
        assert!(a.equal(&b));
    }
}
