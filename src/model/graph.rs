//! A ResNet as a list of layers on numbered feature maps, the form in which the FLOP model
//! ([`super::flops`]), the BatchNorm-folded network ([`super::folded`]) and incremental
//! occlusion ([`super::incremental`]) walk it.
//!
//! Node 0 is the input image; layer `i` writes node `i + 1`. A block reads only its input
//! node and the nodes it writes itself, so the network can be cut at any block input.

use super::resnet::Arch;

/// Sliding geometry along one axis: kernel, stride and padding (PyTorch's conventions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slide {
    pub k: i64,
    pub s: i64,
    pub p: i64,
}

/// Half-open interval `[start, end)` along one axis of a feature map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: i64,
    pub end: i64,
}

impl Span {
    pub fn len(&self) -> i64 {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }

    /// Smallest span holding both (the bounding box at a residual add); an empty span
    /// adds nothing.
    pub fn hull(&self, o: &Span) -> Span {
        if o.is_empty() {
            return *self;
        }
        if self.is_empty() {
            return *o;
        }
        Span {
            start: self.start.min(o.start),
            end: self.end.max(o.end),
        }
    }
}

impl Slide {
    /// Output length `floor((len + 2p - k) / s) + 1`.
    pub fn out_len(&self, len: i64) -> i64 {
        (len + 2 * self.p - self.k).div_euclid(self.s) + 1
    }

    /// The outputs whose receptive field `[o s - p, o s - p + k)` meets the changed input
    /// span: `o` from `ceil((start + p - k + 1) / s)` to `floor((end - 1 + p) / s)`, cut
    /// to the output map `[0, out_len(len))`.
    pub fn changed(&self, span: Span, len: i64) -> Span {
        let lo = -(-(span.start + self.p - self.k + 1)).div_euclid(self.s);
        let hi = (span.end - 1 + self.p).div_euclid(self.s) + 1;
        Span {
            start: lo.max(0),
            end: hi.min(self.out_len(len)),
        }
    }

    /// The input span read to compute the outputs `out`: `[start s - p, (end - 1) s - p + k)`,
    /// reaching past the border where the padding is read. The formula the unit tests hold;
    /// incremental occlusion (`model::incremental`) computes it inline per window.
    #[cfg(test)]
    pub fn context(&self, out: Span) -> Span {
        Span {
            start: out.start * self.s - self.p,
            end: (out.end - 1) * self.s - self.p + self.k,
        }
    }
}

/// What a layer computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Convolution (BatchNorm folded into it), square kernel, from `c_in` channels.
    Conv { slide: Slide, c_in: i64 },
    /// Max pooling; its input is a ReLU output (>= 0), so zero padding equals PyTorch's
    /// -inf padding.
    MaxPool { slide: Slide },
    /// Residual add of two nodes.
    Add,
}

/// One layer: its operation, the nodes it reads, output channels and a trailing ReLU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerSpec {
    /// torchvision's module name (`layer1.0.conv2`; `layer1.0.add` for the residual add).
    pub name: String,
    pub op: Op,
    pub inputs: Vec<usize>,
    pub c_out: i64,
    pub relu: bool,
}

impl LayerSpec {
    /// The sliding geometry of the layer (identity for the add).
    pub fn slide(&self) -> Slide {
        match self.op {
            Op::Conv { slide, .. } | Op::MaxPool { slide } => slide,
            Op::Add => Slide { k: 1, s: 1, p: 0 },
        }
    }
}

/// A ResNet's layers up to layer4's output (the head, average pool and fc, is separate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Graph {
    pub in_channels: i64,
    pub layers: Vec<LayerSpec>,
    /// The input node of every block, in order.
    pub block_inputs: Vec<usize>,
    /// Input features of the fully connected layer.
    pub fc_in: i64,
}

impl Graph {
    /// torchvision's ResNet: conv1 (7x7/2, pad 3) + ReLU, max pool 3x3/2 (pad 1), then per
    /// block the main convolutions (ReLU after all but the last), the downsample
    /// convolution where there is one, and the add + ReLU.
    pub fn resnet(arch: Arch, in_channels: i64) -> Self {
        let sl = |k, s, p| Slide { k, s, p };
        let mut layers = vec![
            LayerSpec {
                name: "conv1".into(),
                op: Op::Conv {
                    slide: sl(7, 2, 3),
                    c_in: in_channels,
                },
                inputs: vec![0],
                c_out: 64,
                relu: true,
            },
            LayerSpec {
                name: "maxpool".into(),
                op: Op::MaxPool { slide: sl(3, 2, 1) },
                inputs: vec![1],
                c_out: 64,
                relu: false,
            },
        ];
        let mut block_inputs = Vec::new();
        let (mut cur, mut c) = (2usize, 64i64);
        for (stage, &blocks) in arch.blocks().iter().enumerate() {
            let planes = 64i64 << stage;
            let c_out = planes * arch.expansion();
            for b in 0..blocks {
                let stride = if b > 0 || stage == 0 { 1 } else { 2 };
                let name = format!("layer{}.{b}", stage + 1);
                block_inputs.push(cur);
                let convs: Vec<(i64, i64, Slide)> = if arch.bottleneck() {
                    vec![
                        (c, planes, sl(1, 1, 0)),
                        (planes, planes, sl(3, stride, 1)),
                        (planes, c_out, sl(1, 1, 0)),
                    ]
                } else {
                    vec![(c, planes, sl(3, stride, 1)), (planes, planes, sl(3, 1, 1))]
                };
                let mut h = cur;
                let last = convs.len() - 1;
                for (i, (ci, co, slide)) in convs.into_iter().enumerate() {
                    layers.push(LayerSpec {
                        name: format!("{name}.conv{}", i + 1),
                        op: Op::Conv { slide, c_in: ci },
                        inputs: vec![h],
                        c_out: co,
                        relu: i != last,
                    });
                    h = layers.len();
                }
                let skip = if stride != 1 || c != c_out {
                    layers.push(LayerSpec {
                        name: format!("{name}.downsample.0"),
                        op: Op::Conv {
                            slide: sl(1, stride, 0),
                            c_in: c,
                        },
                        inputs: vec![cur],
                        c_out,
                        relu: false,
                    });
                    layers.len()
                } else {
                    cur
                };
                layers.push(LayerSpec {
                    name: format!("{name}.add"),
                    op: Op::Add,
                    inputs: vec![h, skip],
                    c_out,
                    relu: true,
                });
                cur = layers.len();
                c = c_out;
            }
        }
        Self {
            in_channels,
            layers,
            block_inputs,
            fc_in: c,
        }
    }

