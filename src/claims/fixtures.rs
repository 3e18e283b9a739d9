//! The fixtures compiled into the binary: the paper's claims (`fixtures/claims.yaml`), the
//! profiles' pins (`fixtures/pins.yaml`) and the paper's Table 1
//! (`fixtures/paper_table1.yaml`).

use std::path::Path;

use super::{ClaimsError, ClaimsFile, PinsFile, Results};
/// `fixtures/claims.yaml`, embedded.
pub const CLAIMS_YAML: &str = include_str!("../../fixtures/claims.yaml");
/// `fixtures/pins.yaml`, embedded.
pub const PINS_YAML: &str = include_str!("../../fixtures/pins.yaml");
/// `fixtures/paper_table1.yaml`, embedded.
pub const PAPER_YAML: &str = include_str!("../../fixtures/paper_table1.yaml");

fn parse<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T, ClaimsError> {
    serde_saphyr::from_str(text).map_err(|e| ClaimsError::file(Path::new(what), e))
}

/// The claims, the pins and the paper's Table 1: the embedded files, or the claims and
/// pins files a user gives instead.
pub fn load(
    claims: Option<&Path>,
    pins: Option<&Path>,
) -> Result<(ClaimsFile, PinsFile, Results), ClaimsError> {
    let c: ClaimsFile = match claims {
        Some(p) => super::read_yaml(p)?,
        None => parse(CLAIMS_YAML, "the embedded claims.yaml")?,
    };
    let p: PinsFile = match pins {
        Some(p) => super::read_yaml(p)?,
        None => parse(PINS_YAML, "the embedded pins.yaml")?,
    };
    let paper: Results = parse(PAPER_YAML, "the embedded paper_table1.yaml")?;
    Ok((c, p, paper))
}
