//! The three parameterised layers of a torchvision ResNet, with torchvision's parameter
//! names, shapes and default initialisation (tch's own initialisers differ).
//!
//! Parameters live in a [`tch::nn::VarStore`] under dotted names (`layer1.0.conv1.weight`),
//! so optimisers, device moves and checkpoints see exactly a torchvision state_dict.

use tch::nn::Path;
use tch::{Kind, Tensor};

/// `nn.Conv2d(in, out, k, stride, padding, bias=False)`, initialised like torchvision's
/// ResNet: `kaiming_normal_(mode="fan_out", nonlinearity="relu")`, i.e.
/// `N(0, sqrt(2 / (out * k * k)))`.
#[derive(Debug)]
pub struct Conv2d {
    pub weight: Tensor,
    stride: i64,
    padding: i64,
}

impl Conv2d {
    pub fn new(p: Path, c_in: i64, c_out: i64, k: i64, stride: i64, padding: i64) -> Self {
        let std = (2.0 / (c_out * k * k) as f64).sqrt();
        let w = Tensor::randn([c_out, c_in, k, k], (Kind::Float, p.device())) * std;
        Self {
            weight: p.add("weight", w, true),
            stride,
            padding,
        }
    }

    /// Stride and padding (the same along both axes).
    pub fn geometry(&self) -> (i64, i64) {
        (self.stride, self.padding)
    }

    pub fn forward(&self, x: &Tensor) -> Tensor {
        x.conv2d(
            &self.weight,
            None::<Tensor>,
            [self.stride; 2],
            [self.padding; 2],
            [1, 1],
            1,
        )
    }
}

/// `nn.BatchNorm2d(c)` with eps 1e-5 and momentum 0.1: weight 1, bias 0, running mean 0,
/// running var 1, `num_batches_tracked` 0 (int64, counted during training like PyTorch).
#[derive(Debug)]
pub struct BatchNorm2d {
    pub weight: Tensor,
    pub bias: Tensor,
    pub running_mean: Tensor,
    pub running_var: Tensor,
    pub num_batches_tracked: Tensor,
}

impl BatchNorm2d {
    pub const EPS: f64 = 1e-5;
    pub const MOMENTUM: f64 = 0.1;

    pub fn new(p: Path, c: i64) -> Self {
        let dev = p.device();
        Self {
            weight: p.add("weight", Tensor::ones([c], (Kind::Float, dev)), true),
            bias: p.add("bias", Tensor::zeros([c], (Kind::Float, dev)), true),
            running_mean: p.add(
                "running_mean",
                Tensor::zeros([c], (Kind::Float, dev)),
                false,
            ),
            running_var: p.add("running_var", Tensor::ones([c], (Kind::Float, dev)), false),
            num_batches_tracked: p.add(
                "num_batches_tracked",
                Tensor::zeros([], (Kind::Int64, dev)),
                false,
            ),
        }
    }

    /// Training mode normalises with batch statistics and updates the running ones
    /// (even under no_grad, as in PyTorch); evaluation mode uses the running statistics.
    pub fn forward(&self, x: &Tensor, train: bool) -> Tensor {
        if train {
            tch::no_grad(|| {
                let mut n = self.num_batches_tracked.shallow_clone();
                let _ = n.g_add_scalar_(1);
            });
        }
        Tensor::batch_norm(
            x,
            Some(&self.weight),
            Some(&self.bias),
            Some(&self.running_mean),
            Some(&self.running_var),
            train,
            Self::MOMENTUM,
            Self::EPS,
            true,
        )
    }
}

/// `nn.Linear(in, out)` with PyTorch's default initialisation: weight and bias uniform in
/// `[-1/sqrt(in), 1/sqrt(in)]` (kaiming_uniform with a = sqrt(5)).
#[derive(Debug)]
pub struct Linear {
    pub weight: Tensor,
    pub bias: Tensor,
}

impl Linear {
    pub fn new(p: Path, c_in: i64, c_out: i64) -> Self {
        let bound = 1.0 / (c_in as f64).sqrt();
        let dev = p.device();
        let w = Tensor::empty([c_out, c_in], (Kind::Float, dev)).uniform_(-bound, bound);
        let b = Tensor::empty([c_out], (Kind::Float, dev)).uniform_(-bound, bound);
        Self {
            weight: p.add("weight", w, true),
            bias: p.add("bias", b, true),
        }
    }

    pub fn forward(&self, x: &Tensor) -> Tensor {
        x.linear(&self.weight, Some(&self.bias))
    }
}
