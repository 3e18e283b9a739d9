//! ResNet-18/34/50/101 with exactly torchvision's architecture and state_dict names
//! (He et al. 2016; torchvision.models.resnet, "ResNet v1.5": the stride of a bottleneck
//! sits on its 3x3 convolution), with configurable input channels and classes.
//!
//! The forward pass is written once against [`ReluSite`], so the same code serves
//! inference, training and every backward rule of the attribution methods.

use std::fmt;
use std::str::FromStr;

use tch::nn::{Path, VarStore};
use tch::{Device, Tensor};

use super::layers::{BatchNorm2d, Conv2d, Linear};
use super::relu::{Act, PlainRelu, ReluSite};
use super::ModelError;

/// The four ResNet depths of the study.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    /// ResNet-18: basic blocks `[2, 2, 2, 2]`.
    Resnet18,
    /// ResNet-34: basic blocks `[3, 4, 6, 3]`.
    Resnet34,
    /// ResNet-50: bottleneck blocks `[3, 4, 6, 3]`.
    Resnet50,
    /// ResNet-101: bottleneck blocks `[3, 4, 23, 3]`.
    Resnet101,
}

impl Arch {
    /// The four depths, shallowest first.
    pub const ALL: [Arch; 4] = [
        Arch::Resnet18,
        Arch::Resnet34,
        Arch::Resnet50,
        Arch::Resnet101,
    ];

    /// Blocks per stage (layer1..layer4).
    pub fn blocks(self) -> [usize; 4] {
        match self {
            Arch::Resnet18 => [2, 2, 2, 2],
            Arch::Resnet34 | Arch::Resnet50 => [3, 4, 6, 3],
            Arch::Resnet101 => [3, 4, 23, 3],
        }
    }

    /// Bottleneck blocks (expansion 4) rather than basic blocks (expansion 1).
    pub fn bottleneck(self) -> bool {
        matches!(self, Arch::Resnet50 | Arch::Resnet101)
    }

    /// Output channels of a block per planes: 4 (bottleneck) or 1 (basic).
    pub fn expansion(self) -> i64 {
        if self.bottleneck() {
            4
        } else {
            1
        }
    }

    /// torchvision's name (`resnet18`, ...), used on the command line and in files.
    pub fn name(self) -> &'static str {
        match self {
            Arch::Resnet18 => "resnet18",
            Arch::Resnet34 => "resnet34",
            Arch::Resnet50 => "resnet50",
            Arch::Resnet101 => "resnet101",
        }
    }

    /// Number of ReLU rule points in a forward pass: the stem's, then 2 per basic block or
    /// 3 per bottleneck (the last after the residual add).
    #[cfg(test)]
    pub fn relu_count(self) -> usize {
        let per_block = if self.bottleneck() { 3 } else { 2 };
        1 + per_block * self.blocks().iter().sum::<usize>()
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Arch {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let k = s.to_ascii_lowercase().replace(['-', '_'], "");
        Arch::ALL
            .into_iter()
            .find(|a| a.name() == k)
            .ok_or_else(|| ModelError::UnknownArch(s.to_string()))
    }
}

/// What a ResNet is built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ResNetConfig {
    /// The depth.
    pub arch: Arch,
    /// Input channels: 1 (one polarization) to 3.
    pub in_channels: i64,
    /// Output classes (logits).
    pub num_classes: i64,
}

impl ResNetConfig {
    /// Checks the channels (1 to 3) and the class count (at least 1).
    pub fn new(arch: Arch, in_channels: i64, num_classes: i64) -> Result<Self, ModelError> {
        if !(1..=3).contains(&in_channels) {
            return Err(ModelError::Config(format!(
                "input channels must be 1, 2 or 3, got {in_channels}"
            )));
        }
        if num_classes < 1 {
            return Err(ModelError::Config(format!(
                "need at least 1 class, got {num_classes}"
            )));
        }
        Ok(Self {
            arch,
            in_channels,
            num_classes,
        })
    }
}

#[derive(Debug)]
struct Downsample {
    conv: Conv2d,
    bn: BatchNorm2d,
}

/// A residual block: basic (two 3x3) or bottleneck (1x1, 3x3 with the stride, 1x1).
#[derive(Debug)]
struct Block {
    convs: Vec<(Conv2d, BatchNorm2d)>,
    downsample: Option<Downsample>,
}

