//! Exact incremental inference for occlusion (Krypton: Nakandala, Kumar and
//! Papakonstantinou, "Incremental and approximate inference for faster occlusion-based deep
//! CNN explanations", SIGMOD 2019).
//!
//! The unoccluded images run once and every map up to the plan's switch node is kept. For a
//! batch of windows, each layer computes only a crop of its output map per window and image
//! (the same size for all windows, [`super::flops::plan`]): its input context is gathered
//! from the base map (zero padding outside it) with the window's crop of that map laid
//! over it, and the layer runs without padding on it. Outside its crop a window's map equals
//! the base map, so the crop's values are exactly those of full re-inference up to float
//! rounding. At the switch node each window's map is materialised in full and the rest of
//! the network runs on it.
//!
//! Max pooling reads zero padding here where PyTorch reads -inf: its input is a ReLU
//! output (>= 0) and every pooling window holds at least one map element, so the maxima
//! agree.

use std::ops::Range;

use tch::{Kind, Tensor};

use super::flops::Plan;
use super::folded::FoldedResNet;

/// The crop of one map per window: values (K N, C, h, w) and each window's top-left.
struct Crop<'a> {
    values: &'a Tensor,
    starts: &'a [(i64, i64)],
}

/// Maps of `base` (N, C, H, W) at `req` (one top-left per window, may lie outside the map
/// where zeros are read) of `size`, with `patch` (each window's crop) laid over them:
/// (K N, C, h, w), window-major.
fn gather(base: &Tensor, patch: Option<Crop>, req: &[(i64, i64)], size: (i64, i64)) -> Tensor {
    let s = base.size();
    let (n, c, h, w) = (s[0], s[1], s[2], s[3]);
    let (k, (ch, cw)) = (req.len() as i64, size);
    let dev = base.device();
    let margin = |f: &dyn Fn(&(i64, i64)) -> i64| req.iter().map(f).max().unwrap_or(0).max(0);
    let (top, bottom) = (margin(&|r| -r.0), margin(&|r| r.0 + ch - h));
    let (left, right) = (margin(&|r| -r.1), margin(&|r| r.1 + cw - w));
    let padded = if top + bottom + left + right > 0 {
        base.constant_pad_nd([left, right, top, bottom])
    } else {
        base.shallow_clone()
    };
    let idx = |v: Vec<i64>, shape: [i64; 3]| Tensor::from_slice(&v).view(shape).to_device(dev);
    let rows = idx(
        req.iter()
            .flat_map(|r| (0..ch).map(move |i| r.0 + top + i))
            .collect(),
        [k, ch, 1],
    );
    let cols = idx(
        req.iter()
            .flat_map(|r| (0..cw).map(move |i| r.1 + left + i))
            .collect(),
        [k, 1, cw],
    );
    // (N, C, K, h, w) -> (K, N, C, h, w)
    let g = padded
        .index(&[None, None, Some(rows), Some(cols)])
        .permute([2, 0, 1, 3, 4]);
    let out = match patch {
        None => g,
        Some(p) => {
            let ps = p.values.size();
            let (ph, pw) = (ps[2], ps[3]);
            // Position of each requested row/column in the window's crop, and whether it is in.
            let rel = |axis: usize, len: i64, plen: i64| -> (Vec<i64>, Vec<bool>) {
                let pairs = req.iter().zip(p.starts).flat_map(|(r, q)| {
                    let (a, b) = if axis == 0 { (r.0, q.0) } else { (r.1, q.1) };
                    (0..len).map(move |i| a + i - b)
                });
                pairs
                    .map(|v| (v.clamp(0, plen - 1), (0..plen).contains(&v)))
                    .unzip()
            };
            let (pr, vr) = rel(0, ch, ph);
            let (pc, vc) = rel(1, cw, pw);
            let kidx = Tensor::arange(k, (Kind::Int64, dev)).view([k, 1, 1]);
            // (K, h, w, N, C) -> (K, N, C, h, w)
            let pg = p
                .values
                .view([k, n, c, ph, pw])
                .index(&[
                    Some(kidx),
                    None,
                    None,
                    Some(idx(pr, [k, ch, 1])),
                    Some(idx(pc, [k, 1, cw])),
                ])
                .permute([0, 3, 4, 1, 2]);
            let mask = Tensor::from_slice(&vr)
                .view([k, ch, 1])
                .logical_and(&Tensor::from_slice(&vc).view([k, 1, cw]))
                .view([k, 1, 1, ch, cw])
                .to_device(dev);
            pg.where_self(&mask, &g)
        }
    };
    out.reshape([k * n, c, ch, cw])
}

