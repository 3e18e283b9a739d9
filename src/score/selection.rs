//! Which test images Table 1 explains.
//!
//! The paper does not say which images it explained. sarxai's default draws the same
//! number of test images from every class ([`Selection::Stratified`]): for class `c` the
//! test images of that class are put in a seeded random order (Fisher-Yates driven by
//! ChaCha8 keyed by `(seed, c)`) and the first `per_class` are taken, optionally only
//! among the images the model classifies correctly. Growing `per_class` with the same
//! seed keeps the images already chosen (the order is a prefix), so a scoring run can be
//! extended and resumed. [`Selection::First`] keeps the earlier rule (the first N images
//! of the test split in its stored order).
//!
//! The chosen images are written to `images.csv` and pinned by [`selection_digest`].

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::data::SplitData;

/// How the explained test images are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Selection {
    /// The first `n` images of the test split in its stored order.
    First {
        /// Images.
        n: usize,
    },
    /// `per_class` images of every class, in a seeded order per class.
    Stratified {
        /// Images per class.
        per_class: usize,
        /// Seed of the order within each class.
        seed: u64,
        /// Only images the model classifies correctly.
        correct_only: bool,
        /// Up to `per_class`: a class with fewer eligible images gives what it has (the
        /// transfer profile, on real chip sets with rare classes); otherwise it is an
        /// error.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        at_most: bool,
    },
}

impl Default for Selection {
    /// One image of every class, seed 0, correct or not.
    fn default() -> Self {
        Selection::Stratified {
            per_class: 1,
            seed: 0,
            correct_only: false,
            at_most: false,
        }
    }
}

impl Selection {
    /// The rule in words (Table 1's notes).
    pub fn describe(&self) -> String {
        match *self {
            Selection::First { n } => format!("the first {n} test images in stored order"),
            Selection::Stratified {
                per_class,
                seed,
                correct_only,
                at_most,
            } => format!(
                "{}{per_class} test image(s) per class{}, drawn with seed {seed}",
                if at_most { "up to " } else { "" },
                if correct_only {
                    " among those classified correctly"
                } else {
                    ""
                }
            ),
        }
    }

    /// The settings a resumed run must share (the count may grow: its choice is a prefix).
    pub fn resume_key(&self) -> serde_json::Value {
        match *self {
            Selection::First { .. } => serde_json::json!({ "rule": "first" }),
            Selection::Stratified {
                seed,
                correct_only,
                at_most,
                ..
            } => {
                let mut key = serde_json::json!({ "rule": "stratified", "seed": seed, "correct_only": correct_only });
                if at_most {
                    key["at_most"] = true.into();
                }
                key
            }
        }
    }
}

/// Why no selection could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectionError {
    /// More images asked for than the test split holds.
    #[error("--images {requested} is larger than the test split, which has {available} image(s); use --images {available} or fewer")]
    TooMany {
        /// Images asked for.
        requested: usize,
        /// Images in the test split.
        available: usize,
    },
    /// A class has fewer eligible images than asked for per class.
    #[error("class {class} has {available} eligible test image(s){which}, fewer than the {requested} per class asked for; lower --per-class")]
    ClassTooSmall {
        /// The class.
        class: String,
        /// Images asked for per class.
        requested: usize,
        /// Its eligible images.
        available: usize,
        /// " correctly classified" when only those are eligible, else empty.
        which: &'static str,
    },
    /// Nothing to explain.
    #[error("nothing to explain: the selection is empty (--images 0, --per-class 0 or an empty test split)")]
    Empty,
}

/// The test-split indices chosen by `selection`, ascending. `classes` names the labels;
/// `correct(i)` says whether the model classifies image `i` correctly (asked only for
/// candidates of a `correct_only` selection, in their drawn order, until enough are found).
pub fn select(
    selection: &Selection,
    split: &SplitData,
    classes: &[String],
    mut correct: impl FnMut(usize) -> bool,
) -> Result<Vec<usize>, SelectionError> {
    let chosen = match *selection {
        Selection::First { n } => {
            if n > split.len() {
                return Err(SelectionError::TooMany {
                    requested: n,
                    available: split.len(),
                });
            }
            (0..n).collect()
        }
        Selection::Stratified {
            per_class,
            seed,
            correct_only,
            at_most,
        } => {
            let mut chosen = Vec::new();
            for (c, name) in classes.iter().enumerate() {
                let order = class_order(split, c, seed);
                let mut taken = 0;
                for &i in &order {
                    if taken == per_class {
                        break;
                    }
                    if !correct_only || correct(i) {
                        chosen.push(i);
                        taken += 1;
                    }
                }
                if taken < per_class && !at_most {
                    return Err(SelectionError::ClassTooSmall {
                        class: name.clone(),
                        requested: per_class,
                        available: taken,
                        which: if correct_only {
                            " classified correctly"
                        } else {
                            ""
                        },
                    });
                }
            }
            chosen.sort_unstable();
            chosen
        }
    };
    if chosen.is_empty() {
        return Err(SelectionError::Empty);
    }
    Ok(chosen)
}

