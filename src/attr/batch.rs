//! Chunking of batched passes (IG steps, occlusion windows, perturbation samples) to a
//! memory budget. Results never depend on the chunk size beyond float rounding.

use tch::Kind;

use crate::model::ResNetConfig;

/// How many images one forward(+backward) pass may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MemoryBudget {
    /// Memory for activations and their gradients in one pass, in MiB.
    pub memory_mib: usize,
    /// A hard cap on images per pass, whatever the memory estimate (None: no cap).
    pub max_images: Option<usize>,
}

impl Default for MemoryBudget {
    fn default() -> Self {
        Self {
            memory_mib: 2048,
            max_images: None,
        }
    }
}

impl MemoryBudget {
    /// A budget of exactly `n` images per pass (tests and benchmarks).
    pub fn images(n: usize) -> Self {
        Self {
            memory_mib: usize::MAX / (1 << 21),
            max_images: Some(n.max(1)),
        }
    }

    /// Images per pass for a model at `h` x `w`: the memory budget divided by an estimate
    /// of one image's activation memory (see `activation_elements`), times 2 when the
    /// pass is differentiated (activations are kept for the backward pass and gradients
    /// of the same size are created), at least 1.
    pub fn chunk(
        &self,
        config: &ResNetConfig,
        h: i64,
        w: i64,
        kind: Kind,
        backward: bool,
    ) -> usize {
        let per_image = activation_elements(config, h, w) as f64
            * kind.elt_size_in_bytes() as f64
            * if backward { 2.0 } else { 1.0 };
        let by_memory = ((self.memory_mib as f64 * 1048576.0) / per_image)
            .floor()
            .max(1.0) as usize;
        self.max_images
            .map_or(by_memory, |m| by_memory.min(m))
            .max(1)
    }
}

/// Elements of all activation tensors a forward pass of one image creates: every
/// convolution, batch-norm and ReLU output (and the residual add), an upper estimate of
/// what autograd keeps.
pub fn activation_elements(config: &ResNetConfig, h: i64, w: i64) -> i64 {
    let down = |x: i64| (x + 1) / 2;
    let (mut h, mut w) = (down(h), down(w));
    let mut total = 3 * 64 * h * w; // conv1, bn1, relu
    h = down(h);
    w = down(w);
    total += 64 * h * w; // maxpool
    let e = config.arch.expansion();
    let per_block = if config.arch.bottleneck() { 3 } else { 2 };
    for (stage, &blocks) in config.arch.blocks().iter().enumerate() {
        let planes = 64 << stage;
        if stage > 0 {
            h = down(h);
            w = down(w);
        }
        let inner = 3 * planes * h * w * (per_block - 1) as i64;
        let outer = 4 * planes * e * h * w; // last conv, bn, add, relu
        total += blocks as i64 * (inner + outer) + 2 * planes * e * h * w; // + downsample
    }
    total
}

/// Splits `0..n` into consecutive ranges of at most `chunk` items.
pub fn ranges(n: usize, chunk: usize) -> impl Iterator<Item = std::ops::Range<usize>> {
    let chunk = chunk.max(1);
    (0..n.div_ceil(chunk)).map(move |i| i * chunk..((i + 1) * chunk).min(n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Arch;

    #[test]
    fn ranges_cover_everything_once() {
        let r: Vec<_> = ranges(10, 4).collect();
        assert_eq!(r, vec![0..4, 4..8, 8..10]);
        assert_eq!(ranges(0, 3).count(), 0);
    }

    #[test]
    fn chunk_grows_with_budget_and_respects_cap() {
        let c = ResNetConfig::new(Arch::Resnet18, 1, 10).unwrap();
        let small = MemoryBudget {
            memory_mib: 64,
            max_images: None,
        }
        .chunk(&c, 100, 100, Kind::Float, true);
        let big = MemoryBudget {
            memory_mib: 4096,
            max_images: None,
        }
        .chunk(&c, 100, 100, Kind::Float, true);
        assert!(small >= 1 && big > small);
        assert_eq!(
            MemoryBudget::images(3).chunk(&c, 100, 100, Kind::Float, true),
            3
        );
    }
}