impl Block {
    fn new(p: Path, bottleneck: bool, c_in: i64, planes: i64, stride: i64) -> Self {
        let expansion = if bottleneck { 4 } else { 1 };
        let c_out = planes * expansion;
        let cbn = |i: usize, ci: i64, co: i64, k: i64, s: i64, pad: i64| {
            (
                Conv2d::new(&p / format!("conv{i}"), ci, co, k, s, pad),
                BatchNorm2d::new(&p / format!("bn{i}"), co),
            )
        };
        let convs = if bottleneck {
            vec![
                cbn(1, c_in, planes, 1, 1, 0),
                cbn(2, planes, planes, 3, stride, 1),
                cbn(3, planes, c_out, 1, 1, 0),
            ]
        } else {
            vec![
                cbn(1, c_in, planes, 3, stride, 1),
                cbn(2, planes, planes, 3, 1, 1),
            ]
        };
        let downsample = (stride != 1 || c_in != c_out).then(|| {
            let d = &p / "downsample";
            Downsample {
                conv: Conv2d::new(&d / "0", c_in, c_out, 1, stride, 0),
                bn: BatchNorm2d::new(&d / "1", c_out),
            }
        });
        Self { convs, downsample }
    }

    /// `relu(main(x) + skip(x))`, a ReLU after every conv/bn pair but the last, which is
    /// followed by the residual add and then its ReLU.
    fn forward(&self, x: &Act, site: &mut dyn ReluSite, train: bool) -> Act {
        let last = self.convs.len() - 1;
        let mut h = Act {
            value: x.value.shallow_clone(),
            node: x.node,
        };
        for (conv, bn) in &self.convs[..last] {
            let pre = bn.forward(&conv.forward(&h.value), train);
            h = site.relu(pre, &[h.node]);
        }
        let (conv, bn) = &self.convs[last];
        let main = bn.forward(&conv.forward(&h.value), train);
        let skip = match &self.downsample {
            Some(d) => d.bn.forward(&d.conv.forward(&x.value), train),
            None => x.value.shallow_clone(),
        };
        site.relu(main + skip, &[h.node, x.node])
    }
}

/// A torchvision ResNet whose parameters live in its own [`VarStore`].
#[derive(Debug)]
pub struct ResNet {
    /// What the network was built for.
    pub config: ResNetConfig,
    /// Its parameters and BatchNorm buffers (torchvision's state_dict names).
    pub vs: VarStore,
    conv1: Conv2d,
    bn1: BatchNorm2d,
    layers: [Vec<Block>; 4],
    fc: Linear,
}

impl ResNet {
    /// Builds a freshly initialised network (torchvision's initialisation; seed with
    /// `tch::manual_seed` for reproducible weights).
    pub fn new(config: ResNetConfig, device: Device) -> Self {
        let vs = VarStore::new(device);
        let root = vs.root();
        let arch = config.arch;
        let conv1 = Conv2d::new(&root / "conv1", config.in_channels, 64, 7, 2, 3);
        let bn1 = BatchNorm2d::new(&root / "bn1", 64);
        let mut c_in = 64;
        let mut stage = |i: usize, planes: i64, stride: i64| {
            let p = &root / format!("layer{}", i + 1);
            (0..arch.blocks()[i])
                .map(|b| {
                    let s = if b == 0 { stride } else { 1 };
                    let blk = Block::new(&p / b, arch.bottleneck(), c_in, planes, s);
                    c_in = planes * arch.expansion();
                    blk
                })
                .collect::<Vec<_>>()
        };
        let layers = [
            stage(0, 64, 1),
            stage(1, 128, 2),
            stage(2, 256, 2),
            stage(3, 512, 2),
        ];
        let fc = Linear::new(&root / "fc", 512 * arch.expansion(), config.num_classes);
        Self {
            config,
            vs,
            conv1,
            bn1,
            layers,
            fc,
        }
    }

    /// The device its parameters live on.
    pub fn device(&self) -> Device {
        self.vs.device()
    }

    /// Stem and the four stages; returns layer4's output (the Grad-CAM layer), recording
    /// every ReLU at `site`.
    pub fn features(&self, x: &Tensor, site: &mut dyn ReluSite, train: bool) -> Act {
        let pre = self.bn1.forward(&self.conv1.forward(x), train);
        let stem = site.relu(pre, &[Act::input(x).node]);
        let mut h = Act {
            value: stem.value.max_pool2d([3, 3], [2, 2], [1, 1], [1, 1], false),
            node: stem.node,
        };
        for block in self.layers.iter().flatten() {
            h = block.forward(&h, site, train);
        }
        h
    }

