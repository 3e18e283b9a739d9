//! The `sarxai` command line. Library errors are reported with their context chain.

use anyhow::Result;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use sarxai::cli::{
    claims, entropy, eval, explain, merge, metrics, model, reproduce, score, sensitivity, train,
};

#[derive(Debug, Parser)]
#[command(
    name = "sarxai",
    version,
    about = "Reproducible, verifiable and fast explainable AI for SAR image classifiers",
    after_help = "Examples:
  sarxai model info run/vh/model.safetensors
  sarxai explain --weights w.safetensors --arch resnet18 --input x.npy --target t.npy --method all --out out/"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// On CUDA, choose speed over reproducibility: TF32 in cuBLAS and cuDNN, cuDNN
    /// benchmark, no deterministic algorithms. Default: TF32 off, cuDNN deterministic
    /// without benchmark, deterministic algorithms on (recorded in every manifest).
    #[arg(long, global = true)]
    cuda_fast: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Synthetic data, discovery and inspection of real data, manifests and pins.
    Data {
        #[command(subcommand)]
        cmd: sarxai::cli::data::DataCommand,
    },
    /// Inspect, hash and run checkpoints.
    Model {
        #[command(subcommand)]
        cmd: model::ModelCommand,
    },
    /// The whole study: data, train VH and VV, score, Table 1, Figure 1, claims, report.
    Reproduce(reproduce::ReproduceArgs),
    /// Attributions of arrays with the paper's eight methods (Captum semantics).
    Explain(explain::ExplainArgs),
    /// Check a reproduce run against the paper's claims and the pins.
    Claims {
        #[command(subcommand)]
        cmd: claims::ClaimsCommand,
    },
    /// Max-Sensitivity of attributions (Captum's sensitivity_max by default).
    Sensitivity(sensitivity::SensitivityArgs),
    /// sarxai's metrics on attribution arrays made anywhere (Captum, Zennit, ...), per image.
    Metrics(metrics::MetricsArgs),
    /// XAI entropy of attributions: the byte size of Captum's heat-map figure PNG.
    Entropy(entropy::EntropyArgs),
    /// Train the classifier of one polarization (augmentation, LR schedule, seeded, resumable).
    Train(train::TrainArgs),
    /// Evaluate a checkpoint: accuracy with 95 % CI, balanced accuracy, per-class metrics, confusion matrix.
    Eval(eval::EvalArgs),
    /// Score every method on K test images per class: per-image metrics (resumable), Table 1, Figure 1.
    Score(score::ScoreArgs),
    /// Combine the shard directories of `score --shard I/N` into one run's Table 1, Figure 1 and results.
    Merge(merge::MergeArgs),
}

fn main() {
    sarxai::malloc::keep_freed_memory();
    sarxai::mkl::reproducible_mkl();
    let cli = parse();
    let knob = memory_knob(&cli.command);
    if let Err(e) = sarxai::interrupt::install() {
        eprintln!("warning: SIGINT and SIGTERM will kill at once instead of stopping at a safe point: {e}");
    }
    // libtorch errors (tch panics) become typed errors here; see sarxai::cli::guard.
    if let Err(e) = sarxai::cli::guard::guarded(knob, || run(cli)) {
        eprintln!("error: {e:#}");
        // Stopped by SIGINT or SIGTERM: exit as a shell reports a process killed by it.
        let code = sarxai::interrupt::received().map_or(1, |s| 128 + s);
        std::process::exit(code);
    }
}

/// The command line, with the options typed recorded where `--print-config` names them.
fn parse() -> Cli {
    let matches = Cli::command().get_matches();
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    if let Some((_, sub)) = matches.subcommand() {
        let given = sarxai::cli::print_config::Given::from_matches(sub);
        match &mut cli.command {
            Command::Score(a) => a.given = given,
            Command::Train(a) => a.given = given,
            Command::Reproduce(a) => a.given = given,
            _ => {}
        }
    }
    cli
}

