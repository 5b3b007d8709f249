//! The pprof wire format: the messages of profile.proto
//! (`github.com/google/pprof/proto/profile.proto`, package `perftools.profiles`) as
//! hand-written prost messages (no build script, no protoc; field numbers are quoted from the
//! proto in the comments), their checked accessors, and [`gunzip`] for the gzip envelope
//! `net/http/pprof` sends.
//!
//! Owns bytes → messages only: what a stack or a heap site is belongs to
//! [`super::symbolize`], [`super::goroutine`] and [`super::heap`]. Every read through an index
//! (string table, sample value) is checked and fails with a [`PprofError`], never a panic.

use super::PprofError;
use std::borrow::Cow;
use std::io::Read;

/// Upper bound on the un-gzipped size of a profile. Real profiles are kilobytes to a few
/// megabytes; the cap stops a gzip bomb from exhausting memory.
pub const MAX_DECODED_BYTES: u64 = 256 << 20;

/// Un-gzips a profile body (all members of a multi-member stream), refusing more than
/// [`MAX_DECODED_BYTES`] of output.
pub(super) fn gunzip(bytes: &[u8]) -> Result<Vec<u8>, PprofError> {
    let mut raw = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .take(MAX_DECODED_BYTES + 1)
        .read_to_end(&mut raw)
        .map_err(PprofError::Gunzip)?;
    if raw.len() as u64 > MAX_DECODED_BYTES {
        return Err(PprofError::TooLarge {
            limit: MAX_DECODED_BYTES,
        });
    }
    Ok(raw)
}

/// `message Profile`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Profile {
    /// `repeated ValueType sample_type = 1;`
    #[prost(message, repeated, tag = "1")]
    pub sample_type: Vec<ValueType>,
    /// `repeated Sample sample = 2;`
    #[prost(message, repeated, tag = "2")]
    pub sample: Vec<Sample>,
    /// `repeated Mapping mapping = 3;`
    #[prost(message, repeated, tag = "3")]
    pub mapping: Vec<Mapping>,
    /// `repeated Location location = 4;`
    #[prost(message, repeated, tag = "4")]
    pub location: Vec<Location>,
    /// `repeated Function function = 5;`
    #[prost(message, repeated, tag = "5")]
    pub function: Vec<Function>,
    /// `repeated string string_table = 6;` — kept as bytes so that a non-UTF-8 string (Go
    /// strings need not be UTF-8, e.g. pprof label values) does not fail the whole decode.
    #[prost(bytes = "vec", repeated, tag = "6")]
    pub string_table: Vec<Vec<u8>>,
    /// `int64 drop_frames = 7;` (string index)
    #[prost(int64, tag = "7")]
    pub drop_frames: i64,
    /// `int64 keep_frames = 8;` (string index)
    #[prost(int64, tag = "8")]
    pub keep_frames: i64,
    /// `int64 time_nanos = 9;`
    #[prost(int64, tag = "9")]
    pub time_nanos: i64,
    /// `int64 duration_nanos = 10;`
    #[prost(int64, tag = "10")]
    pub duration_nanos: i64,
    /// `ValueType period_type = 11;`
    #[prost(message, optional, tag = "11")]
    pub period_type: Option<ValueType>,
    /// `int64 period = 12;`
    #[prost(int64, tag = "12")]
    pub period: i64,
    /// `repeated int64 comment = 13;` (string indices)
    #[prost(int64, repeated, tag = "13")]
    pub comment: Vec<i64>,
    /// `int64 default_sample_type = 14;` (string index)
    #[prost(int64, tag = "14")]
    pub default_sample_type: i64,
    /// `int64 doc_url = 15;` (string index)
    #[prost(int64, tag = "15")]
    pub doc_url: i64,
}

/// `message ValueType`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ValueType {
    /// `int64 type = 1;` (string index)
    #[prost(int64, tag = "1")]
    pub r#type: i64,
    /// `int64 unit = 2;` (string index)
    #[prost(int64, tag = "2")]
    pub unit: i64,
}

/// `message Sample`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Sample {
    /// `repeated uint64 location_id = 1;` — innermost (leaf) first.
    #[prost(uint64, repeated, tag = "1")]
    pub location_id: Vec<u64>,
    /// `repeated int64 value = 2;` — one per `Profile.sample_type`.
    #[prost(int64, repeated, tag = "2")]
    pub value: Vec<i64>,
    /// `repeated Label label = 3;`
    #[prost(message, repeated, tag = "3")]
    pub label: Vec<Label>,
}

/// `message Label`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Label {
    /// `int64 key = 1;` (string index)
    #[prost(int64, tag = "1")]
    pub key: i64,
    /// `int64 str = 2;` (string index)
    #[prost(int64, tag = "2")]
    pub str: i64,
    /// `int64 num = 3;`
    #[prost(int64, tag = "3")]
    pub num: i64,
    /// `int64 num_unit = 4;` (string index)
    #[prost(int64, tag = "4")]
    pub num_unit: i64,
}

