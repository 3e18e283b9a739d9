//! `sarxai sensitivity`: Max-Sensitivity of attributions of arrays (a stable contract).
//!
//! Same options as `sarxai explain`, plus `--samples N` (10), `--radius R` (0.02),
//! `--seed S` and `--perturbations P.npy` (float32 (S,N,C,H,W): the noise d, x + d, instead
//! of drawing it; S then sets the number of samples). Writes
//! `DIR/<method>.sensitivity.json` with the per-image values in input order under
//! `"max_sensitivity"`, the value Captum 0.9's `sensitivity_max` reports when called with the
//! method's own `attribute` one image at a time under `"max_sensitivity_captum09"` (Grad-CAM:
//! `sqrt(S)` times the true value, see
//! [`crate::metrics::sensitivity::captum09_reported`]), and the settings
//! used.

use std::path::PathBuf;

use anyhow::{Context, Result};

use super::explain::ArraysArgs;
use super::{read_npy, ComputeArgs};
use crate::metrics::sensitivity::{
    captum09_reported, max_sensitivity, Perturbations, SensitivityConfig, Variant,
};

/// `sarxai sensitivity`: Max-Sensitivity of attributions.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  sarxai sensitivity --weights w.safetensors --arch resnet18 --input x.npy --target t.npy \\
      --method all --out scores/
  sarxai sensitivity ... --method saliency --perturbations noise.npy --out scores/")]
pub struct SensitivityArgs {
    #[command(flatten)]
    pub(crate) arrays: ArraysArgs,
    /// Perturbation samples per image (Captum: 10).
    #[arg(long)]
    pub(crate) samples: Option<usize>,
    /// L-infinity radius of the uniform noise (Captum: 0.02).
    #[arg(long)]
    pub(crate) radius: Option<f64>,
    /// Seed of the noise (drawn per image and sample).
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
    /// Given noise d, float32 (S, N, C, H, W): x + d instead of drawing it.
    #[arg(long)]
    pub(crate) perturbations: Option<PathBuf>,
    /// Named convention: captum (paper), quantus (radius 0.2, 200 samples), yeh-unnormalised.
    #[arg(long, default_value = "captum")]
    pub(crate) variant: String,
    /// Also time each method this many more times; best wall time per method in
    /// DIR/sensitivity_timings.json (benchmarks; 0: no timing).
    #[arg(long, default_value_t = 0)]
    pub(crate) repeat: usize,
    #[command(flatten)]
    pub(crate) compute: ComputeArgs,
}

/// Runs `sarxai sensitivity`.
pub fn run(args: SensitivityArgs) -> Result<()> {
    let device = args.compute.setup()?;
    let mut cfg = SensitivityConfig::by_name(&args.variant).with_context(|| {
        format!(
            "unknown --variant '{}': expected captum, quantus or yeh-unnormalised",
            args.variant
        )
    })?;
    cfg.seed = args.seed;
    if let Some(s) = args.samples {
        cfg.samples = s;
        cfg.variant = Variant::Custom;
    }
    if let Some(r) = args.radius {
        if !(r.is_finite() && r >= 0.0) {
            anyhow::bail!("--radius must be a finite non-negative number, got {r}");
        }
        cfg.radius = r;
        cfg.variant = Variant::Custom;
    }
    let l = args.arrays.load(device)?;
    let dtype = args.arrays.dtype;
    let perturbations = match &args.perturbations {
        None => Perturbations::Uniform,
        Some(p) => {
            let d = read_npy(p, &crate::npy::Expect::PERTURBATIONS)?;
            let s = d.size();
            if args.samples.is_some_and(|n| s.first() != Some(&(n as i64))) {
                anyhow::bail!(
                    "{}: {} samples given, --samples says {:?}",
                    p.display(),
                    s[0],
                    args.samples
                );
            }
            cfg.samples = s.first().copied().unwrap_or(0) as usize;
            cfg.variant = Variant::Custom;
            Perturbations::Given(d.to_kind(dtype.kind()).to_device(device))
        }
    };
    let budget = args.arrays.budget();
    let methods = &args.arrays.method.0;
    let run = |m: crate::attr::Method| {
        let method = m.with_defaults(budget);
        max_sensitivity(
            method.as_ref(),
            &l.model,
            &l.inputs,
            &l.targets,
            &cfg,
            &perturbations,
        )
    };
    let bar = crate::progress::bar(methods.len() as u64, "sensitivity");
    let mut results = Vec::new();
    for &m in methods {
        bar.set_message(m.name());
        let ms = run(m).with_context(|| format!("max-sensitivity of {m}"))?;
        results.push((
            m,
            Vec::<f64>::try_from(ms.to_kind(tch::Kind::Double).to_device(tch::Device::Cpu))?,
        ));
        bar.inc(1);
    }
    bar.finish_and_clear();
    if args.repeat > 0 {
        let mut timings = serde_json::Map::new();
        for &m in methods {
            let secs = super::explain::best_time(args.repeat, device, || {
                drop(run(m)?);
                Ok(())
            })?;
            timings.insert(m.name().to_string(), secs.into());
        }
        let path = args.arrays.out.join("sensitivity_timings.json");
        crate::io::write_atomic(&path, serde_json::to_string_pretty(&timings)?.as_bytes())?;
    }
    for (m, values) in results {
        let captum09: Vec<f64> = values
            .iter()
            .map(|&v| captum09_reported(m, v, cfg.samples))
            .collect();
        let mut json = serde_json::json!({
            "method": m.name(),
            "max_sensitivity": values,
            "max_sensitivity_captum09": captum09,
            "settings": {
                "variant": cfg.variant,
                "radius": cfg.radius,
                "samples": cfg.samples,
                "normalise": cfg.normalise,
                "norm": "frobenius",
                "seed": cfg.seed,
                "noise": if args.perturbations.is_some() { "given" } else { "uniform-linf-chacha8-per-image-sample" },
                "dtype": format!("{dtype:?}").to_lowercase(),
                "weights": args.arrays.weights,
            },
        });
        if let (Some(source), Some(settings)) =
            (&l.weights_source, json["settings"].as_object_mut())
        {
            settings.insert("weights_source".into(), source.clone().into());
        }
        let path = args
            .arrays
            .out
            .join(format!("{}.sensitivity.json", m.name()));
        crate::io::write_atomic(&path, serde_json::to_string_pretty(&json)?.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}
