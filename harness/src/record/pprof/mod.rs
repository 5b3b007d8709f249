//! Decoding Go pprof profiles into the trace schema ([`StackGroup`](crate::sample::StackGroup),
//! [`HeapSite`](crate::sample::HeapSite)).
//!
//! This module owns the pprof wire format: gzipped protobuf (`perftools.profiles.Profile`,
//! profile.proto), as served by `net/http/pprof` — which sends the gzip bytes with *no*
//! `Content-Encoding` header, so nothing upstream un-gzips them. [`decode`] sniffs the gzip
//! magic (`1f 8b`) and gunzips itself; un-gzipped protobuf is accepted as is. The message
//! structs are hand-written prost messages (no build script, no protoc).
//!
//! It does no I/O: callers hand in bytes. It never panics on garbage input: every index into
//! the string table, location table or function table is checked, and every failure is a
//! [`PprofError`].
//!
//! One concept per file: `wire` (the profile.proto messages and the gzip envelope),
//! `symbolize` (location and function ids → frame names), `goroutine` ([`stack_groups`] of
//! `goroutine` and `goroutineleak` profiles, with site and wait reason) and `heap`
//! ([`heap_sites`]: in-use heap by allocation site). This file holds [`decode`] and the one
//! error type, [`PprofError`]; the public items of the others are re-exported here, so
//! callers name them `pprof::...` whatever file they live in.

mod goroutine;
mod heap;
mod symbolize;
#[cfg(test)]
mod testkit;
mod wire;

pub use goroutine::{blocking_site, is_blocking_frame, stack_groups, wait_reason};
pub use heap::{alloc_site, heap_sites, is_runtime_frame, OTHER_SITE};
use wire::gunzip;
pub use wire::{
    sample_total, Function, Label, Line, Location, Mapping, Profile, Sample, ValueType,
    MAX_DECODED_BYTES,
};

/// Why a profile could not be decoded or interpreted.
#[derive(Debug, thiserror::Error)]
pub enum PprofError {
    #[error("gunzip failed: {0}")]
    Gunzip(#[source] std::io::Error),
    #[error("profile is larger than {limit} bytes once un-gzipped")]
    TooLarge { limit: u64 },
    #[error("protobuf decode failed: {0}")]
    Decode(#[from] prost::DecodeError),
    #[error("profile has no sample type {0:?}")]
    MissingSampleType(String),
    #[error("string index {0} is outside the string table")]
    BadStringIndex(i64),
    #[error("sample refers to location id {0}, which is not in the profile")]
    MissingLocation(u64),
    #[error("location refers to function id {0}, which is not in the profile")]
    MissingFunction(u64),
    #[error("sample has {len} values; sample type index {index} is out of range")]
    MissingValue { index: usize, len: usize },
    #[error("negative {what} value {value} in a sample")]
    NegativeValue { what: String, value: i64 },
    #[error("malformed profile: {0}")]
    Malformed(String),
}

/// Decodes a profile: gzipped protobuf (sniffed by the gzip magic) or plain protobuf.
pub fn decode(bytes: &[u8]) -> Result<Profile, PprofError> {
    let profile = if bytes.starts_with(&[0x1f, 0x8b]) {
        <Profile as prost::Message>::decode(gunzip(bytes)?.as_slice())?
    } else {
        <Profile as prost::Message>::decode(bytes)?
    };
    if profile.string_table.first().is_some_and(|s| !s.is_empty()) {
        return Err(PprofError::Malformed(
            "string_table[0] is not the empty string".into(),
        ));
    }
    Ok(profile)
}

#[cfg(test)]
mod tests {
    use super::testkit::{self, synth, GOROUTINE, GOROUTINE_LEAK, HEAP};
    use super::*;
    use prost::Message;

    #[test]
    fn ungzipped_input() {
        for gz in [GOROUTINE, GOROUTINE_LEAK, HEAP] {
            let raw = testkit::gunzip(gz);
            assert_ne!(raw[..2], [0x1f, 0x8b]);
            assert_eq!(decode(&raw).unwrap(), decode(gz).unwrap());
        }
    }

    #[test]
    fn empty_input_is_an_empty_profile() {
        let p = decode(&[]).unwrap();
        assert_eq!(p, Profile::default());
        assert!(stack_groups(&p).is_err());
        assert!(heap_sites(&p, 5).is_err());
        assert_eq!(sample_total(&p, "goroutine"), None);
    }

    #[test]
    fn string_table_must_start_empty() {
        let mut p = synth(&[(1, vec![vec!["main.f"]])]);
        p.string_table[0] = b"x".to_vec();
        assert!(matches!(
            decode(&p.encode_to_vec()),
            Err(PprofError::Malformed(_))
        ));
    }

    /// xorshift64*: deterministic pseudo-random bytes without a dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn bytes(&mut self, n: usize) -> Vec<u8> {
            (0..n).map(|_| self.next() as u8).collect()
        }
    }

    /// Runs everything on `b`; the point is that nothing panics.
    fn exercise(b: &[u8]) {
        if let Ok(p) = decode(b) {
            let _ = stack_groups(&p);
            let _ = heap_sites(&p, 3);
            let _ = sample_total(&p, "inuse_space");
            let _ = p.sample_type_names();
        }
    }

    #[test]
    fn garbage_does_not_panic() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for i in 0..3000 {
            let n = (rng.next() % 512) as usize;
            let mut b = rng.bytes(n);
            if i % 3 == 0 && b.len() >= 2 {
                b[0] = 0x1f; // gzip magic + garbage
                b[1] = 0x8b;
            }
            exercise(&b);
        }
        assert!(matches!(
            decode(&[0x1f, 0x8b, 1, 2, 3, 4]),
            Err(PprofError::Gunzip(_))
        ));
        assert!(matches!(
            decode(&[0xff, 0xff, 0xff]),
            Err(PprofError::Decode(_))
        ));
    }

    #[test]
    fn truncated_and_corrupted_profiles_do_not_panic() {
        let mut rng = Rng(42);
        for gz in [GOROUTINE, GOROUTINE_LEAK, HEAP] {
            let raw = testkit::gunzip(gz);
            for cut in 0..gz.len() {
                exercise(&gz[..cut]);
            }
            // Truncated gzip streams are an error, not a silently short profile.
            assert!(decode(&gz[..gz.len() / 2]).is_err());
            for cut in (0..raw.len()).step_by(7) {
                exercise(&raw[..cut]);
            }
            for _ in 0..500 {
                let mut b = raw.clone();
                for _ in 0..1 + rng.next() % 4 {
                    let i = (rng.next() as usize) % b.len();
                    b[i] = rng.next() as u8;
                }
                exercise(&b);
            }
        }
    }
}