/// Incremental occlusion of a batch of images under one plan.
pub struct Incremental<'a> {
    model: &'a FoldedResNet,
    plan: &'a Plan,
    /// Nodes `0..=plan.switch` of the unoccluded images.
    base: Vec<Tensor>,
}

impl<'a> Incremental<'a> {
    /// Runs the images `x` (N, C, H, W) once, keeping the maps the plan reads.
    pub fn new(model: &'a FoldedResNet, plan: &'a Plan, x: &Tensor) -> Self {
        let base = tch::no_grad(|| model.nodes(x, plan.switch));
        Self { model, plan, base }
    }

    /// Logits of the unoccluded images (N, classes), computed along the same path.
    pub fn base_logits(&self) -> Tensor {
        let s = self.plan.switch;
        tch::no_grad(|| self.model.forward_from(s, self.base[s].shallow_clone()))
    }

    /// Logits (K N, classes), window-major, of the images with windows `range` of the plan
    /// (`windows[i]` = (row, col, height, width)) set to `baseline`.
    pub fn occluded_logits(
        &self,
        range: Range<usize>,
        windows: &[(i64, i64, i64, i64)],
        baseline: f64,
    ) -> Tensor {
        tch::no_grad(|| {
            let regs = &self.plan.regions;
            let k = range.len() as i64;
            let r0 = &regs[0];
            let (ch, cw) = r0.size;
            let starts0 = &r0.starts[range.clone()];
            let mut mask = vec![false; (k * ch * cw) as usize];
            for (i, (&(r, c, rh, rw), &(sr, sc))) in
                windows[range.clone()].iter().zip(starts0).enumerate()
            {
                for y in r - sr..r - sr + rh {
                    for x in c - sc..c - sc + rw {
                        mask[((i as i64 * ch + y) * cw + x) as usize] = true;
                    }
                }
            }
            let g = gather(&self.base[0], None, starts0, r0.size);
            let gs = g.size();
            let mask = Tensor::from_slice(&mask)
                .view([k, 1, 1, ch, cw])
                .to_device(g.device());
            let mut crops = vec![g
                .view([k, -1, gs[1], ch, cw])
                .masked_fill(&mask, baseline)
                .view([-1, gs[1], ch, cw])];
            for i in 0..self.plan.switch {
                let l = &self.model.graph.layers[i];
                let (sl, out) = (l.slide(), &regs[i + 1]);
                let req: Vec<(i64, i64)> = out.starts[range.clone()]
                    .iter()
                    .map(|&(a, b)| (a * sl.s - sl.p, b * sl.s - sl.p))
                    .collect();
                let ctx = (
                    (out.size.0 - 1) * sl.s + sl.k,
                    (out.size.1 - 1) * sl.s + sl.k,
                );
                let ins: Vec<Tensor> = l
                    .inputs
                    .iter()
                    .map(|&j| {
                        let patch = Crop {
                            values: &crops[j],
                            starts: &regs[j].starts[range.clone()],
                        };
                        gather(&self.base[j], Some(patch), &req, ctx)
                    })
                    .collect();
                let refs: Vec<&Tensor> = ins.iter().collect();
                crops.push(self.model.apply(i, &refs, false));
            }
            let s = self.plan.switch;
            let bs = self.base[s].size();
            let patch = Crop {
                values: &crops[s],
                starts: &regs[s].starts[range.clone()],
            };
            let full = gather(
                &self.base[s],
                Some(patch),
                &vec![(0, 0); k as usize],
                (bs[2], bs[3]),
            );
            self.model.forward_from(s, full)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attr::OcclusionConfig;
    use crate::model::flops::{cuts, plan_at, regions};
    use crate::model::folded::tests::random_model;
    use crate::model::Arch;
    use tch::Device;

    fn rel_l2(a: &Tensor, b: &Tensor) -> f64 {
        let d = (a - b).to_kind(Kind::Double).norm().double_value(&[]);
        d / b.to_kind(Kind::Double).norm().double_value(&[])
    }

    /// The images with each window set to `baseline`, window-major (K N, C, H, W).
    fn occluded(x: &Tensor, windows: &[(i64, i64, i64, i64)], baseline: f64) -> Tensor {
        let parts: Vec<Tensor> = windows
            .iter()
            .map(|&(r, c, rh, cw)| {
                let y = x.copy();
                let _ = y.narrow(2, r, rh).narrow(3, c, cw).fill_(baseline);
                y
            })
            .collect();
        Tensor::cat(&parts, 0)
    }

    /// Incremental logits equal full re-inference of the occluded images at every depth,
    /// switching to full maps at the stem, the first two blocks, each stage's first block
    /// and not at all; windows cut at the bottom and right borders (9x9, stride 7 on
    /// 32x40: the last row of windows is 4 high, the last column 5 wide).
    #[test]
    fn incremental_logits_equal_full_inference_at_every_switch() {
        let ws = OcclusionConfig {
            window: (9, 9),
            stride: (7, 7),
            baseline: 0.0,
        }
        .windows(32, 40);
        assert_eq!(ws.len(), 5 * 6);
        assert!(ws.iter().any(|w| w.2 == 4) && ws.iter().any(|w| w.3 == 5));
        for arch in Arch::ALL {
            for (kind, bound) in [(Kind::Float, 1e-5), (Kind::Double, 1e-12)] {
                let m = random_model(arch, 2, 10, kind);
                let f = FoldedResNet::new(&m);
                let x = Tensor::randn([1, 2, 32, 40], (kind, Device::Cpu));
                let want = tch::no_grad(|| f.forward(&occluded(&x, &ws, -0.5)));
                let all = cuts(&f.graph);
                let blocks = arch.blocks();
                let firsts = [
                    0,
                    blocks[0],
                    blocks[0] + blocks[1],
                    blocks[0] + blocks[1] + blocks[2],
                ];
                let mut chosen = vec![0, all[2], *all.last().unwrap()];
                chosen.extend(firsts.iter().map(|&b| all[b + 1]));
                for s in chosen {
                    let p = plan_at(regions(&f.graph, 32, 40, &ws), s);
                    let inc = Incremental::new(&f, &p, &x);
                    let got = inc.occluded_logits(0..ws.len(), &ws, -0.5);
                    let e = rel_l2(&got, &want);
                    assert!(e <= bound, "{arch} {kind:?} switch {s}: relative L2 {e:e}");
                    let base = tch::no_grad(|| f.forward(&x));
                    assert!(rel_l2(&inc.base_logits(), &base) <= bound);
                }
            }
        }
    }

    #[test]
    fn incremental_logits_are_deterministic_and_independent_of_the_window_batch() {
        let m = random_model(Arch::Resnet18, 2, 10, Kind::Float);
        let f = FoldedResNet::new(&m);
        let ws = OcclusionConfig::default().windows(60, 50);
        let x = Tensor::randn([2, 2, 60, 50], (Kind::Float, Device::Cpu));
        let p = plan_at(regions(&f.graph, 60, 50, &ws), f.graph.block_inputs[4]);
        let inc = Incremental::new(&f, &p, &x);
        let a = inc.occluded_logits(3..9, &ws, 0.0);
        assert!(a.equal(&inc.occluded_logits(3..9, &ws, 0.0)));
        let b = Tensor::cat(
            &[
                inc.occluded_logits(3..5, &ws, 0.0),
                inc.occluded_logits(5..9, &ws, 0.0),
            ],
            0,
        );
        assert!(rel_l2(&a, &b) <= 1e-6);
    }
}