/// `message Mapping`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Mapping {
    /// `uint64 id = 1;`
    #[prost(uint64, tag = "1")]
    pub id: u64,
    /// `uint64 memory_start = 2;`
    #[prost(uint64, tag = "2")]
    pub memory_start: u64,
    /// `uint64 memory_limit = 3;`
    #[prost(uint64, tag = "3")]
    pub memory_limit: u64,
    /// `uint64 file_offset = 4;`
    #[prost(uint64, tag = "4")]
    pub file_offset: u64,
    /// `int64 filename = 5;` (string index)
    #[prost(int64, tag = "5")]
    pub filename: i64,
    /// `int64 build_id = 6;` (string index)
    #[prost(int64, tag = "6")]
    pub build_id: i64,
    /// `bool has_functions = 7;`
    #[prost(bool, tag = "7")]
    pub has_functions: bool,
    /// `bool has_filenames = 8;`
    #[prost(bool, tag = "8")]
    pub has_filenames: bool,
    /// `bool has_line_numbers = 9;`
    #[prost(bool, tag = "9")]
    pub has_line_numbers: bool,
    /// `bool has_inline_frames = 10;`
    #[prost(bool, tag = "10")]
    pub has_inline_frames: bool,
}

/// `message Location`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Location {
    /// `uint64 id = 1;`
    #[prost(uint64, tag = "1")]
    pub id: u64,
    /// `uint64 mapping_id = 2;`
    #[prost(uint64, tag = "2")]
    pub mapping_id: u64,
    /// `uint64 address = 3;`
    #[prost(uint64, tag = "3")]
    pub address: u64,
    /// `repeated Line line = 4;` — innermost first: the last entry is the caller into which
    /// the preceding entries were inlined.
    #[prost(message, repeated, tag = "4")]
    pub line: Vec<Line>,
    /// `bool is_folded = 5;`
    #[prost(bool, tag = "5")]
    pub is_folded: bool,
}

/// `message Line`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Line {
    /// `uint64 function_id = 1;`
    #[prost(uint64, tag = "1")]
    pub function_id: u64,
    /// `int64 line = 2;`
    #[prost(int64, tag = "2")]
    pub line: i64,
    /// `int64 column = 3;`
    #[prost(int64, tag = "3")]
    pub column: i64,
}

/// `message Function`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Function {
    /// `uint64 id = 1;`
    #[prost(uint64, tag = "1")]
    pub id: u64,
    /// `int64 name = 2;` (string index)
    #[prost(int64, tag = "2")]
    pub name: i64,
    /// `int64 system_name = 3;` (string index)
    #[prost(int64, tag = "3")]
    pub system_name: i64,
    /// `int64 filename = 4;` (string index)
    #[prost(int64, tag = "4")]
    pub filename: i64,
    /// `int64 start_line = 5;`
    #[prost(int64, tag = "5")]
    pub start_line: i64,
}

impl Profile {
    /// The string at `index` in the string table (lossily UTF-8).
    pub fn string(&self, index: i64) -> Result<Cow<'_, str>, PprofError> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.string_table.get(i))
            .map(|b| String::from_utf8_lossy(b))
            .ok_or(PprofError::BadStringIndex(index))
    }

    /// The index in `sample_type` (and so in each `Sample.value`) of the type named `name`.
    pub fn sample_type_index(&self, name: &str) -> Result<Option<usize>, PprofError> {
        for (i, vt) in self.sample_type.iter().enumerate() {
            if self.string(vt.r#type)? == name {
                return Ok(Some(i));
            }
        }
        Ok(None)
    }

    /// The names of the sample types, in order.
    pub fn sample_type_names(&self) -> Result<Vec<String>, PprofError> {
        self.sample_type
            .iter()
            .map(|vt| self.string(vt.r#type).map(Cow::into_owned))
            .collect()
    }
}

impl Sample {
    /// The value at `index` (one per sample type), as a count or size: missing or negative
    /// values are errors naming `what` was read.
    pub(super) fn value_at(&self, index: usize, what: &str) -> Result<u64, PprofError> {
        let v = *self.value.get(index).ok_or(PprofError::MissingValue {
            index,
            len: self.value.len(),
        })?;
        u64::try_from(v).map_err(|_| PprofError::NegativeValue {
            what: what.to_string(),
            value: v,
        })
    }
}

/// Sum over all samples of the value of the sample type named `type_name`; `None` if the
/// profile has no such type (or its string table is broken). Saturates instead of
/// overflowing; samples too short to hold the value count as zero.
pub fn sample_total(p: &Profile, type_name: &str) -> Option<i64> {
    let idx = p.sample_type_index(type_name).ok()??;
    Some(p.sample.iter().fold(0i64, |acc, s| {
        acc.saturating_add(s.value.get(idx).copied().unwrap_or(0))
    }))
}
