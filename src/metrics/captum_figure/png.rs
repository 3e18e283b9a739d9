//! Step 7 of the module docs: the PNG file as matplotlib's `savefig` -> Pillow writes
//! it (chunks, adaptive row filters, classic-zlib deflate).

use super::{CaptumFigure, Raster};

impl CaptumFigure {
    /// matplotlib + Pillow PNG bytes of a raster (step 7 of the module docs).
    pub fn encode_png(&self, raster: &Raster) -> Vec<u8> {
        let mut out = Vec::with_capacity(raster.rgba.len() / 8);
        out.extend_from_slice(b"\x89PNG\r\n\x1a\n");
        let mut ihdr = Vec::with_capacity(13);
        ihdr.extend_from_slice(&(raster.width as u32).to_be_bytes());
        ihdr.extend_from_slice(&(raster.height as u32).to_be_bytes());
        ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
        png_chunk(&mut out, b"IHDR", &ihdr);
        let text = format!(
            "Software\0Matplotlib version{}, https://matplotlib.org/",
            self.matplotlib_version
        );
        png_chunk(&mut out, b"tEXt", text.as_bytes());
        let ppm = (self.dpi / 0.0254 + 0.5) as u32;
        let mut phys = Vec::with_capacity(9);
        phys.extend_from_slice(&ppm.to_be_bytes());
        phys.extend_from_slice(&ppm.to_be_bytes());
        phys.push(1);
        png_chunk(&mut out, b"pHYs", &phys);
        let z = pillow_zip_encode(&raster.rgba, raster.width, raster.height);
        // ImageFile._save: bufsize = max(65536, width * 4); one IDAT per encoder call
        let bufsize = 65536.max(raster.width * 4);
        for part in z.chunks(bufsize) {
            png_chunk(&mut out, b"IDAT", part);
        }
        png_chunk(&mut out, b"IEND", &[]);
        out
    }
}

fn crc32(data: &[&[u8]]) -> u32 {
    let mut c = unsafe { libz_sys::crc32(0, std::ptr::null(), 0) };
    for d in data {
        c = unsafe { libz_sys::crc32(c, d.as_ptr(), d.len() as libz_sys::uInt) };
    }
    c as u32
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc32(&[kind, data]).to_be_bytes());
}

/// Pillow `ImagingZipEncode` (ZIP_PNG, optimize off): adaptive filter per row and
/// a zlib stream (level 6, windowBits 15, memLevel 9, Z_FILTERED).
pub fn pillow_zip_encode(rgba: &[u8], width: usize, height: usize) -> Vec<u8> {
    let bytes = width * 4;
    let bpp = 4usize;
    let cost = |v: u8| -> i64 {
        if v < 128 {
            v as i64
        } else {
            256 - v as i64
        }
    };
    let mut prev = vec![0u8; bytes + 1];
    let mut cur = vec![0u8; bytes + 1];
    let mut up = vec![2u8; bytes + 1];
    let mut sub = vec![1u8; bytes + 1];
    let mut paeth = vec![4u8; bytes + 1];
    let mut z = Deflater::new();
    for y in 0..height {
        cur[0] = 0;
        cur[1..].copy_from_slice(&rgba[y * bytes..(y + 1) * bytes]);
        let mut sum: i64 = cur[1..].iter().map(|&v| cost(v)).sum();
        let mut choice = 0u8;
        if sum > 0 {
            let mut s = 0;
            for i in 1..=bytes {
                let v = cur[i].wrapping_sub(prev[i]);
                up[i] = v;
                s += cost(v);
            }
            if s < sum {
                choice = 2;
                sum = s;
            }
        }
        if sum > 0 {
            let mut s = 0;
            for i in 1..=bytes {
                let v = if i <= bpp {
                    cur[i]
                } else {
                    cur[i].wrapping_sub(cur[i - bpp])
                };
                sub[i] = v;
                s += cost(v);
            }
            if s < sum {
                choice = 1;
                sum = s;
            }
        }
        if sum > 0 {
            let mut s = 0;
            for i in 1..=bytes {
                let v = if i <= bpp {
                    cur[i].wrapping_sub(prev[i])
                } else {
                    let a = cur[i - bpp] as i32;
                    let b = prev[i] as i32;
                    let c = prev[i - bpp] as i32;
                    let pa = (b - c).abs();
                    let pb = (a - c).abs();
                    let pc = (a + b - 2 * c).abs();
                    let pred = if pa <= pb && pa <= pc {
                        a
                    } else if pb <= pc {
                        b
                    } else {
                        c
                    };
                    cur[i].wrapping_sub(pred as u8)
                };
                paeth[i] = v;
                s += cost(v);
            }
            if s < sum {
                choice = 4;
            }
        }
        let line: &[u8] = match choice {
            0 => &cur,
            1 => &sub,
            2 => &up,
            _ => &paeth,
        };
        z.feed(line);
        std::mem::swap(&mut prev, &mut cur);
    }
    z.finish()
}

