//! The training configuration: every option of `sarxai train`, settable from YAML, saved
//! with the run as `config.yaml` (the effective configuration).
//!
//! Precedence: built-in defaults (or a named profile), then the YAML file (`--config`),
//! then the command-line options. Unknown YAML keys are errors (a typo never silently
//! falls back to a default).
//!
//! Over 600 lines: 117 of them are unit tests; the rest is one configuration tree (every
//! option of `sarxai train`) with its profiles, presets and validation, which read best
//! together.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::augment::{AugmentConfig, AugmentPreset, RangeAxis};
use super::schedule::ScheduleConfig;
use super::TrainError;
use crate::data::synth::SynthConfig;
use crate::data::DatasetConfig;
use crate::device::DeviceChoice;
use crate::model::Arch;

/// Where the images come from.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataSource {
    /// A dataset directory in a layout `sarxai data inspect` understands.
    pub dir: Option<PathBuf>,
    /// Generate (or reuse) the synthetic dataset described by `synth` and train on it.
    pub synthetic: bool,
    /// Generator settings for `synthetic` (defaults: the default synthetic dataset).
    pub synth: SynthConfig,
    /// Directory under which the synthetic dataset is cached
    /// (`<cache>/synthetic-<digest of synth>`); default `target/sarxai-cache`, or
    /// `$SARXAI_CACHE` when set.
    pub cache: Option<PathBuf>,
    /// The image axis along which range (the look direction) runs in this data, a property
    /// of the dataset: `x` (columns; Sentinel-1 GRD chips such as OpenSARUrban's and
    /// OpenSARShip's, the default) or `y` (rows; MSTAR). The `sar` augmentation preset
    /// flips only across the other (azimuth) axis.
    pub range_axis: RangeAxis,
}

/// Input channels of the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelConfig {
    pub arch: Arch,
    /// 1: the band as is; 3: the band replicated three times (how ImageNet-style ResNets
    /// are usually fed a single band).
    pub channels: i64,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            arch: Arch::Resnet18,
            channels: 1,
        }
    }
}

/// Optimizer family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// SGD with (optionally Nesterov) momentum and L2 weight decay (PyTorch's `SGD`).
    Sgd,
    /// Adam with decoupled weight decay (PyTorch's `AdamW`).
    Adamw,
}

/// Optimizer settings (PyTorch semantics, see `super::optim`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OptimizerConfig {
    /// SGD or AdamW.
    pub kind: OptimizerKind,
    /// Peak learning rate (after warm-up).
    pub lr: f64,
    /// SGD momentum.
    pub momentum: f64,
    /// SGD Nesterov momentum.
    pub nesterov: bool,
    /// Weight decay: L2 added to the gradient (SGD) or decoupled (AdamW).
    pub weight_decay: f64,
    /// Apply weight decay to BatchNorm weights and biases too (1-D parameters).
    pub decay_norm_and_bias: bool,
    /// AdamW betas.
    pub betas: [f64; 2],
    /// AdamW epsilon.
    pub eps: f64,
}

impl Default for OptimizerConfig {
    fn default() -> Self {
        OptimizerConfig {
            kind: OptimizerKind::Sgd,
            lr: 0.05,
            momentum: 0.9,
            nesterov: true,
            weight_decay: 5e-4,
            decay_norm_and_bias: false,
            betas: [0.9, 0.999],
            eps: 1e-8,
        }
    }
}

/// How class imbalance is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Balance {
    /// Plain shuffling, unweighted loss.
    #[default]
    None,
    /// Each epoch draws as many samples as the training split holds, with replacement,
    /// with probability proportional to 1 / (samples of its class): classes are seen
    /// equally often.
    Sampler,
    /// Cross-entropy weighted by `n / (k * n_c)` per class (scikit-learn's "balanced").
    LossWeights,
}

/// Which model the run ends with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Select {
    /// The model after the last epoch.
    #[default]
    Last,
    /// The model of the epoch with the best validation accuracy (ties: the earlier).
    BestVal,
}

