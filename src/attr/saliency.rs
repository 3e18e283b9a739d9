//! Saliency (Simonyan et al. 2014; Captum `Saliency`, abs=True): `|d f_t / d x|`.

use tch::Tensor;

use super::gradient::input_gradients;
use super::{validate, AttrError, Attribution, MemoryBudget, Method};
use crate::model::{ReluRule, ResNet};

/// Saliency: `abs(d f_t / d x)`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Saliency {
    /// Images per forward and backward pass.
    pub budget: MemoryBudget,
}

impl Attribution for Saliency {
    fn method(&self) -> Method {
        Method::Saliency
    }

    fn attribute(
        &self,
        model: &ResNet,
        inputs: &Tensor,
        targets: &Tensor,
    ) -> Result<Tensor, AttrError> {
        validate(model, inputs, targets)?;
        Ok(input_gradients(model, inputs, targets, ReluRule::Gradient, self.budget)?.abs())
    }
}
