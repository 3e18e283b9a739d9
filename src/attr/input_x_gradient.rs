//! Input x Gradient (Shrikumar et al. 2016; Captum `InputXGradient`): `x * d f_t / d x`.

use tch::Tensor;

use super::gradient::input_gradients;
use super::{validate, AttrError, Attribution, MemoryBudget, Method};
use crate::model::{ReluRule, ResNet};

/// Input x Gradient: `x * d f_t / d x`.
#[derive(Debug, Clone, Copy, Default)]
pub struct InputXGradient {
    /// Images per forward and backward pass.
    pub budget: MemoryBudget,
}

impl Attribution for InputXGradient {
    fn method(&self) -> Method {
        Method::InputXGradient
    }

    fn attribute(
        &self,
        model: &ResNet,
        inputs: &Tensor,
        targets: &Tensor,
    ) -> Result<Tensor, AttrError> {
        validate(model, inputs, targets)?;
        Ok(inputs * input_gradients(model, inputs, targets, ReluRule::Gradient, self.budget)?)
    }
}
