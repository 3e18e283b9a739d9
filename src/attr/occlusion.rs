//! Occlusion (Zeiler & Fergus 2014; Captum `Occlusion`): a window of all channels slides
//! over the image with a stride; each position replaces the window by the baseline, and a
//! pixel's attribution is the mean, over the windows that cover it, of
//! `f_t(x) - f_t(x with the window occluded)`.
//!
//! Window positions follow Captum: `ceil((H - h) / s) + 1` per axis, starting at
//! `i * s`; a last window reaching past the border is cut at the border. The paper's
//! setting (15 x 15, stride 5, zero baseline) gives 18 x 18 = 324 windows at 100 x 100.
//! All windows x images are evaluated in batched forward passes, chunked by the budget.

use tch::Tensor;

use super::batch::{ranges, Budget};
use super::gradient::target_logits;
use super::{validate, AttrError, Attribution, Method};
use crate::model::ResNet;

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OcclusionConfig {
    /// Window (height, width) in pixels.
    pub window: (i64, i64),
    /// Stride (rows, columns) in pixels.
    pub stride: (i64, i64),
    /// The value an occluded pixel takes.
    pub baseline: f64,
}

impl Default for OcclusionConfig {
    fn default() -> Self {
        Self {
            window: (15, 15),
            stride: (5, 5),
            baseline: 0.0,
        }
    }
}

impl OcclusionConfig {
    /// Window start positions along an axis of length `len`.
    fn starts(len: i64, window: i64, stride: i64) -> Vec<i64> {
        let count = (len - window + stride - 1) / stride + 1;
        (0..count).map(|i| i * stride).collect()
    }

    /// Every window as `(row, col, height, width)`, cut at the border, in Captum's order
    /// (the row index varies fastest).
    pub fn windows(&self, h: i64, w: i64) -> Vec<(i64, i64, i64, i64)> {
        let rows = Self::starts(h, self.window.0, self.stride.0);
        let cols = Self::starts(w, self.window.1, self.stride.1);
        cols.iter()
            .flat_map(|&c| rows.iter().map(move |&r| (r, c)))
            .map(|(r, c)| (r, c, self.window.0.min(h - r), self.window.1.min(w - c)))
            .collect()
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Occlusion {
    pub config: OcclusionConfig,
    pub budget: Budget,
}

impl Attribution for Occlusion {
    fn method(&self) -> Method {
        Method::Occlusion
    }

    fn attribute(
        &self,
        model: &ResNet,
        inputs: &Tensor,
        targets: &Tensor,
    ) -> Result<Tensor, AttrError> {
        validate(model, inputs, targets)?;
        let s = inputs.size();
        let per_pass = self
            .budget
            .chunk(&model.config, s[2], s[3], inputs.kind(), false);
        self.attribute_with(inputs, targets, per_pass, |x, t| {
            target_logits(model, x, t, Budget::images(x.size()[0] as usize))
        })
    }
}

impl Occlusion {
    /// Occlusion of any scoring function `score(x, t) -> (N,)`, evaluated on batches of
    /// at most `per_pass` images (windows x images). The model-free core of
    /// [`Attribution::attribute`], also used to check the method on linear models.
    pub fn attribute_with(
        &self,
        inputs: &Tensor,
        targets: &Tensor,
        per_pass: usize,
        score: impl Fn(&Tensor, &Tensor) -> Tensor,
    ) -> Result<Tensor, AttrError> {
        let s = inputs.size();
        let (n, c, h, w) = (s[0], s[1], s[2], s[3]);
        let cfg = self.config;
        if cfg.window.0 < 1 || cfg.window.1 < 1 || cfg.window.0 > h || cfg.window.1 > w {
            return Err(AttrError::Config(format!(
                "occlusion window {:?} must fit the input {h}x{w}",
                cfg.window
            )));
        }
        if cfg.stride.0 < 1 || cfg.stride.1 < 1 {
            return Err(AttrError::Config(format!(
                "occlusion stride {:?} must be positive",
                cfg.stride
            )));
        }
        let (kind, dev) = (inputs.kind(), inputs.device());
        let windows = cfg.windows(h, w);
        let windows_per_pass = (per_pass / n as usize).max(1);
        let mut total = Tensor::zeros([n, h, w], (kind, dev));
        let mut counts = Tensor::zeros([h, w], (kind, dev));
        tch::no_grad(|| {
            let initial = score(inputs, targets);
            for r in ranges(windows.len(), windows_per_pass) {
                let k = r.len() as i64;
                let occluded = Tensor::zeros([k, h, w], (kind, dev));
                for (i, &(r0, c0, rh, cw)) in windows[r].iter().enumerate() {
                    let _ = occluded
                        .get(i as i64)
                        .narrow(0, r0, rh)
                        .narrow(1, c0, cw)
                        .fill_(1.0);
                }
                let m = occluded.view([k, 1, 1, h, w]);
                let batch = (inputs.unsqueeze(0) * (m.ones_like() - &m) + &m * cfg.baseline)
                    .view([k * n, c, h, w]);
                let modified = score(&batch, &targets.repeat([k])).view([k, n]);
                let diff = initial.unsqueeze(0) - modified;
                total += Tensor::einsum("kn,khw->nhw", &[&diff, &occluded], None::<i64>);
                counts += occluded.sum_dim_intlist(0, false, kind);
            }
        });
        Ok((total / counts)
            .unsqueeze(1)
            .expand([n, c, h, w], false)
            .contiguous())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_setting_has_324_windows_covering_every_pixel() {
        let cfg = OcclusionConfig::default();
        let ws = cfg.windows(100, 100);
        assert_eq!(ws.len(), 324);
        assert_eq!(ws[1], (5, 0, 15, 15));
        assert_eq!(*ws.last().unwrap(), (85, 85, 15, 15));
        // 101: ceil(86 / 5) + 1 = 19 positions, the last one cut to 11 pixels.
        let ws = cfg.windows(101, 101);
        assert_eq!(ws.len(), 19 * 19);
        assert_eq!(ws.last().unwrap().2, 11);
    }

    #[test]
    fn window_counts_are_positive_everywhere() {
        for (h, s) in [(100, 5), (37, 7), (15, 1)] {
            let cfg = OcclusionConfig {
                window: (15, 15),
                stride: (s, s),
                baseline: 0.0,
            };
            let mut cover = vec![0; h as usize];
            for (r, _, rh, _) in cfg.windows(h, 15) {
                for x in r..r + rh {
                    cover[x as usize] += 1;
                }
            }
            assert!(cover.iter().all(|&c| c > 0), "{h} {s}");
        }
    }
}
