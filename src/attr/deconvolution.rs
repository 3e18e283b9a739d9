//! Deconvolution (Zeiler & Fergus 2014; Captum `Deconvolution`): the input gradient with
//! every ReLU's backward replaced by `relu(g)`, the forward mask ignored
//! ([`ReluRule::Deconvolution`]).

use tch::Tensor;

use super::gradient::input_gradients;
use super::{validate, AttrError, Attribution, MemoryBudget, Method};
use crate::model::{ReluRule, ResNet};

/// Deconvolution: the input gradient through ReLUs whose backward is `relu(g)`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Deconvolution {
    /// Images per forward and backward pass.
    pub budget: MemoryBudget,
}

impl Attribution for Deconvolution {
    fn method(&self) -> Method {
        Method::Deconvolution
    }

    fn attribute(
        &self,
        model: &ResNet,
        inputs: &Tensor,
        targets: &Tensor,
    ) -> Result<Tensor, AttrError> {
        validate(model, inputs, targets)?;
        input_gradients(model, inputs, targets, ReluRule::Deconvolution, self.budget)
    }
}
