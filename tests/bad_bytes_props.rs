//! Fuzz-style properties of every reader of user files that `data_decode_props.rs` does not
//! cover (TIFF, PNG, JPEG and image .npy are there): the validating .npy reader of the
//! command line, safetensors checkpoints (model weights and training checkpoints) and YAML
//! configurations. Arbitrary bytes and a truncation at every offset of a valid file give a
//! named error, never a panic and never a value made up from missing bytes.

use std::path::Path;

use proptest::prelude::*;
use sarxai::model::{self, Arch, ModelError, ResNet, ResNetConfig};
use sarxai::npy::{self, Expect, NpyError, NpyValues};
use sarxai::train::TrainConfig;
use tch::Device;

fn valid_npy() -> Vec<u8> {
    let v: Vec<f32> = (0..2 * 3 * 4).map(|i| i as f32 * 0.25 - 1.0).collect();
    npy::encode(&[2, 1, 3, 4], &NpyValues::F32(v))
}

fn check_npy(bytes: &[u8]) {
    match npy::decode(bytes, Path::new("fuzz.npy"), &Expect::IMAGES) {
        Ok(a) => {
            // Only a well-formed file decodes, and it holds exactly what its header says.
            let n: u64 = a.shape.iter().product();
            let NpyValues::F32(v) = &a.values else {
                panic!("images decode as float")
            };
            assert_eq!(v.len() as u64, n);
            assert!(v.iter().all(|x| x.is_finite()));
        }
        Err(e) => assert!(e.to_string().contains("fuzz.npy"), "{e}"),
    }
}

/// A valid .npy cut at every offset: a header or truncation error naming the file.
#[test]
fn npy_every_truncation_is_a_named_error() {
    let bytes = valid_npy();
    assert!(npy::decode(&bytes, Path::new("ok.npy"), &Expect::IMAGES).is_ok());
    for cut in 0..bytes.len() {
        let e = npy::decode(&bytes[..cut], Path::new("fuzz.npy"), &Expect::IMAGES).unwrap_err();
        assert!(
            matches!(e, NpyError::Header { .. } | NpyError::Truncated { .. }),
            "cut {cut}: {e}"
        );
        assert!(e.to_string().contains("fuzz.npy"), "{e}");
    }
}

/// A ResNet-18 checkpoint (1 channel, 2 classes), made once.
fn valid_safetensors() -> &'static [u8] {
    static BYTES: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BYTES.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        tch::manual_seed(1);
        let m = ResNet::new(
            ResNetConfig::new(Arch::Resnet18, 1, 2).unwrap(),
            Device::Cpu,
        );
        let p = dir.path().join("w.safetensors");
        model::save(&m, &p).unwrap();
        std::fs::read(&p).unwrap()
    })
}

fn check_safetensors(dir: &Path, bytes: &[u8]) -> Result<(), ModelError> {
    let p = dir.join("fuzz.safetensors");
    std::fs::write(&p, bytes).unwrap();
    let info = model::inspect(&p);
    let loaded = model::load(&p, None, Device::Cpu);
    let ckpt = sarxai::train::checkpoint::load(&p);
    for e in [info.as_ref().err(), loaded.as_ref().err()]
        .into_iter()
        .flatten()
    {
        assert!(e.to_string().contains("fuzz.safetensors"), "{e}");
    }
    if let Err(e) = &ckpt {
        assert!(e.contains("fuzz.safetensors"), "{e}");
    }
    loaded.map(|_| ())
}

/// A checkpoint cut at every offset of its header and through its payload: `model info`, model load
/// and training-checkpoint load refuse it, naming the file.
#[test]
fn safetensors_every_truncation_of_the_header_and_payload_is_a_named_error() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = valid_safetensors();
    check_safetensors(dir.path(), bytes).unwrap();
    let header_end = 8 + u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    // Every offset through the header and a little beyond, then 64 cuts through the
    // payload (each a file of up to 45 MB).
    let stride = (bytes.len() - header_end) / 64 + 1;
    let cuts = (0..header_end + 64).chain((header_end + 64..bytes.len()).step_by(stride));
    for cut in cuts {
        assert!(
            check_safetensors(dir.path(), &bytes[..cut]).is_err(),
            "a checkpoint cut at {cut} of {} loaded",
            bytes.len()
        );
    }
}

fn valid_yaml() -> String {
    "epochs: 3\nbatch_size: 16\nseed: 7\noptimizer:\n  kind: adamw\n  lr: 0.001\n".to_string()
}

fn check_yaml(text: &str) {
    let base = TrainConfig::default();
    if let Err(e) = TrainConfig::from_yaml_over(&base, text, Path::new("fuzz.yaml")) {
        let msg = e.to_string();
        assert!(msg.contains("fuzz.yaml"), "{msg}");
    }
}

/// A training config cut at every offset: a valid config or an error naming the file, never a
/// panic.
#[test]
fn yaml_every_truncation_is_an_error_or_a_valid_config() {
    let text = valid_yaml();
    for cut in 0..=text.len() {
        check_yaml(&text[..cut]);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn npy_arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        check_npy(&bytes);
        check_npy(&[b"\x93NUMPY\x01\x00".as_slice(), &bytes].concat());
    }

    #[test]
    fn npy_corrupted_bytes_never_panic(edits in proptest::collection::vec((0usize..256, any::<u8>()), 1..8)) {
        let mut bytes = valid_npy();
        for (pos, val) in edits {
            let i = pos % bytes.len();
            bytes[i] = val;
        }
        check_npy(&bytes);
    }


    #[test]
    fn yaml_arbitrary_text_never_panics(text in "\\PC{0,80}", edits in proptest::collection::vec((0usize..80, any::<char>()), 0..6)) {
        check_yaml(&text);
        let mut chars: Vec<char> = valid_yaml().chars().collect();
        for (pos, c) in edits {
            let i = pos % chars.len();
            chars[i] = c;
        }
        check_yaml(&chars.into_iter().collect::<String>());
    }
}

proptest! {
    // Each case writes and loads a 45 MB checkpoint.
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn safetensors_arbitrary_and_corrupted_headers_never_panic(
        junk in proptest::collection::vec(any::<u8>(), 0..64),
        edits in proptest::collection::vec((0usize..400, any::<u8>()), 1..6),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let _ = check_safetensors(dir.path(), &junk);
        let mut bytes = valid_safetensors().to_vec();
        for (pos, val) in edits {
            let i = pos.min(bytes.len() - 1);
            bytes[i] = val;
        }
        let _ = check_safetensors(dir.path(), &bytes);
    }
}
