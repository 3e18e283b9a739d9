//! File-name conventions: OpenSARUrban class names and their aliases, polarization
//! suffixes, and the `<class>_x<X>_y<Y>...` patch-name pattern shared by OpenSARUrban and
//! OpenSARShip. Pure string functions; nothing here touches the file system.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The ten OpenSARUrban categories (Zhao et al., IEEE JSTARS 13, 2020), in sarxai's
/// canonical spelling. The synthetic generator uses these names and this order (label = index).
pub const OPENSARURBAN_CLASSES: [&str; 10] = [
    "DenseLowRise",
    "GeneralResidential",
    "HighBuildings",
    "SingleBuilding",
    "Skyscraper",
    "StorageArea",
    "Vegetation",
    "Highway",
    "Railway",
    "Airport",
];

/// Aliases seen in OpenSARUrban file names (case and number are inconsistent in the real
/// data), as `(class_key, canonical)`. Keys are produced by [`class_key`].
const OPENSARURBAN_ALIASES: [(&str, &str); 24] = [
    ("denselow", "DenseLowRise"),
    ("denselowrise", "DenseLowRise"),
    ("denselowrisebuilding", "DenseLowRise"),
    ("denselowrisebuildings", "DenseLowRise"),
    ("generalresidential", "GeneralResidential"),
    ("generalresidentialarea", "GeneralResidential"),
    ("highbuilding", "HighBuildings"),
    ("highbuildings", "HighBuildings"),
    ("singlebuilding", "SingleBuilding"),
    ("singlebuildings", "SingleBuilding"),
    ("skyscraper", "Skyscraper"),
    ("skyscrapers", "Skyscraper"),
    ("storagearea", "StorageArea"),
    ("storageareas", "StorageArea"),
    ("vegetation", "Vegetation"),
    ("vegetations", "Vegetation"),
    ("highway", "Highway"),
    ("highways", "Highway"),
    ("railway", "Railway"),
    ("railways", "Railway"),
    ("airport", "Airport"),
    ("airports", "Airport"),
    ("storage", "StorageArea"),
    ("dense", "DenseLowRise"),
];

/// Matching key of a class name: its ASCII letters and digits, lower-cased
/// ("Other Type" -> "othertype", "high_buildings" -> "highbuildings").
pub fn class_key(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The canonical OpenSARUrban spelling of `name` if it is one of the known aliases.
pub fn opensarurban_canonical(name: &str) -> Option<&'static str> {
    let key = class_key(name);
    OPENSARURBAN_ALIASES
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, c)| *c)
}

/// A SAR polarization channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pol {
    /// Cross-polarized: vertical transmit, horizontal receive.
    Vh,
    /// Co-polarized: vertical transmit, vertical receive.
    Vv,
}

impl Pol {
    /// Both polarizations in the band order of OpenSARShip's 2-band TIFFs: [VH, VV].
    pub const ALL: [Pol; 2] = [Pol::Vh, Pol::Vv];

    /// The lower-case file-name suffix, `vh` or `vv`.
    pub fn suffix(self) -> &'static str {
        match self {
            Pol::Vh => "vh",
            Pol::Vv => "vv",
        }
    }

    /// Band index of this polarization in a 2-band [VH, VV] file.
    pub fn band_index(self) -> usize {
        match self {
            Pol::Vh => 0,
            Pol::Vv => 1,
        }
    }

    /// The other polarization.
    pub fn partner(self) -> Pol {
        match self {
            Pol::Vh => Pol::Vv,
            Pol::Vv => Pol::Vh,
        }
    }
}

impl fmt::Display for Pol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.suffix())
    }
}

impl std::str::FromStr for Pol {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "vh" => Ok(Pol::Vh),
            "vv" => Ok(Pol::Vv),
            other => Err(format!("unknown polarization {other:?}: use vh or vv")),
        }
    }
}

/// What a file's stem (name without extension) says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedStem {
    /// The stem without the polarization or `_mask` suffix: the sample's name. VH and VV
    /// partners (and the mask) share it.
    pub base: String,
    /// Polarization from a `_vh` / `_vv` suffix (any case).
    pub pol: Option<Pol>,
    /// True for `<base>_mask` files (ground-truth relevance masks, never image samples).
    pub is_mask: bool,
    /// True when the stem starts with `Visual_` (OpenSARShip/OpenSARUrban uint8 renders).
    pub visual: bool,
    /// Class from a `<class>_x<X>_y<Y>` pattern, as spelled in the file (not canonicalised).
    pub class_in_name: Option<String>,
}