/// What the paper profile chose where the paper is silent (saved with the run).
pub const PAPER_CHOICES: [&str; 4] = [
    "augmentation: the sar preset (azimuth flips and translations of up to 4 pixels; no range flips, no 90-degree rotations): the paper says only that it used data augmentation",
    "range axis: x (Sentinel-1 GRD chips in radar geometry, range along the columns)",
    "radiometry: auto (OpenSARUrban's float32 TIFF are amplitude, converted to dB; 8/16-bit renders would be used as display levels): the paper does not state its preprocessing",
    "preprocessing: per-chip 1-99 percentile stretch to [0, 1], then the training split's mean and standard deviation, 100 x 100 centre crop or resize",
];

/// Everything that decides a training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// Where the data comes from (a directory or the synthetic generator).
    pub data: DataSource,
    /// Polarization, format group, split and preprocessing (image size) of the data.
    pub dataset: DatasetConfig,
    /// Architecture and input channels.
    pub model: ModelConfig,
    /// Epochs to train (default 24: the budget measured on real chips, MSTAR SOC ResNet-18
    /// 97.57 % in 15 min 45 s on 2 CPU cores, REPRODUCE.md).
    pub epochs: usize,
    /// Training images per optimizer step.
    pub batch_size: usize,
    /// Batch size of validation and test passes (no gradients).
    pub eval_batch_size: usize,
    /// Seed of initialisation, shuffling and augmentation (epoch `e` uses streams derived
    /// from `(seed, e)` only).
    pub seed: u64,
    /// The optimizer and its settings.
    pub optimizer: OptimizerConfig,
    /// The learning-rate schedule.
    pub schedule: ScheduleConfig,
    /// The augmentation of training images.
    pub augment: AugmentConfig,
    /// How class imbalance is handled.
    pub balance: Balance,
    /// Cross-entropy label smoothing in [0, 1).
    pub label_smoothing: f64,
    /// Fraction of each class carved out of the training split for per-epoch validation
    /// when the data has no validation split (0 disables validation).
    pub val_fraction: f64,
    /// Which model the run ends with (last or best validation epoch).
    pub select: Select,
    /// Where training runs.
    pub device: DeviceChoice,
    /// libtorch intra-op threads (`None`: libtorch's default).
    pub threads: Option<i64>,
    /// Keep `checkpoint.safetensors` after the run completes (it is always written while
    /// the run is in progress).
    pub keep_checkpoint: bool,
    /// Choices this configuration makes where its source is silent (the paper profile:
    /// augmentation and preprocessing the paper does not state), saved with the run.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub chosen_where_paper_silent: Vec<String>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            data: DataSource::default(),
            dataset: DatasetConfig::default(),
            model: ModelConfig::default(),
            epochs: 24,
            batch_size: 32,
            eval_batch_size: 128,
            seed: 0,
            optimizer: OptimizerConfig::default(),
            schedule: ScheduleConfig::default(),
            // Real data by default: augmentations that keep the look direction.
            augment: AugmentConfig::sar(RangeAxis::X),
            balance: Balance::None,
            label_smoothing: 0.0,
            val_fraction: 0.1,
            select: Select::Last,
            device: DeviceChoice::Auto,
            threads: None,
            keep_checkpoint: false,
            chosen_where_paper_silent: Vec::new(),
        }
    }
}

/// Named starting points for a configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profile {
    /// The built-in defaults.
    #[default]
    Default,
    /// Minutes on a laptop CPU: ResNet-18 on the default synthetic data
    /// (see REPRODUCE.md).
    Quick,
    /// The paper's setting: ResNet-101 with augmentation and a cosine schedule
    /// (hyper-parameters not stated by the paper: common choices).
    Paper,
}

impl TrainConfig {
    /// The named profile's configuration.
    pub fn profile(p: Profile) -> TrainConfig {
        match p {
            Profile::Default => TrainConfig::default(),
            Profile::Quick => TrainConfig::quick(),
            Profile::Paper => TrainConfig::paper(),
        }
    }