/// The test images of class `class` in the seeded order of `(seed, class)`.
fn class_order(split: &SplitData, class: usize, seed: u64) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..split.len())
        .filter(|&i| split.labels[i] == class as i64)
        .collect();
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&(class as u64).to_le_bytes());
    key[16..24].copy_from_slice(b"select\0\0");
    idx.shuffle(&mut ChaCha8Rng::from_seed(key));
    idx
}

/// `images.csv`: one row per chosen image (`position,image,member,label`).
pub fn images_csv(chosen: &[usize], split: &SplitData, classes: &[String]) -> String {
    let mut s = String::from("position,image,member,label\n");
    for (p, &i) in chosen.iter().enumerate() {
        s.push_str(&format!(
            "{p},{i},{},{}\n",
            super::records::field(&split.members[i]),
            super::records::field(&classes[split.labels[i] as usize])
        ));
    }
    s
}

/// SHA-256 (hex) of the chosen members, one `image,member` line each, ascending.
pub fn selection_digest(chosen: &[usize], split: &SplitData) -> String {
    let mut h = Sha256::new();
    for &i in chosen {
        h.update(format!("{i},{}\n", split.members[i]).as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(labels: &[i64]) -> SplitData {
        SplitData {
            images: vec![0.0; labels.len()],
            labels: labels.to_vec(),
            masks: None,
            members: (0..labels.len()).map(|i| format!("m{i}")).collect(),
            files: Vec::new(),
            digest: String::new(),
            size: 1,
            ..SplitData::default()
        }
    }

    fn names(k: usize) -> Vec<String> {
        (0..k).map(|c| format!("c{c}")).collect()
    }

    #[test]
    fn stratified_takes_every_class_equally_and_is_seeded() {
        let s = split(&[0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 0, 1, 2]);
        let sel = |per_class, seed| Selection::Stratified {
            per_class,
            seed,
            correct_only: false,
            at_most: false,
        };
        let a = select(&sel(2, 7), &s, &names(3), |_| true).unwrap();
        assert_eq!(a.len(), 6);
        for c in 0..3 {
            assert_eq!(a.iter().filter(|&&i| s.labels[i] == c).count(), 2);
        }
        assert_eq!(a, select(&sel(2, 7), &s, &names(3), |_| true).unwrap());
        let seeds_differ =
            (0..20).any(|seed| select(&sel(2, seed), &s, &names(3), |_| true).unwrap() != a);
        assert!(seeds_differ, "the seed changes the choice");
        // Growing per_class keeps the earlier choice.
        let b = select(&sel(3, 7), &s, &names(3), |_| true).unwrap();
        assert!(a.iter().all(|i| b.contains(i)), "{a:?} within {b:?}");
    }

    #[test]
    fn correct_only_skips_misclassified_and_names_short_classes() {
        let s = split(&[0, 0, 0, 1, 1]);
        let sel = Selection::Stratified {
            per_class: 1,
            seed: 0,
            correct_only: true,
            at_most: false,
        };
        let wrong = [0usize, 1];
        let got = select(&sel, &s, &names(2), |i| !wrong.contains(&i)).unwrap();
        assert!(got.contains(&2), "{got:?}");
        let err = select(&sel, &s, &names(2), |i| i < 3).unwrap_err();
        assert!(err.to_string().contains("class c1"), "{err}");
        // Up to K per class: the short class gives what it has, the others K.
        let up_to = Selection::Stratified {
            per_class: 2,
            seed: 0,
            correct_only: false,
            at_most: true,
        };
        let s = split(&[0, 0, 0, 1]);
        let got = select(&up_to, &s, &names(3), |_| true).unwrap();
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(up_to
            .describe()
            .starts_with("up to 2 test image(s) per class"));
        let first = select(&Selection::First { n: 3 }, &s, &names(2), |_| true).unwrap();
        assert_eq!(first, vec![0, 1, 2]);
        assert!(select(&Selection::First { n: 9 }, &s, &names(2), |_| true).is_err());
    }

    #[test]
    fn digest_pins_the_members() {
        let s = split(&[0, 1, 0]);
        assert_ne!(selection_digest(&[0, 1], &s), selection_digest(&[0, 2], &s));
        assert_eq!(selection_digest(&[0, 1], &s).len(), 64);
        assert!(images_csv(&[0, 1], &s, &names(2)).contains("1,1,m1,c1\n"));
    }
}
