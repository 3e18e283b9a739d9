//! `clap::ValueEnum` for the library's enums that options take as values. The library
//! stays free of clap; the names and help lines here are what `--help` shows and what
//! the options accept (kebab-case of the variant names).

use clap::builder::PossibleValue;

/// Implements `clap::ValueEnum` for `$ty` from `Variant => "name": "help"` entries, in
/// the order `--help` lists them.
macro_rules! value_enum {
    ($ty:ty { $($variant:ident => $name:literal : $help:literal),+ $(,)? }) => {
        impl clap::ValueEnum for $ty {
            fn value_variants<'a>() -> &'a [Self] {
                &[$(Self::$variant),+]
            }

            fn to_possible_value(&self) -> Option<PossibleValue> {
                Some(match self {
                    $(Self::$variant => PossibleValue::new($name).help($help),)+
                })
            }
        }
    };
}

value_enum!(crate::metrics::entropy::Measure {
    CaptumFigure => "captum-figure": "Captum's heat-map figure as matplotlib saves it (the paper's measure; default)",
    GreyPng => "grey-png": "The 8-bit grey map at the input size (sarxai's earlier measure)",
});

value_enum!(crate::metrics::entropy::Upsample {
    Bilinear => "bilinear": "Bilinear, `align_corners=False` (torch's `F.interpolate(mode=\"bilinear\")`; default)",
    Nearest => "nearest": "Nearest neighbour (torch's `F.interpolate(mode=\"nearest\")`)",
});

value_enum!(crate::train::RangeAxis {
    X => "x": "Range along x (columns): a range flip is a horizontal flip",
    Y => "y": "Range along y (rows): a range flip is a vertical flip",
});

value_enum!(crate::train::augment::AugmentPreset {
    Sar => "sar": "Azimuth flips and small translations: keeps the look direction",
    Natural => "natural": "Both flips, 90-degree rotations, 8-pixel translations (the natural-image recipe)",
    None => "none": "No augmentation",
});

value_enum!(crate::train::OptimizerKind {
    Sgd => "sgd": "SGD with (optionally Nesterov) momentum and L2 weight decay (PyTorch's `SGD`)",
    Adamw => "adamw": "Adam with decoupled weight decay (PyTorch's `AdamW`)",
});

value_enum!(crate::train::Balance {
    None => "none": "Plain shuffling, unweighted loss",
    Sampler => "sampler": "Each epoch draws as many samples as the training split holds, with replacement, with probability proportional to 1 / (samples of its class): classes are seen equally often",
    LossWeights => "loss-weights": "Cross-entropy weighted by `n / (k * n_c)` per class (scikit-learn's \"balanced\")",
});

value_enum!(crate::train::Select {
    Last => "last": "The model after the last epoch",
    BestVal => "best-val": "The model of the epoch with the best validation accuracy (ties: the earlier)",
});

value_enum!(crate::train::Profile {
    Default => "default": "The built-in defaults",
    Quick => "quick": "Minutes on a laptop CPU: ResNet-18 on the default synthetic data (see REPRODUCE.md)",
    Paper => "paper": "The paper's setting: ResNet-101 with augmentation and a cosine schedule (hyper-parameters not stated by the paper: common choices)",
});

value_enum!(crate::train::ScheduleKind {
    Cosine => "cosine": "Cosine decay from the peak to `min_lr_ratio * lr` after the warm-up",
    Step => "step": "Multiply by `gamma` every `step_epochs` after the warm-up",
    Constant => "constant": "The peak rate after the warm-up",
});

value_enum!(crate::reproduce::ReproduceProfile {
    Quick => "quick": "ResNet-18 on the embedded synthetic data, on a CPU: 17 minutes on 2 AVX2 cores",
    Paper => "paper": "ResNet-101 on OpenSARUrban (--data), the paper's protocol; a GPU recommended",
    Transfer => "transfer": "The paper's protocol on any labelled SAR chip set (--data, e.g. MSTAR SOC): ResNet-18 on a CPU by default, transfer verdicts ([`crate::claims::transfer`])",
});

value_enum!(crate::data::preprocess::InputQuantity {
    Auto => "auto": "Decided per file by its sample type ([`InputQuantity::resolve`])",
    Amplitude => "amplitude": "Amplitude (OpenSARShip `Patch`, OpenSARUrban float32 TIFF, sarxai's synthetic data)",
    Intensity => "intensity": "Intensity, e.g. calibrated sigma0 (OpenSARShip `Patch_Cal`)",
    Display => "display": "A display render: grey levels already scaled for viewing (OpenSARShip `Patch_Uint8`, PNG/JPEG chips such as MSTAR's): used as stored, no dB",
});

value_enum!(crate::score::scoring::TargetChoice {
    TrueLabel => "true-label": "The image's true label (the default)",
    Predicted => "predicted": "The model's prediction",
});