    /// The quick profile: ResNet-18 on the default synthetic dataset, sized to train one
    /// polarization in a few minutes on two CPU cores (see REPRODUCE.md for the numbers):
    /// AdamW (lr 1e-3, weight decay 0.01), cosine schedule with a half-epoch warm-up,
    /// 6 epochs of batch 32, flips, 90-degree rotations and 4-pixel random crops (the
    /// `natural` preset with 4-pixel crops: the synthetic scenes have no look direction,
    /// and the pinned model hashes were trained with exactly these draws).
    pub fn quick() -> TrainConfig {
        let mut c = TrainConfig::default();
        c.data.synthetic = true;
        c.model.arch = Arch::Resnet18;
        c.epochs = 6;
        c.batch_size = 32;
        c.optimizer = OptimizerConfig {
            kind: OptimizerKind::Adamw,
            lr: 1e-3,
            weight_decay: 0.01,
            ..OptimizerConfig::default()
        };
        c.schedule = ScheduleConfig {
            warmup_epochs: 0.5,
            ..ScheduleConfig::default()
        };
        c.augment = AugmentConfig {
            crop_padding: 4,
            ..AugmentConfig::natural()
        };
        c
    }

    /// The paper's setting: ResNet-101 per polarization, SGD with momentum, cosine
    /// schedule with warm-up, class-balanced sampling (OpenSARUrban is imbalanced). The
    /// paper trained "by data augmentation and integrating learning rate scheduler
    /// strategies" without saying which: the augmentation and preprocessing are choices
    /// made where it is silent, listed in [`TrainConfig::chosen_where_paper_silent`]
    /// (`PAPER_CHOICES`) and saved with the run.
    pub fn paper() -> TrainConfig {
        let mut c = TrainConfig::default();
        c.model.arch = Arch::Resnet101;
        c.epochs = 60;
        c.batch_size = 32;
        c.optimizer.lr = 0.05;
        c.balance = Balance::Sampler;
        c.schedule.warmup_epochs = 2.0;
        c.data.range_axis = RangeAxis::X;
        c.augment = AugmentConfig::sar(RangeAxis::X);
        c.dataset.preprocess.input = crate::data::preprocess::InputQuantity::Auto;
        c.chosen_where_paper_silent = PAPER_CHOICES.iter().map(|s| s.to_string()).collect();
        c
    }

    /// Reads a YAML configuration (unknown keys are errors) on top of `base`: keys absent
    /// from the file keep the values of `base` (merged field by field).
    ///
    /// Augmentation presets: `augment: sar` (or `augment: {preset: sar, ...}`) replaces
    /// `base`'s switches by the preset's for the data's range axis before the file's other
    /// `augment` keys apply; `data.range_axis` given alone keeps `base`'s policy in radar
    /// terms ([`AugmentConfig::with_range_axis`]).
    pub fn from_yaml_over(
        base: &TrainConfig,
        text: &str,
        origin: &Path,
    ) -> Result<TrainConfig, TrainError> {
        let bad = |reason: String| TrainError::Config {
            reason: format!("{}: {reason}", origin.display()),
        };
        // Parse into a generic value first so that the file's keys overlay `base`.
        let overlay: serde_json::Value = if text.trim().is_empty() {
            serde_json::Value::Object(Default::default())
        } else {
            serde_saphyr::from_str(text).map_err(|e| bad(e.to_string()))?
        };
        if !(overlay.is_object() || overlay.is_null()) {
            return Err(bad("the top level must be a mapping of options".into()));
        }
        let (overlay, base) = apply_presets(base, overlay).map_err(bad)?;
        let mut merged = serde_json::to_value(&base).map_err(|e| bad(e.to_string()))?;
        merge_json(&mut merged, overlay);
        serde_json::from_value(merged).map_err(|e| bad(e.to_string()))
    }

    /// Reads a YAML configuration file over `base`.
    pub fn from_yaml_file(base: &TrainConfig, path: &Path) -> Result<TrainConfig, TrainError> {
        let text = std::fs::read_to_string(path).map_err(|e| TrainError::Config {
            reason: format!("cannot read config {}: {e}", path.display()),
        })?;
        TrainConfig::from_yaml_over(base, &text, path)
    }

