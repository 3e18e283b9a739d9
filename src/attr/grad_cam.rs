//! Grad-CAM (Selvaraju et al. 2017; Captum `LayerGradCam` on `layer4`):
//!
//! `w_k = mean_{h,w} d f_t / d A_k`, `map = sum_k w_k A_k`, shape (N, 1, h, w) at layer4's
//! resolution (4 x 4 for a 100 x 100 input). Captum's default keeps negative values
//! (`relu_attributions=False`); `relu: true` applies a ReLU to the map.

use tch::Tensor;

use super::gradient::layer4_activation_and_gradient;
use super::{validate, AttrError, Attribution, MemoryBudget, Method};
use crate::model::ResNet;

/// Grad-CAM on `layer4`: `sum_k w_k A_k`, `w_k` the spatial mean of `d f_t / d A_k`.
#[derive(Debug, Clone, Copy, Default)]
pub struct GradCam {
    /// Apply a ReLU to the map (Captum's `relu_attributions`; default false).
    pub relu: bool,
    /// Images per forward and backward pass.
    pub budget: MemoryBudget,
}

impl Attribution for GradCam {
    fn method(&self) -> Method {
        Method::GradCam
    }

    fn attribute(
        &self,
        model: &ResNet,
        inputs: &Tensor,
        targets: &Tensor,
    ) -> Result<Tensor, AttrError> {
        validate(model, inputs, targets)?;
        let (act, grad) = layer4_activation_and_gradient(model, inputs, targets, self.budget);
        Ok(grad_cam_map(&act, &grad, self.relu))
    }
}

/// `sum_k mean_{h,w}(dA_k) A_k`, (N, 1, h, w), ReLU'd when `relu`.
pub(crate) fn grad_cam_map(act: &Tensor, grad: &Tensor, relu: bool) -> Tensor {
    let weights = grad.mean_dim([2i64, 3].as_slice(), true, grad.kind());
    let map = (weights * act).sum_dim_intlist(1, true, grad.kind());
    if relu {
        map.relu()
    } else {
        map
    }
}
