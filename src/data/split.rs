//! Train / validation / test splits: given by folders, or drawn deterministically,
//! stratified by class and seeded; each split pinned by a digest of its sorted member list.
//!
//! # Seeded split
//!
//! Per class, the member ids are sorted, shuffled with a ChaCha8 generator seeded by `seed`
//! on stream `first 8 bytes of SHA-256(class name)` (Fisher-Yates), and cut into
//! `n_test = round(n * test_fraction)` test members, then
//! `n_val = round(n * val_fraction)` validation members, the rest training; the counts are
//! reduced so that every class with at least one member keeps one training member. The
//! result depends on the member ids, classes and seed only, never on file order.
//!
//! # Split digest
//!
//! `SHA-256` of the lines `"<class>\t<member id>\n"` of the split's members sorted by
//! (member id, class); the combined digest is `SHA-256` of
//! `"train <d>\nval <d>\ntest <d>\n"`.

use std::collections::BTreeMap;
use std::fmt;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::io::sha256_hex;

/// A data split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// The training split.
    Train,
    /// The validation split (model selection).
    Val,
    /// The test split (reported accuracy, explained images).
    Test,
}

impl Split {
    /// All splits in the order they are reported.
    pub const ALL: [Split; 3] = [Split::Train, Split::Val, Split::Test];

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Val => "val",
            Split::Test => "test",
        }
    }

    /// The split a folder name stands for (any case): train/training, val/valid/validation,
    /// test/testing.
    pub fn from_folder(name: &str) -> Option<Split> {
        match name.to_ascii_lowercase().as_str() {
            "train" | "training" => Some(Split::Train),
            "val" | "valid" | "validation" => Some(Split::Val),
            "test" | "testing" => Some(Split::Test),
            _ => None,
        }
    }
}

impl fmt::Display for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How to split when the data does not come in split folders.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SplitConfig {
    /// Seed of the shuffles.
    pub seed: u64,
    /// Fraction of each class in the test split.
    pub test_fraction: f64,
    /// Fraction of each class in the validation split.
    pub val_fraction: f64,
}

impl Default for SplitConfig {
    fn default() -> Self {
        SplitConfig {
            seed: 0,
            test_fraction: 0.2,
            val_fraction: 0.0,
        }
    }
}

impl SplitConfig {
    /// Checks the fractions: each in [0, 1) and together below 1.
    pub fn validate(&self) -> Result<(), String> {
        let ok = |f: f64| f.is_finite() && (0.0..1.0).contains(&f);
        if !ok(self.test_fraction)
            || !ok(self.val_fraction)
            || self.test_fraction + self.val_fraction >= 1.0
        {
            return Err(format!(
                "test_fraction {} and val_fraction {} must each lie in [0, 1) and sum below 1",
                self.test_fraction, self.val_fraction
            ));
        }
        Ok(())
    }
}

/// Assigns each `(member id, class)` a split (see the module docs). Output is parallel to
/// `members`.
pub fn stratified_split(members: &[(String, String)], cfg: &SplitConfig) -> Vec<Split> {
    let mut by_class: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, (_, class)) in members.iter().enumerate() {
        by_class.entry(class.as_str()).or_default().push(i);
    }
    let mut out = vec![Split::Train; members.len()];
    for (class, mut idx) in by_class {
        idx.sort_by(|&a, &b| members[a].0.cmp(&members[b].0));
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        let h = Sha256::digest(class.as_bytes());
        rng.set_stream(u64::from_le_bytes(h[..8].try_into().expect("8 bytes")));
        idx.shuffle(&mut rng);
        let n = idx.len();
        let mut n_test = (n as f64 * cfg.test_fraction).round() as usize;
        let mut n_val = (n as f64 * cfg.val_fraction).round() as usize;
        while n > 0 && n_test + n_val >= n {
            if n_val > 0 {
                n_val -= 1;
            } else {
                n_test -= 1;
            }
        }
        for (k, &i) in idx.iter().enumerate() {
            out[i] = if k < n_test {
                Split::Test
            } else if k < n_test + n_val {
                Split::Val
            } else {
                Split::Train
            };
        }
    }
    out
}

