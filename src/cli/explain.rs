//! `sarxai explain`: attributions for arrays (the contract other tools depend on).
//!
//! `sarxai explain --weights W.safetensors --arch A --input X.npy --target T.npy
//!  --method M|all --out DIR [--device] [--dtype f32|f64]` writes `DIR/<method>.npy`:
//! float32 (float64 when X is float64), the input's shape for every method but grad-cam,
//! which writes layer4's resolution (N, 1, h, w). Everything is validated before anything
//! is written.

use std::path::PathBuf;

use anyhow::{Context, Result};
use tch::{Kind, Tensor};

use super::{read_npy, write_npy, ComputeArgs, Dtype};
use crate::attr::{self, MemoryBudget, Method};
use crate::model::{Arch, ResNet};
use crate::npy::Expect;

/// `saliency`, ..., `occlusion`, or `all`.
#[derive(Debug, Clone)]
pub(crate) struct MethodSelection(pub(crate) Vec<Method>);

impl std::str::FromStr for MethodSelection {
    type Err = attr::AttrError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("all") {
            return Ok(Self(Method::ALL.to_vec()));
        }
        s.split(',')
            .map(|m| m.trim().parse())
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }
}

/// `sarxai explain`: attributions of `.npy` arrays with the eight methods.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  sarxai explain --weights run/vh/model.safetensors --arch resnet18 \\
      --input x.npy --target t.npy --method all --out attributions/
  sarxai explain --weights w.safetensors --arch resnet50 --input x.npy --target t.npy \\
      --method integrated-gradients,occlusion --dtype f64 --out out/")]
pub struct ExplainArgs {
    #[command(flatten)]
    pub(crate) arrays: ArraysArgs,
    /// Also time each method this many more times and write the best wall time per
    /// method to DIR/timings.json (benchmarks; 0: no timing).
    #[arg(long, default_value_t = 0)]
    pub(crate) repeat: usize,
    #[command(flatten)]
    pub(crate) compute: ComputeArgs,
}

/// The arrays, model and methods of `sarxai explain` and `sarxai sensitivity` (one
/// contract for both).
#[derive(Debug, clap::Args)]
pub(crate) struct ArraysArgs {
    /// Checkpoint (safetensors); input channels and classes come from it.
    #[arg(long)]
    pub(crate) weights: PathBuf,
    /// Architecture the checkpoint must have.
    #[arg(long)]
    pub(crate) arch: Arch,
    /// Inputs: float32 or float64 .npy of shape (N, C, H, W).
    #[arg(long)]
    pub(crate) input: PathBuf,
    /// Targets: int64 .npy of shape (N,).
    #[arg(long)]
    pub(crate) target: PathBuf,
    /// A method, a comma-separated list, or all.
    #[arg(long, default_value = "all")]
    pub(crate) method: MethodSelection,
    /// Output directory (METHOD.npy, METHOD.sensitivity.json).
    #[arg(long)]
    pub(crate) out: PathBuf,
    /// Precision of model and attribution.
    #[arg(long, value_enum, default_value = "f32")]
    pub(crate) dtype: Dtype,
    /// Memory for one batched pass (IG steps, occlusion windows, perturbations), MiB.
    #[arg(long, default_value_t = MemoryBudget::default().memory_mib)]
    pub(crate) memory_mib: usize,
}

impl ArraysArgs {
    /// Loads and validates weights, inputs and targets (nothing is written).
    pub(crate) fn load(&self, device: tch::Device) -> Result<Loaded> {
        load_inputs(
            &self.weights,
            self.arch,
            &self.input,
            &self.target,
            self.dtype,
            device,
        )
    }

    pub(crate) fn budget(&self) -> MemoryBudget {
        MemoryBudget {
            memory_mib: self.memory_mib,
            max_images: None,
        }
    }
}

/// Best wall time of `repeat` runs of `f`, in seconds (CUDA work synchronised).
pub(crate) fn best_time(
    repeat: usize,
    device: tch::Device,
    mut f: impl FnMut() -> Result<()>,
) -> Result<f64> {
    let mut best = f64::INFINITY;
    for _ in 0..repeat {
        let t = std::time::Instant::now();
        f()?;
        if let tch::Device::Cuda(i) = device {
            tch::Cuda::synchronize(i as i64);
        }
        best = best.min(t.elapsed().as_secs_f64());
    }
    Ok(best)
}

/// Model, inputs and targets loaded and checked for an explain-like command.
pub(crate) struct Loaded {
    pub(crate) model: ResNet,
    pub(crate) inputs: Tensor,
    pub(crate) targets: Tensor,
    /// The kind the outputs are written in.
    pub(crate) out_kind: Kind,
    /// The PyTorch file the weights were imported from, in one line (None: safetensors).
    pub(crate) weights_source: Option<String>,
}

/// Loads and validates everything `explain` and `sensitivity` need, before any output.
pub(crate) fn load_inputs(
    weights: &std::path::Path,
    arch: Arch,
    input: &std::path::Path,
    target: &std::path::Path,
    dtype: Dtype,
    device: tch::Device,
) -> Result<Loaded> {
    let (mut model, weights_source) = super::load_weights(weights, Some(arch), device)?;
    if dtype == Dtype::F64 {
        model.vs.double();
    }
    let x = read_npy(input, &Expect::IMAGES)?;
    let t = read_npy(target, &Expect::TARGETS)?;
    let out_kind = x.kind();
    let inputs = x.to_kind(dtype.kind()).to_device(device);
    let targets = t.to_device(device);
    attr::validate(&model, &inputs, &targets)
        .with_context(|| format!("{} / {}", input.display(), target.display()))?;
    Ok(Loaded {
        model,
        inputs,
        targets,
        out_kind,
        weights_source,
    })
}

/// Runs `sarxai explain`.
pub fn run(args: ExplainArgs) -> Result<()> {
    let device = args.compute.setup()?;
    let l = args.arrays.load(device)?;
    let budget = args.arrays.budget();
    let methods = &args.arrays.method.0;
    let bar = crate::progress::bar(methods.len() as u64, "explain");
    let mut results = Vec::new();
    for &m in methods {
        bar.set_message(m.name());
        let a = m
            .with_defaults(budget)
            .attribute(&l.model, &l.inputs, &l.targets)?;
        results.push((m, a.to_kind(l.out_kind)));
        bar.inc(1);
    }
    bar.finish_and_clear();
    let mut timings = serde_json::Map::new();
    if args.repeat > 0 {
        for &m in methods {
            let a = m.with_defaults(budget);
            let secs = best_time(args.repeat, device, || {
                drop(a.attribute(&l.model, &l.inputs, &l.targets)?);
                Ok(())
            })?;
            timings.insert(m.name().to_string(), secs.into());
        }
    }
    for (m, a) in results {
        let path = args.arrays.out.join(format!("{}.npy", m.name()));
        write_npy(&path, &a)?;
        eprintln!("wrote {} {:?}", path.display(), a.size());
    }
    if args.repeat > 0 {
        let path = args.arrays.out.join(crate::layout::explain::TIMINGS);
        crate::io::write_atomic(&path, serde_json::to_string_pretty(&timings)?.as_bytes())?;
    }
    Ok(())
}