/// Parses a file stem such as `highbuildings_x3200_y1500_Polygon12_vh`,
/// `Visual_Cargo_x1446_y3299_vv`, `Other Type_x909_y5436` or `img_0001`.
pub fn parse_stem(stem: &str) -> ParsedStem {
    let mut base = stem;
    let mut pol = None;
    let mut is_mask = false;
    if let Some(b) = strip_suffix_ci(base, "_mask") {
        base = b;
        is_mask = true;
    }
    if let Some(b) = strip_suffix_ci(base, "_vh") {
        base = b;
        pol = Some(Pol::Vh);
    } else if let Some(b) = strip_suffix_ci(base, "_vv") {
        base = b;
        pol = Some(Pol::Vv);
    }
    let (visual, rest) = match strip_prefix_ci(base, "visual_") {
        Some(r) => (true, r),
        None => (false, base),
    };
    let class_in_name = coordinate_pattern_start(rest)
        .filter(|&i| i > 0)
        .map(|i| rest[..i].to_string());
    ParsedStem {
        base: base.to_string(),
        pol,
        is_mask,
        visual,
        class_in_name,
    }
}

fn strip_suffix_ci<'a>(s: &'a str, suffix: &str) -> Option<&'a str> {
    let n = s.len().checked_sub(suffix.len())?;
    if s.is_char_boundary(n) && s[n..].eq_ignore_ascii_case(suffix) {
        Some(&s[..n])
    } else {
        None
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    if s.len() >= prefix.len()
        && s.is_char_boundary(prefix.len())
        && s[..prefix.len()].eq_ignore_ascii_case(prefix)
    {
        Some(&s[prefix.len()..])
    } else {
        None
    }
}

/// Byte index of the first `_x<digits>_y<digits>` that is followed by the end of the string
/// or `_`, i.e. where the class prefix ends.
fn coordinate_pattern_start(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let digits = |mut i: usize| {
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        (i > start).then_some(i)
    };
    let mut i = 0;
    while i + 1 < b.len() {
        if b[i] == b'_' && (b[i + 1] == b'x' || b[i + 1] == b'X') {
            if let Some(j) = digits(i + 2) {
                if j + 1 < b.len() && b[j] == b'_' && (b[j + 1] == b'y' || b[j + 1] == b'Y') {
                    if let Some(k) = digits(j + 2) {
                        if k == b.len() || b[k] == b'_' {
                            return Some(i);
                        }
                    }
                }
            }
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opensarurban_names_parse_into_class_pol_and_base() {
        let p = parse_stem("highbuildings_x3200_y1500_Polygon12_vh");
        assert_eq!(p.class_in_name.as_deref(), Some("highbuildings"));
        assert_eq!(p.pol, Some(Pol::Vh));
        assert_eq!(p.base, "highbuildings_x3200_y1500_Polygon12");
        assert!(!p.is_mask && !p.visual);
        let q = parse_stem("highbuildings_x3200_y1500_Polygon12_VV");
        assert_eq!(q.pol, Some(Pol::Vv));
        assert_eq!(q.base, p.base);
    }

    #[test]
    fn opensarship_names_parse_with_spaces_and_visual_prefix() {
        let p = parse_stem("Other Type_x909_y5436");
        assert_eq!(p.class_in_name.as_deref(), Some("Other Type"));
        assert_eq!(p.pol, None);
        let v = parse_stem("Visual_Cargo_x1446_y3299_vv");
        assert!(v.visual);
        assert_eq!(v.class_in_name.as_deref(), Some("Cargo"));
        assert_eq!(v.pol, Some(Pol::Vv));
        assert_eq!(v.base, "Visual_Cargo_x1446_y3299");
    }

    #[test]
    fn masks_and_plain_names() {
        let m = parse_stem("Airport_x0_y0_Polygon1_mask");
        assert!(m.is_mask);
        assert_eq!(m.pol, None);
        assert_eq!(m.base, "Airport_x0_y0_Polygon1");
        let plain = parse_stem("img_0001");
        assert_eq!(plain.class_in_name, None);
        assert_eq!(plain.base, "img_0001");
        // `_x12_y` without digits, or followed by letters, is not the pattern.
        assert_eq!(parse_stem("a_x12_yb").class_in_name, None);
        assert_eq!(parse_stem("a_x12_y3b").class_in_name, None);
        assert_eq!(parse_stem("_x1_y2").class_in_name, None);
    }

    #[test]
    fn aliases_map_to_canonical_names() {
        assert_eq!(
            opensarurban_canonical("highbuilding"),
            Some("HighBuildings")
        );
        assert_eq!(
            opensarurban_canonical("HighBuildings"),
            Some("HighBuildings")
        );
        assert_eq!(opensarurban_canonical("vegetation"), Some("Vegetation"));
        assert_eq!(opensarurban_canonical("denselow"), Some("DenseLowRise"));
        assert_eq!(opensarurban_canonical("Storage_Area"), Some("StorageArea"));
        assert_eq!(opensarurban_canonical("Cargo"), None);
        for c in OPENSARURBAN_CLASSES {
            assert_eq!(opensarurban_canonical(c), Some(c));
        }
    }

    #[test]
    fn non_ascii_names_do_not_panic() {
        let p = parse_stem("é_x1_y2_vé");
        assert_eq!(p.class_in_name.as_deref(), Some("é"));
        let _ = parse_stem("ü_vh");
        let _ = parse_stem("");
    }
}