/// What to change when a command runs out of memory.
fn memory_knob(cmd: &Command) -> &'static str {
    if matches!(
        cmd,
        Command::Explain(_) | Command::Sensitivity(_) | Command::Score(_) | Command::Metrics(_)
    ) {
        "lower --memory-mib (memory of one batched pass), or use a device with more memory (--device)"
    } else if matches!(cmd, Command::Train(_) | Command::Eval(_)) {
        "lower --batch-size, or use a device with more memory (--device)"
    } else if matches!(cmd, Command::Model { .. }) {
        "pass fewer images per --input file"
    } else {
        "use a device with more memory (--device), or free memory on this machine"
    }
}

fn run(cli: Cli) -> Result<()> {
    // Before any work: the numerics flags (re-applied wherever a device is resolved).
    sarxai::device::numerics::set_cuda_fast(cli.cuda_fast);
    sarxai::device::numerics::apply()?;
    match cli.command {
        Command::Data { cmd } => sarxai::cli::data::run(cmd),
        Command::Model { cmd } => model::run(cmd),
        Command::Reproduce(args) => reproduce::run(args),
        Command::Explain(args) => explain::run(args),
        Command::Claims { cmd } => claims::run(cmd),
        Command::Sensitivity(args) => sensitivity::run(args),
        Command::Metrics(args) => metrics::run(args),
        Command::Entropy(args) => entropy::run(args),
        Command::Train(args) => train::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Score(args) => score::run(args),
        Command::Merge(args) => merge::run(args),
    }
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    /// Every option and argument of every subcommand, as `sarxai a b --opt`.
    fn without_help(cmd: &clap::Command, path: &str, out: &mut Vec<String>) {
        for a in cmd.get_arguments() {
            let id = a.get_id().as_str();
            if matches!(id, "help" | "version") {
                continue;
            }
            if a.get_help().is_none() && a.get_long_help().is_none() {
                let name = a
                    .get_long()
                    .map_or_else(|| format!("<{id}>"), |l| format!("--{l}"));
                out.push(format!("{path} {name}"));
            }
        }
        for sub in cmd.get_subcommands() {
            without_help(sub, &format!("{path} {}", sub.get_name()), out);
        }
    }

    /// Issue 31: every option of every subcommand says what it does in `--help`.
    #[test]
    fn every_option_of_every_subcommand_has_help() {
        let cmd = Cli::command();
        cmd.clone().debug_assert();
        let mut missing = Vec::new();
        without_help(&cmd, "sarxai", &mut missing);
        assert!(
            missing.is_empty(),
            "options without help text:\n{}",
            missing.join("\n")
        );
    }

    /// Issue 31: every option of the commands that build a configuration (train, score,
    /// reproduce, eval) that takes a value shows its default, either clap's `[default: ...]`
    /// or in words where it depends on the profile or the data, or says it is required.
    #[test]
    fn every_option_of_the_configuring_commands_shows_its_default() {
        let cmd = Cli::command();
        let mut missing = Vec::new();
        for name in ["train", "score", "reproduce", "eval"] {
            let sub = cmd.find_subcommand(name).unwrap();
            for a in sub.get_arguments() {
                let takes_value = a.get_action().takes_values();
                let help = format!(
                    "{} {}",
                    a.get_help().map(|h| h.to_string()).unwrap_or_default(),
                    a.get_long_help().map(|h| h.to_string()).unwrap_or_default()
                )
                .to_lowercase();
                let shown = !a.get_default_values().is_empty()
                    || a.is_required_set()
                    || help.contains("default")
                    || help.contains("required");
                if takes_value && !a.is_positional() && !a.is_hide_set() && !shown {
                    missing.push(format!("sarxai {name} --{}", a.get_id()));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "options that do not show their default:\n{}",
            missing.join("\n")
        );
    }
}
