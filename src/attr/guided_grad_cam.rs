//! Guided Grad-CAM (Selvaraju et al. 2017; Captum `GuidedGradCam`): guided
//! backpropagation times the ReLU'd Grad-CAM map upsampled to the input size by
//! nearest-neighbour interpolation. Where Captum silently returns an empty tensor when the
//! upsampling fails, this is an error. Both factors come from one recorded forward pass
//! (the ReLU tape's gradient at layer4 is Grad-CAM's), so the method costs one forward
//! and one backward pass, like guided backpropagation alone.

use tch::Tensor;

use super::grad_cam::grad_cam_map;
use super::gradient::guided_and_layer4;
use super::{validate, AttrError, Attribution, MemoryBudget, Method};
use crate::model::ResNet;

/// Guided Grad-CAM: Guided Backpropagation times the upsampled, ReLU'd Grad-CAM map.
#[derive(Debug, Clone, Copy, Default)]
pub struct GuidedGradCam {
    /// Images per forward and backward pass.
    pub budget: MemoryBudget,
}

impl Attribution for GuidedGradCam {
    fn method(&self) -> Method {
        Method::GuidedGradCam
    }

    fn attribute(
        &self,
        model: &ResNet,
        inputs: &Tensor,
        targets: &Tensor,
    ) -> Result<Tensor, AttrError> {
        validate(model, inputs, targets)?;
        let (guided, act, d_act) = guided_and_layer4(model, inputs, targets, self.budget)?;
        let cam = grad_cam_map(&act, &d_act, true);
        let (cs, is) = (cam.size(), inputs.size());
        if cs.len() != 4 || cs[0] != is[0] || cs[1] != 1 || cs[2] < 1 || cs[3] < 1 {
            return Err(AttrError::Upsample { cam: cs, input: is });
        }
        let up = cam
            .f_upsample_nearest2d([is[2], is[3]], None, None)
            .map_err(|_| AttrError::Upsample {
                cam: cs,
                input: is.clone(),
            })?;
        Ok(guided * up)
    }
}
