//! `--print-config` of `train`, `score` and `reproduce`: the effective configuration as
//! YAML (readable back by `train --config`), each value followed by a comment naming where
//! it came from (`# profile quick`, `# train.yaml`, `# --epochs`, `# default`).
//!
//! Sources are found two ways. A configuration built in layers (profile, then a YAML file,
//! then the command line) is compared layer by layer: a value's source is the last layer
//! that changed it (`layer_sources`). Options read straight from the command line are
//! named by clap's own record of what was typed ([`Given`]), so a value typed equal to its
//! default still says `--option`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

/// The options typed on the command line (clap argument ids), filled by the binary after
/// parsing; empty when a command is built in code.
#[derive(Debug, Clone, Default)]
pub struct Given(BTreeSet<String>);

impl Given {
    /// The ids of `m`'s arguments whose value came from the command line.
    pub fn from_matches(m: &clap::ArgMatches) -> Given {
        Given(
            m.ids()
                .filter(|id| {
                    m.value_source(id.as_str()) == Some(clap::parser::ValueSource::CommandLine)
                })
                .map(|id| id.as_str().to_string())
                .collect(),
        )
    }

    /// The typed option(s) that set the configuration value at `path`: those `aliases`
    /// name for the path or a section above it (`("augment", "no_augment")`), else the
    /// longest typed id that the path ends with on a component boundary
    /// (`dataset.split.seed` is `--split-seed`, `seed` is `--seed`).
    pub(crate) fn flag_for_path(&self, path: &str, aliases: &[(&str, &str)]) -> Option<String> {
        let flag = |id: &str| format!("--{}", id.replace('_', "-"));
        let aliased: Vec<String> = aliases
            .iter()
            .filter(|(p, id)| {
                (path == *p || path.starts_with(&format!("{p}."))) && self.0.contains(*id)
            })
            .map(|(_, id)| flag(id))
            .collect();
        if !aliased.is_empty() {
            return Some(aliased.join(" / "));
        }
        let flat = path.replace('.', "_");
        self.0
            .iter()
            .filter(|id| flat == **id || flat.ends_with(&format!("_{id}")))
            .max_by_key(|id| id.len())
            .map(|id| flag(id))
    }

    /// `--option` when the argument `id` was typed, else `otherwise`.
    pub(crate) fn or(&self, id: &str, otherwise: &str) -> String {
        if self.0.contains(id) {
            format!("--{}", id.replace('_', "-"))
        } else {
            otherwise.to_string()
        }
    }
}

/// Dotted paths of `v`'s leaves (scalars, arrays and nulls; objects are walked).
fn leaves(v: &Value, prefix: &str, out: &mut BTreeMap<String, Value>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                leaves(x, &path, out);
            }
        }
        _ => {
            out.insert(prefix.to_string(), v.clone());
        }
    }
}

/// The source of every leaf of the last layer: the name of the last layer whose value at
/// that path differs from the layer before it (the first layer's name if none does).
pub(crate) fn layer_sources<T: Serialize>(layers: &[(String, &T)]) -> BTreeMap<String, String> {
    let mut sources = BTreeMap::new();
    let mut before = BTreeMap::new();
    for (i, (name, layer)) in layers.iter().enumerate() {
        let mut now = BTreeMap::new();
        leaves(
            &serde_json::to_value(layer).expect("serializable"),
            "",
            &mut now,
        );
        for (path, v) in &now {
            if i == 0 || before.get(path) != Some(v) {
                sources.insert(path.clone(), name.clone());
            }
        }
        before = now;
    }
    sources
}

/// `yaml` (block style, as serde-saphyr writes it) with `  # source` after every line that
/// holds a leaf of `sources` (a scalar, or the key line of a sequence).
pub(crate) fn annotate(yaml: &str, sources: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut stack: Vec<(usize, String)> = Vec::new();
    for line in yaml.lines() {
        let indent = line.len() - line.trim_start().len();
        let body = line.trim_start();
        let key = (!body.starts_with("- "))
            .then(|| body.split_once(':'))
            .flatten()
            .map(|(k, _)| k);
        let mut comment = None;
        if let Some(key) = key {
            while stack.last().is_some_and(|(i, _)| *i >= indent) {
                stack.pop();
            }
            stack.push((indent, key.to_string()));
            let path: Vec<&str> = stack.iter().map(|(_, k)| k.as_str()).collect();
            comment = sources.get(&path.join("."));
        }
        out.push_str(line);
        if let Some(c) = comment {
            out.push_str("  # ");
            out.push_str(c);
        }
        out.push('\n');
    }
    out
}

/// `value` as YAML with a source comment on each of its leaves.
pub(crate) fn render<T: Serialize>(value: &T, sources: &BTreeMap<String, String>) -> String {
    let yaml =
        serde_saphyr::to_string(value).unwrap_or_else(|e| format!("# cannot serialize: {e}\n"));
    annotate(&yaml, sources)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, Clone)]
    struct Opt {
        lr: f64,
        betas: Vec<f64>,
    }
    #[derive(Serialize, Clone)]
    struct Cfg {
        epochs: usize,
        optimizer: Opt,
        dir: Option<String>,
    }

    #[test]
    fn each_leaf_names_the_last_layer_that_changed_it() {
        let base = Cfg {
            epochs: 6,
            optimizer: Opt {
                lr: 1e-3,
                betas: vec![0.9, 0.999],
            },
            dir: None,
        };
        let mut file = base.clone();
        file.optimizer.lr = 0.1;
        file.epochs = 9;
        let mut cli = file.clone();
        cli.epochs = 3;
        let layers = [
            ("profile quick".to_string(), &base),
            ("a.yaml".to_string(), &file),
            ("command line".to_string(), &cli),
        ];
        let sources = layer_sources(&layers);
        let text = render(&cli, &sources);
        assert_eq!(
            text,
            "epochs: 3  # command line\noptimizer:\n  lr: 0.1  # a.yaml\n  betas:  # profile quick\n  - 0.9\n  - 0.999\ndir: null  # profile quick\n"
        );
    }

    #[test]
    fn a_typed_option_is_matched_to_the_longest_path_suffix() {
        let g = Given(
            ["seed", "split_seed", "lr", "data", "range_axis"]
                .map(String::from)
                .into(),
        );
        let aliases = [
            ("data.dir", "data"),
            ("augment", "augment"),
            ("augment", "range_axis"),
        ];
        let f = |path| g.flag_for_path(path, &aliases);
        assert_eq!(f("dataset.split.seed").as_deref(), Some("--split-seed"));
        assert_eq!(f("seed").as_deref(), Some("--seed"));
        assert_eq!(f("optimizer.lr").as_deref(), Some("--lr"));
        assert_eq!(f("optimizer.kind"), None);
        assert_eq!(f("data.synth.looks"), None);
        assert_eq!(f("data.dir").as_deref(), Some("--data"));
        assert_eq!(f("augment.vflip").as_deref(), Some("--range-axis"));
        assert_eq!(g.or("lr", "default"), "--lr");
        assert_eq!(g.or("epochs", "default"), "default");
    }

    #[test]
    fn keys_are_tracked_through_nesting_and_back_out() {
        let mut s = BTreeMap::new();
        s.insert("a.b.c".to_string(), "x".to_string());
        s.insert("d".to_string(), "y".to_string());
        let text = annotate("a:\n  b:\n    c: 1\nd: 2\n", &s);
        assert_eq!(text, "a:\n  b:\n    c: 1  # x\nd: 2  # y\n");
    }
}