/// Digest of one split's members `(member id, class)` (see the module docs).
pub fn split_digest(members: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = members.iter().collect();
    sorted.sort();
    let mut text = String::new();
    for (id, class) in sorted {
        text.push_str(class);
        text.push('\t');
        text.push_str(id);
        text.push('\n');
    }
    sha256_hex(text.as_bytes())
}

/// The digests of all three splits and their combination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitDigests {
    /// Digest of the training members.
    pub train: String,
    /// Digest of the validation members.
    pub val: String,
    /// Digest of the test members.
    pub test: String,
    /// SHA-256 of `"train <d>\nval <d>\ntest <d>\n"`.
    pub combined: String,
}

impl SplitDigests {
    /// Combines the three per-split digests.
    pub fn new(train: String, val: String, test: String) -> SplitDigests {
        let combined = sha256_hex(format!("train {train}\nval {val}\ntest {test}\n").as_bytes());
        SplitDigests {
            train,
            val,
            test,
            combined,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(per_class: &[(&str, usize)]) -> Vec<(String, String)> {
        per_class
            .iter()
            .flat_map(|&(c, n)| (0..n).map(move |i| (format!("{c}_{i:03}"), c.to_string())))
            .collect()
    }

    #[test]
    fn split_is_stratified_with_rounded_counts() {
        let m = members(&[("a", 100), ("b", 7), ("c", 1), ("d", 2)]);
        let cfg = SplitConfig {
            seed: 3,
            test_fraction: 0.2,
            val_fraction: 0.1,
        };
        let s = stratified_split(&m, &cfg);
        let count = |class: &str, split: Split| {
            m.iter()
                .zip(&s)
                .filter(|((_, c), x)| c == class && **x == split)
                .count()
        };
        assert_eq!(
            (
                count("a", Split::Test),
                count("a", Split::Val),
                count("a", Split::Train)
            ),
            (20, 10, 70)
        );
        assert_eq!((count("b", Split::Test), count("b", Split::Val)), (1, 1)); // round(1.4), round(0.7)
        assert_eq!(count("c", Split::Train), 1);
        assert_eq!(count("d", Split::Train) + count("d", Split::Test), 2);
        assert!(count("d", Split::Train) >= 1);
    }

    #[test]
    fn split_ignores_input_order_and_depends_on_seed() {
        let m = members(&[("a", 50), ("b", 30)]);
        let cfg = SplitConfig::default();
        let s1 = stratified_split(&m, &cfg);
        let mut rev = m.clone();
        rev.reverse();
        let mut s2 = stratified_split(&rev, &cfg);
        s2.reverse();
        assert_eq!(s1, s2);
        let s3 = stratified_split(&m, &SplitConfig { seed: 1, ..cfg });
        assert_ne!(s1, s3);
    }

    #[test]
    fn digest_is_order_independent_and_membership_sensitive() {
        let m = members(&[("a", 5)]);
        let mut r = m.clone();
        r.reverse();
        assert_eq!(split_digest(&m), split_digest(&r));
        assert_ne!(split_digest(&m), split_digest(&m[1..]));
        assert_eq!(
            split_digest(&[("x".into(), "c".into())]),
            sha256_hex(b"c\tx\n")
        );
    }

    #[test]
    fn fractions_are_validated() {
        assert!(SplitConfig::default().validate().is_ok());
        for (t, v) in [(1.0, 0.0), (-0.1, 0.0), (0.6, 0.4), (f64::NAN, 0.0)] {
            let c = SplitConfig {
                seed: 0,
                test_fraction: t,
                val_fraction: v,
            };
            assert!(c.validate().is_err(), "{t} {v}");
        }
        assert_eq!(Split::from_folder("TRAIN"), Some(Split::Train));
        assert_eq!(Split::from_folder("Validation"), Some(Split::Val));
        assert_eq!(Split::from_folder("tests"), None);
    }
}