    /// True when the YAML file at `path` has an `augment` key (so a default that depends
    /// on the data source must not replace it).
    pub fn yaml_file_sets_augment(path: &Path) -> Result<bool, TrainError> {
        let bad = |reason: String| TrainError::Config {
            reason: format!("{}: {reason}", path.display()),
        };
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        if text.trim().is_empty() {
            return Ok(false);
        }
        let v: serde_json::Value = serde_saphyr::from_str(&text).map_err(|e| bad(e.to_string()))?;
        Ok(v.get("augment").is_some_and(|a| !a.is_null()))
    }

    /// The configuration as YAML (what `config.yaml` of a run holds).
    pub fn to_yaml(&self) -> String {
        serde_saphyr::to_string(self).unwrap_or_else(|e| format!("# cannot serialize: {e}\n"))
    }

    /// Checks every field; the message names the option and the accepted values.
    pub fn validate(&self) -> Result<(), TrainError> {
        let bad = |reason: String| Err(TrainError::Config { reason });
        match (&self.data.dir, self.data.synthetic) {
            (None, false) => {
                return bad(
                    "no data: pass --data DIR or --synthetic (data.dir / data.synthetic in YAML)"
                        .into(),
                )
            }
            (Some(d), true) => {
                return bad(format!(
                    "both --data {} and --synthetic were given; choose one",
                    d.display()
                ))
            }
            _ => {}
        }
        if self.epochs == 0 || self.epochs > 100_000 {
            return bad(format!("epochs = {} must be in 1..=100000", self.epochs));
        }
        if self.batch_size == 0 || self.batch_size > 65_536 {
            return bad(format!(
                "batch_size = {} must be in 1..=65536",
                self.batch_size
            ));
        }
        if self.eval_batch_size == 0 {
            return bad("eval_batch_size must be at least 1".into());
        }
        if !(self.model.channels == 1 || self.model.channels == 3) {
            return bad(format!(
                "model.channels = {} must be 1 (the band) or 3 (the band replicated)",
                self.model.channels
            ));
        }
        let o = &self.optimizer;
        if !(o.lr.is_finite() && o.lr > 0.0 && o.lr < 100.0) {
            return bad(format!(
                "lr = {} must be a positive finite number below 100",
                o.lr
            ));
        }
        if !(o.weight_decay.is_finite() && o.weight_decay >= 0.0) {
            return bad(format!("weight_decay = {} must be >= 0", o.weight_decay));
        }
        if !(0.0..1.0).contains(&o.momentum) {
            return bad(format!("momentum = {} must be in [0, 1)", o.momentum));
        }
        if o.nesterov && o.momentum == 0.0 && o.kind == OptimizerKind::Sgd {
            return bad("nesterov needs momentum > 0".into());
        }
        if !o.betas.iter().all(|b| (0.0..1.0).contains(b)) || o.eps.is_nan() || o.eps <= 0.0 {
            return bad(format!(
                "betas {:?} must lie in [0, 1) and eps {} be > 0",
                o.betas, o.eps
            ));
        }
        if !(0.0..1.0).contains(&self.label_smoothing) {
            return bad(format!(
                "label_smoothing = {} must be in [0, 1)",
                self.label_smoothing
            ));
        }
        if !(0.0..0.9).contains(&self.val_fraction) {
            return bad(format!(
                "val_fraction = {} must be in [0, 0.9)",
                self.val_fraction
            ));
        }
        if let Some(t) = self.threads {
            if t < 1 {
                return bad(format!("threads = {t} must be at least 1"));
            }
        }
        self.schedule
            .validate(self.epochs)
            .map_err(|reason| TrainError::Config { reason })?;
        self.augment
            .validate()
            .map_err(|reason| TrainError::Config { reason })?;
        self.dataset
            .split
            .validate()
            .map_err(|reason| TrainError::Config { reason })?;
        self.dataset
            .preprocess
            .validate()
            .map_err(|reason| TrainError::Config { reason })?;
        Ok(())
    }

