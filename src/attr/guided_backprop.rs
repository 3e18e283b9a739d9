//! Guided Backpropagation (Springenberg et al. 2015; Captum `GuidedBackprop`): the input
//! gradient with every ReLU's backward replaced by `relu(g) * 1[x > 0]`
//! ([`ReluRule::Guided`]), including the ReLU after each residual add.

use tch::Tensor;

use super::gradient::input_gradients;
use super::{validate, AttrError, Attribution, MemoryBudget, Method};
use crate::model::{ReluRule, ResNet};

/// Guided Backpropagation: the input gradient through ReLUs whose backward is `relu(g) * 1[x > 0]`.
#[derive(Debug, Clone, Copy, Default)]
pub struct GuidedBackprop {
    /// Images per forward and backward pass.
    pub budget: MemoryBudget,
}

impl Attribution for GuidedBackprop {
    fn method(&self) -> Method {
        Method::GuidedBackprop
    }

    fn attribute(
        &self,
        model: &ResNet,
        inputs: &Tensor,
        targets: &Tensor,
    ) -> Result<Tensor, AttrError> {
        validate(model, inputs, targets)?;
        input_gradients(model, inputs, targets, ReluRule::Guided, self.budget)
    }
}