    /// Global average pool, flatten and the fully connected layer: layer4 output to logits.
    pub fn head(&self, features: &Tensor) -> Tensor {
        self.fc
            .forward(&features.adaptive_avg_pool2d([1, 1]).flatten(1, -1))
    }

    /// Logits with ordinary ReLUs; `train` selects batch statistics in BatchNorm.
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        self.head(&self.features(x, &mut PlainRelu, train).value)
    }

    /// Logits in evaluation mode.
    pub fn forward(&self, x: &Tensor) -> Tensor {
        self.forward_t(x, false)
    }

    /// Every convolution with its BatchNorm, in the order of [`super::graph::Graph::resnet`]'s
    /// convolution layers: conv1, then per block its main convolutions and its downsample.
    pub(crate) fn conv_bn_pairs(&self) -> Vec<(&Conv2d, &BatchNorm2d)> {
        let mut out = vec![(&self.conv1, &self.bn1)];
        for block in self.layers.iter().flatten() {
            out.extend(block.convs.iter().map(|(c, b)| (c, b)));
            if let Some(d) = &block.downsample {
                out.push((&d.conv, &d.bn));
            }
        }
        out
    }

    /// The fully connected layer's (weight, bias).
    pub fn fc_parameters(&self) -> (&Tensor, &Tensor) {
        (&self.fc.weight, &self.fc.bias)
    }

    /// Number of trainable parameters (weights and biases, not BN buffers).
    pub fn parameter_count(&self) -> i64 {
        self.vs
            .trainable_variables()
            .iter()
            .map(|t| t.numel() as i64)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param_count(arch: Arch, c: i64, k: i64) -> i64 {
        ResNet::new(ResNetConfig::new(arch, c, k).unwrap(), Device::Cpu).parameter_count()
    }

    #[test]
    fn parameter_counts_match_torchvision() {
        // torchvision, 3 channels, 1000 classes: sum(p.numel() for p in m.parameters()).
        assert_eq!(param_count(Arch::Resnet18, 3, 1000), 11_689_512);
        assert_eq!(param_count(Arch::Resnet50, 3, 1000), 25_557_032);
    }

    #[test]
    fn state_dict_names_are_torchvision_names() {
        let m = ResNet::new(
            ResNetConfig::new(Arch::Resnet50, 1, 10).unwrap(),
            Device::Cpu,
        );
        let vars = m.vs.variables();
        for name in [
            "conv1.weight",
            "bn1.running_mean",
            "bn1.num_batches_tracked",
            "layer1.0.downsample.0.weight",
            "layer1.0.downsample.1.running_var",
            "layer4.2.conv3.weight",
            "fc.bias",
        ] {
            assert!(vars.contains_key(name), "missing {name}");
        }
        assert_eq!(vars["conv1.weight"].size(), [64, 1, 7, 7]);
        assert_eq!(vars["fc.weight"].size(), [10, 2048]);
        // 320 entries in torchvision's resnet50 state_dict.
        assert_eq!(vars.len(), 320);
    }

    #[test]
    fn forward_shapes_and_relu_points() {
        let m = ResNet::new(
            ResNetConfig::new(Arch::Resnet18, 2, 7).unwrap(),
            Device::Cpu,
        );
        let x = Tensor::randn([2, 2, 100, 100], (tch::Kind::Float, Device::Cpu));
        let rule = super::super::relu::ReluRule::Guided;
        let mut tape = super::super::relu::ReluTape::new(&x.set_requires_grad(true), rule);
        let f = m.features(&x, &mut tape, false);
        assert_eq!(f.value.size(), [2, 512, 4, 4]);
        assert_eq!(tape.len(), Arch::Resnet18.relu_count());
        assert_eq!(m.head(&f.value).size(), [2, 7]);
        assert_eq!(Arch::Resnet101.relu_count(), 1 + 3 * 33);
    }

    #[test]
    fn arch_parses_case_and_dashes() {
        assert_eq!("ResNet-101".parse::<Arch>().unwrap(), Arch::Resnet101);
        assert!("vgg16".parse::<Arch>().is_err());
    }
}