    /// Image side in pixels (the configured preprocessing size).
    pub fn size(&self) -> usize {
        self.dataset.preprocess.size
    }

    /// The settings that must not change when a run is resumed, as a list of
    /// `(option, value)`: everything but device, threads and `keep_checkpoint`.
    pub fn fingerprint(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(m) = v.as_object_mut() {
            m.remove("device");
            m.remove("threads");
            m.remove("keep_checkpoint");
        }
        v
    }
}

/// The preset and range-axis part of [`TrainConfig::from_yaml_over`]: returns the overlay
/// (a bare `augment: <preset>` turned into `{preset: <preset>}`) and the base with the
/// range axis and preset applied.
fn apply_presets(
    base: &TrainConfig,
    mut overlay: serde_json::Value,
) -> Result<(serde_json::Value, TrainConfig), String> {
    let mut base = base.clone();
    let Some(top) = overlay.as_object_mut() else {
        return Ok((overlay, base));
    };
    if let Some(serde_json::Value::String(name)) = top.get("augment").cloned() {
        top.insert("augment".into(), serde_json::json!({ "preset": name }));
    }
    let field = |section: &str, key: &str| {
        top.get(section)
            .and_then(|v| v.get(key))
            .filter(|v| !v.is_null())
            .cloned()
    };
    let axis = field("data", "range_axis");
    let preset = field("augment", "preset");
    if let Some(v) = axis {
        let axis: RangeAxis =
            serde_json::from_value(v).map_err(|e| format!("data.range_axis: {e} (x or y)"))?;
        base.augment = base.augment.with_range_axis(base.data.range_axis, axis);
        base.data.range_axis = axis;
    }
    if let Some(v) = preset {
        let preset: AugmentPreset = serde_json::from_value(v)
            .map_err(|e| format!("augment.preset: {e} (sar, natural or none)"))?;
        base.augment = AugmentConfig::preset(preset, base.data.range_axis);
    }
    Ok((overlay, base))
}