/// Minimal safe wrapper over classic zlib's deflate (libz-sys).
struct Deflater {
    strm: Box<libz_sys::z_stream>,
    out: Vec<u8>,
}

impl Deflater {
    fn new() -> Self {
        // zlib needs zalloc/zfree; the Rust binding types them as non-null function
        // pointers, so supply calloc/free instead of Z_NULL.
        extern "C" {
            fn calloc(n: usize, size: usize) -> *mut std::ffi::c_void;
            fn free(p: *mut std::ffi::c_void);
        }
        extern "C" fn zalloc(
            _: libz_sys::voidpf,
            items: libz_sys::uInt,
            size: libz_sys::uInt,
        ) -> libz_sys::voidpf {
            unsafe { calloc(items as usize, size as usize) }
        }
        extern "C" fn zfree(_: libz_sys::voidpf, p: libz_sys::voidpf) {
            unsafe { free(p) }
        }
        let mut uninit = Box::new(std::mem::MaybeUninit::<libz_sys::z_stream>::zeroed());
        let mut strm: Box<libz_sys::z_stream> = unsafe {
            let p = uninit.as_mut_ptr();
            std::ptr::addr_of_mut!((*p).zalloc).write(zalloc);
            std::ptr::addr_of_mut!((*p).zfree).write(zfree);
            Box::from_raw(Box::into_raw(uninit) as *mut libz_sys::z_stream)
        };
        let ret = unsafe {
            libz_sys::deflateInit2_(
                &mut *strm,
                -1, // Z_DEFAULT_COMPRESSION (= 6)
                libz_sys::Z_DEFLATED,
                15,
                9,
                libz_sys::Z_FILTERED,
                libz_sys::zlibVersion(),
                std::mem::size_of::<libz_sys::z_stream>() as i32,
            )
        };
        assert_eq!(ret, libz_sys::Z_OK, "deflateInit2 failed");
        Deflater {
            strm,
            out: Vec::new(),
        }
    }

    fn run(&mut self, input: &[u8], flush: i32) {
        self.strm.next_in = input.as_ptr() as *mut u8;
        self.strm.avail_in = input.len() as libz_sys::uInt;
        let mut buf = [0u8; 65536];
        loop {
            self.strm.next_out = buf.as_mut_ptr();
            self.strm.avail_out = buf.len() as libz_sys::uInt;
            let ret = unsafe { libz_sys::deflate(&mut *self.strm, flush) };
            assert!(
                ret >= 0 || ret == libz_sys::Z_BUF_ERROR,
                "deflate failed: {ret}"
            );
            let n = buf.len() - self.strm.avail_out as usize;
            self.out.extend_from_slice(&buf[..n]);
            if flush == libz_sys::Z_FINISH {
                if ret == libz_sys::Z_STREAM_END {
                    break;
                }
            } else if self.strm.avail_in == 0 && self.strm.avail_out != 0 {
                break;
            }
        }
    }

    fn feed(&mut self, input: &[u8]) {
        self.run(input, libz_sys::Z_NO_FLUSH);
    }

    fn finish(mut self) -> Vec<u8> {
        self.run(&[], libz_sys::Z_FINISH);
        std::mem::take(&mut self.out)
    }
}

impl Drop for Deflater {
    fn drop(&mut self) {
        unsafe {
            libz_sys::deflateEnd(&mut *self.strm);
        }
    }
}
