//! Property tests of the decoders: corrupted, truncated or arbitrary bytes in any format
//! give `Ok` or a `DataError` naming the file, never a panic; valid images round-trip.

use std::path::Path;

use proptest::prelude::*;
use sarxai::data::decode::{decode_bytes, FileFormat};
use sarxai::data::encode;
use sarxai::data::DataError;

/// One valid file of each kind the decoders support.
fn corpus() -> Vec<(FileFormat, Vec<u8>)> {
    let ramp: Vec<f32> = (0..24 * 20).map(|i| (i % 97) as f32 * 3.5).collect();
    let band2: Vec<f32> = ramp.iter().map(|v| v * 0.5).collect();
    let u8s: Vec<u8> = (0..24 * 20).map(|i| (i * 7 % 256) as u8).collect();
    let u16s: Vec<u16> = (0..24 * 20).map(|i| (i * 131 % 65536) as u16).collect();
    let mut jpeg = Vec::new();
    image::ImageEncoder::write_image(
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90),
        &u8s,
        24,
        20,
        image::ExtendedColorType::L8,
    )
    .unwrap();
    vec![
        (FileFormat::Tiff, encode::tiff_f32(24, 20, &ramp).unwrap()),
        (
            FileFormat::Tiff,
            encode::tiff_raw(
                24,
                20,
                &[ramp.clone(), band2.clone()],
                encode::RawSample::F32,
                false,
            ),
        ),
        (
            FileFormat::Tiff,
            encode::tiff_raw(24, 20, &[ramp.clone(), band2], encode::RawSample::U16, true),
        ),
        (FileFormat::Png, encode::png_gray8(24, 20, &u8s).unwrap()),
        (FileFormat::Png, encode::png_gray16(24, 20, &u16s).unwrap()),
        (FileFormat::Jpeg, jpeg),
        (FileFormat::Npy, encode::npy_f32(&[20, 24], &ramp)),
        (
            FileFormat::Npy,
            encode::npy_f32(&[2, 20, 24], &[ramp.clone(), ramp].concat()),
        ),
    ]
}

fn check(bytes: &[u8], format: FileFormat) {
    match decode_bytes(bytes, format, Path::new("fuzz.input")) {
        Ok(img) => {
            assert!(img.width > 0 && img.height > 0 && !img.bands.is_empty());
            assert!(img.bands.iter().all(|b| b.len() == img.width * img.height));
        }
        Err(e) => {
            assert!(matches!(e, DataError::Decode { .. }), "{e:?}");
            assert!(e.to_string().contains("fuzz.input"));
        }
    }
}

#[test]
fn the_corpus_decodes() {
    for (f, bytes) in corpus() {
        let img = decode_bytes(&bytes, f, Path::new("corpus")).unwrap();
        assert_eq!((img.width, img.height), (24, 20), "{f:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn truncated_files_never_panic(which in 0usize..8, cut in 0.0f64..1.0) {
        let (f, bytes) = corpus().swap_remove(which);
        let n = (bytes.len() as f64 * cut) as usize;
        check(&bytes[..n], f);
    }

    #[test]
    fn corrupted_bytes_never_panic(
        which in 0usize..8,
        edits in proptest::collection::vec((0.0f64..1.0, any::<u8>()), 1..24),
    ) {
        let (f, mut bytes) = corpus().swap_remove(which);
        for (pos, val) in edits {
            let i = ((bytes.len() - 1) as f64 * pos) as usize;
            bytes[i] = val;
        }
        check(&bytes, f);
    }

    #[test]
    fn header_corruption_never_panics(
        which in 0usize..8,
        edits in proptest::collection::vec((0usize..160, any::<u8>()), 1..8),
    ) {
        // Concentrated on the first bytes, where sizes and offsets live.
        let (f, mut bytes) = corpus().swap_remove(which);
        for (pos, val) in edits {
            let i = pos.min(bytes.len() - 1);
            bytes[i] = val;
        }
        check(&bytes, f);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512), fmt in 0usize..4) {
        let f = [FileFormat::Tiff, FileFormat::Png, FileFormat::Jpeg, FileFormat::Npy][fmt];
        check(&bytes, f);
        // With a valid magic number in front, the parsers go further.
        let magic: &[u8] = match f {
            FileFormat::Tiff => b"II*\0",
            FileFormat::Png => b"\x89PNG\r\n\x1a\n",
            FileFormat::Jpeg => b"\xff\xd8\xff\xe0",
            FileFormat::Npy => b"\x93NUMPY\x01\x00",
        };
        check(&[magic, &bytes].concat(), f);
    }

    #[test]
    fn valid_images_round_trip(w in 1usize..40, h in 1usize..40, seed in any::<u32>()) {
        let data: Vec<f32> = (0..w * h)
            .map(|i| ((i as u32).wrapping_mul(2654435761) ^ seed) as f32 / 1e6)
            .collect();
        let t = decode_bytes(&encode::tiff_f32(w, h, &data).unwrap(), FileFormat::Tiff, Path::new("t")).unwrap();
        prop_assert_eq!(&t.bands[0], &data);
        let planar = encode::tiff_raw(w, h, &[data.clone(), data.clone()], encode::RawSample::F32, true);
        let p = decode_bytes(&planar, FileFormat::Tiff, Path::new("p")).unwrap();
        prop_assert_eq!(&p.bands[1], &data);
        let v16: Vec<u16> = data.iter().map(|v| (*v as u32 % 65536) as u16).collect();
        let png = decode_bytes(&encode::png_gray16(w, h, &v16).unwrap(), FileFormat::Png, Path::new("g")).unwrap();
        prop_assert_eq!(png.bands[0].clone(), v16.iter().map(|&v| v as f32).collect::<Vec<_>>());
        if w > 4 && h > 4 {
            let n = decode_bytes(&encode::npy_f32(&[h, w], &data), FileFormat::Npy, Path::new("n")).unwrap();
            prop_assert_eq!(&n.bands[0], &data);
        }
    }
}
