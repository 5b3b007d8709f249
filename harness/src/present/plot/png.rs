//! A minimal PNG encoder for 8-bit RGB pixels, so charts become bytes in memory (plotters'
//! bitmap encoder only writes to a path). Format: the signature, then chunks `IHDR`, one
//! `IDAT` (zlib of every scanline prefixed by filter type 0) and `IEND`, each chunk being
//! length (u32 BE), type, data, CRC-32 of type and data (PNG spec, ISO/IEC 15948 §5).

use flate2::write::ZlibEncoder;
use flate2::{Compression, Crc};
use std::io::Write;

/// Encodes `w × h` RGB pixels (`rgb.len() == w·h·3`, rows top to bottom).
pub fn encode_rgb(w: u32, h: u32, rgb: &[u8]) -> Vec<u8> {
    assert_eq!(rgb.len(), (w * h * 3) as usize, "pixel buffer size");
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    // Bit depth 8, colour type 2 (RGB), deflate, adaptive filtering, no interlace.
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    let mut z = ZlibEncoder::new(Vec::new(), Compression::default());
    for row in rgb.chunks_exact((w * 3) as usize) {
        z.write_all(&[0])
            .and_then(|_| z.write_all(row))
            .expect("writing to memory");
    }
    chunk(&mut out, b"IDAT", &z.finish().expect("writing to memory"));
    chunk(&mut out, b"IEND", &[]);
    out
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = Crc::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_decode_back_to_the_pixels() {
        let px = [255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9];
        let p = encode_rgb(2, 2, &px);
        // IHDR's CRC for a 2×2 RGB image, as computed by libpng.
        assert_eq!(&p[29..33], &[0xfd, 0xd4, 0x9a, 0x73]);
        let idat_len = u32::from_be_bytes(p[33..37].try_into().unwrap()) as usize;
        assert_eq!(&p[37..41], b"IDAT");
        let mut d = flate2::read::ZlibDecoder::new(&p[41..41 + idat_len]);
        let mut raw = Vec::new();
        std::io::Read::read_to_end(&mut d, &mut raw).unwrap();
        assert_eq!(raw, [0, 255, 0, 0, 0, 255, 0, 0, 0, 0, 255, 9, 9, 9]);
        assert!(p.ends_with(&[0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xae, 0x42, 0x60, 0x82]));
    }
}