/// Recursively overlays `top` on `base`: objects merge key by key, anything else replaces.
pub(crate) fn merge_json(base: &mut serde_json::Value, top: serde_json::Value) {
    match (base, top) {
        (serde_json::Value::Object(b), serde_json::Value::Object(t)) => {
            for (k, v) in t {
                match b.get_mut(&k) {
                    Some(slot) if slot.is_object() && v.is_object() => merge_json(slot, v),
                    _ => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, t) if !t.is_null() => *b = t,
        (b, _) => *b = serde_json::Value::Null,
    }
}

/// Lists the differences between two JSON values as `path: a -> b` lines.
pub(crate) fn json_diff(
    path: &str,
    a: &serde_json::Value,
    b: &serde_json::Value,
    out: &mut Vec<String>,
) {
    match (a, b) {
        (serde_json::Value::Object(x), serde_json::Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                let null = serde_json::Value::Null;
                json_diff(
                    &p,
                    x.get(k).unwrap_or(&null),
                    y.get(k).unwrap_or(&null),
                    out,
                );
            }
        }
        _ if a != b => out.push(format!("{path}: {a} (run) vs {b} (now)")),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_round_trip_keeps_every_field() {
        let mut c = TrainConfig::quick();
        c.dataset.pol = Some(crate::data::Pol::Vv);
        c.threads = Some(2);
        let text = c.to_yaml();
        let back = TrainConfig::from_yaml_over(&TrainConfig::default(), &text, Path::new("x.yaml"))
            .unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn yaml_overlays_base_and_rejects_unknown_keys() {
        let base = TrainConfig::quick();
        let c = TrainConfig::from_yaml_over(
            &base,
            "epochs: 3\noptimizer:\n  kind: adamw\n  lr: 0.001\nmodel:\n  arch: resnet50\n",
            Path::new("c.yaml"),
        )
        .unwrap();
        assert_eq!(c.epochs, 3);
        assert_eq!(c.optimizer.kind, OptimizerKind::Adamw);
        assert_eq!(c.optimizer.momentum, base.optimizer.momentum);
        assert_eq!(c.model.arch, Arch::Resnet50);
        assert!(c.data.synthetic);
        let e = TrainConfig::from_yaml_over(&base, "epoch: 3\n", Path::new("c.yaml")).unwrap_err();
        assert!(e.to_string().contains("epoch"), "{e}");
        let e = TrainConfig::from_yaml_over(&base, "model: {arch: vgg16}\n", Path::new("c.yaml"))
            .unwrap_err();
        assert!(e.to_string().contains("vgg16"), "{e}");
    }

    #[test]
    fn yaml_presets_follow_the_range_axis_and_switches_override_them() {
        let base = TrainConfig::default();
        assert_eq!(base.augment, AugmentConfig::sar(RangeAxis::X));
        let yaml = |t: &str| TrainConfig::from_yaml_over(&base, t, Path::new("c.yaml")).unwrap();
        assert_eq!(yaml("augment: natural\n").augment, AugmentConfig::natural());
        assert_eq!(yaml("augment: none\n").augment, AugmentConfig::none());
        let c = yaml("augment: {preset: sar, crop_padding: 2}\ndata: {range_axis: y}\n");
        assert_eq!(c.data.range_axis, RangeAxis::Y);
        assert_eq!(
            c.augment,
            AugmentConfig {
                crop_padding: 2,
                ..AugmentConfig::sar(RangeAxis::Y)
            }
        );
        // The range axis alone keeps the (default sar) policy in radar terms.
        assert_eq!(
            yaml("data: {range_axis: y}\n").augment,
            AugmentConfig::sar(RangeAxis::Y)
        );
        // Switches alone change the base's switches (the config file).
        let c = yaml("augment: {vflip: false, rot90: false, crop_padding: 4}\n");
        assert!(c.augment.hflip == base.augment.hflip && !c.augment.vflip);
        for bad in ["augment: fancy\n", "data: {range_axis: z}\n"] {
            let e = TrainConfig::from_yaml_over(&base, bad, Path::new("c.yaml")).unwrap_err();
            assert!(e.to_string().contains("c.yaml"), "{e}");
        }
    }

    #[test]
    fn profiles_keep_their_augmentation_and_the_paper_records_its_choices() {
        // The quick profile's pinned model hashes were trained with these draws.
        let q = TrainConfig::quick();
        assert_eq!(
            (q.augment.hflip, q.augment.vflip, q.augment.rot90),
            (true, true, true)
        );
        assert_eq!((q.augment.crop_padding, q.augment.rotate_degrees), (4, 0.0));
        assert!(q.chosen_where_paper_silent.is_empty());
        assert!(!q.to_yaml().contains("chosen_where_paper_silent"));
        let p = TrainConfig::paper();
        assert_eq!(p.augment, AugmentConfig::sar(RangeAxis::X));
        assert!(!p.augment.changes_look_direction(p.data.range_axis));
        assert_eq!(p.chosen_where_paper_silent.len(), PAPER_CHOICES.len());
        let text = p.to_yaml();
        assert!(text.contains("chosen_where_paper_silent"), "{text}");
        let back =
            TrainConfig::from_yaml_over(&TrainConfig::default(), &text, Path::new("p")).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn validation_names_the_option() {
        let mut c = TrainConfig::quick();
        assert!(c.validate().is_ok());
        c.batch_size = 0;
        assert!(c.validate().unwrap_err().to_string().contains("batch_size"));
        let mut c = TrainConfig::default();
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("--synthetic"));
        c.data.synthetic = true;
        c.model.channels = 2;
        assert!(c.validate().unwrap_err().to_string().contains("channels"));
    }

    #[test]
    fn diff_lists_changed_options() {
        let a = TrainConfig::quick();
        let mut b = a.clone();
        b.model.arch = Arch::Resnet34;
        b.threads = Some(1);
        let mut d = Vec::new();
        json_diff("", &a.fingerprint(), &b.fingerprint(), &mut d);
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].starts_with("model.arch"), "{d:?}");
    }
}