    /// Number of nodes (input + one per layer).
    pub fn nodes(&self) -> usize {
        self.layers.len() + 1
    }

    /// (channels, height, width) of every node for an `h` x `w` input.
    pub fn shapes(&self, h: i64, w: i64) -> Vec<(i64, i64, i64)> {
        let mut out = vec![(self.in_channels, h, w)];
        for l in &self.layers {
            let (_, ih, iw) = out[l.inputs[0]];
            let s = l.slide();
            out.push((l.c_out, s.out_len(ih), s.out_len(iw)));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(start: i64, end: i64) -> Span {
        Span { start, end }
    }

    #[test]
    fn changed_outputs_by_hand() {
        // conv1 of a ResNet (7x7, stride 2, pad 3) on 100 pixels: output o reads inputs
        // 2o-3 .. 2o+3. Inputs 0..15 reach o = 0..=8 (2*8-3 = 13 < 15; 2*9-3 = 15 no).
        let c1 = Slide { k: 7, s: 2, p: 3 };
        assert_eq!(c1.out_len(100), 50);
        assert_eq!(c1.changed(span(0, 15), 100), span(0, 9));
        // Inputs 5..20: o from ceil((5+3-6)/2) = 1 (reads -1..5, includes 5) to
        // floor(22/2) = 11 (reads 19..25).
        assert_eq!(c1.changed(span(5, 20), 100), span(1, 12));
        // At the far border the output is cut: inputs 85..100 reach o = 41..=49.
        assert_eq!(c1.changed(span(85, 100), 100), span(41, 50));
        assert_eq!(c1.context(span(1, 12)), span(-1, 26));
        // Max pool 3x3/2 pad 1 on 50: o reads 2o-1..2o+1.
        let mp = Slide { k: 3, s: 2, p: 1 };
        assert_eq!(mp.out_len(50), 25);
        // Inputs 1..12: o = 0 reads -1..=1, so it changes; o = 6 reads 11..=13.
        assert_eq!(mp.changed(span(1, 12), 50), span(0, 7));
        assert_eq!(mp.changed(span(0, 9), 50), span(0, 5));
        // 3x3 stride 1 pad 1 grows a span by one each side, cut at the map.
        let c3 = Slide { k: 3, s: 1, p: 1 };
        assert_eq!(c3.changed(span(3, 6), 25), span(2, 7));
        assert_eq!(c3.changed(span(0, 6), 25), span(0, 7));
        assert_eq!(c3.changed(span(20, 25), 25), span(19, 25));
        assert_eq!(c3.context(span(0, 7)), span(-1, 8));
        // A 1x1 stride-2 downsample: inputs 3..8 reach o = 2..=3 (inputs 4 and 6).
        let d = Slide { k: 1, s: 2, p: 0 };
        assert_eq!(d.out_len(25), 13);
        assert_eq!(d.changed(span(3, 8), 25), span(2, 4));
        assert_eq!(d.context(span(2, 4)), span(4, 7));
        // A single changed input pixel under the 1x1 stride-2: an odd one reaches nothing.
        assert!(d.changed(span(3, 4), 25).is_empty());
        assert_eq!(span(2, 4).hull(&span(1, 3)), span(1, 4));
    }

    #[test]
    fn resnet_graph_shapes_match_the_network() {
        let g = Graph::resnet(Arch::Resnet18, 2);
        let shapes = g.shapes(100, 100);
        assert_eq!(shapes[1], (64, 50, 50));
        assert_eq!(shapes[2], (64, 25, 25));
        assert_eq!(*shapes.last().unwrap(), (512, 4, 4));
        assert_eq!(g.block_inputs.len(), 8);
        assert_eq!(g.block_inputs[0], 2);
        // 2 stem layers, 8 blocks of 2 convs + add, 3 downsamples.
        assert_eq!(g.layers.len(), 2 + 8 * 3 + 3);
        let g = Graph::resnet(Arch::Resnet101, 1);
        assert_eq!(g.block_inputs.len(), 33);
        assert_eq!(g.fc_in, 2048);
        assert_eq!(*g.shapes(90, 108).last().unwrap(), (2048, 3, 4));
    }
}
