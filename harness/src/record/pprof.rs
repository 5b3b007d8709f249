//! Decoding Go pprof profiles into the trace schema ([`StackGroup`], [`HeapSite`]).
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
//! # Goroutine profiles (`goroutine`, `goroutineleak`)
//!
//! [`stack_groups`] merges samples with identical frame lists (the profile may split one stack
//! over several samples, e.g. by pprof labels) into one [`StackGroup`]. Frames are function
//! names innermost first; inlined calls are expanded (a Location's `line`s are innermost
//! first: "the last entry represents the caller into which the preceding entries were
//! inlined").
//!
//! `site` is the first frame from the top that is neither runtime machinery nor a standard
//! blocking primitive — the place where user code blocks. Skipped (see [`is_blocking_frame`]):
//! `runtime.*`, `internal/*` (which covers `internal/poll`, `internal/sync`,
//! `internal/runtime/*`), `runtime/internal/*`, `sync.runtime_*`, the methods of the `sync`
//! primitives (`sync.(*Mutex).*`, `sync.(*RWMutex).*`, `sync.(*WaitGroup).*`,
//! `sync.(*Cond).*`, `sync.(*Once).*`) and `time.Sleep`. The sync primitives are skipped
//! because every WaitGroup leak in a program would otherwise share the site
//! `sync.(*WaitGroup).Wait`; their identity is kept in `wait` (`sync.WaitGroup`,
//! `sync.Mutex`, ...) instead. Other standard-library frames are *not* skipped: a goroutine in
//! a `select` inside `context.(*cancelCtx).propagateCancel.func2` has that as its site, and
//! one blocked in a network read has a `net.*` site. `runtime/pprof.*` is not runtime
//! machinery either (it starts `runtime/`, not `runtime.`), so the goroutine writing the
//! profile has site `runtime/pprof.writeRuntimeProfile`. If every frame is skipped (system
//! goroutines), the site is the outermost frame other than `runtime.goexit`: the goroutine's
//! entry function.
//!
//! `wait` ([`wait_reason`]) is derived from the skipped top frames: a park frame
//! (`runtime.gopark`/`runtime.goparkunlock`) plus `runtime.chansend` → `chan send`,
//! `runtime.chanrecv` → `chan receive`, `runtime.selectgo`/`runtime.block` → `select`,
//! `runtime.netpollblock`/`internal/poll.*` → `IO wait`, `time.Sleep`/`runtime.timeSleep` →
//! `sleep`, RWMutex/Mutex/WaitGroup/Cond frames → `sync.RWMutex`/`sync.Mutex`/
//! `sync.WaitGroup`/`sync.Cond`, any other semacquire → `sync`, anything else parked →
//! `waiting`. Without a park frame: a syscall frame on top → `syscall`, else `running` (e.g.
//! the goroutine that is writing the profile).
//!
//! Groups are sorted by count descending, then site, then frames, for determinism.
//!
//! # Heap profiles
//!
//! [`heap_sites`] finds the `inuse_space` and `inuse_objects` sample types by name (never by
//! position) and aggregates them by allocation site: the first frame that is not
//! `runtime.*`/`internal/runtime/*`/`runtime/internal/*` (falling back to the innermost frame
//! when all are runtime, as `go tool pprof` shows `runtime.mallocgc`).
//!
//! Values are already scaled. Go's `runtime/pprof/protomem.go` (`writeHeapProto`, read in Go
//! 1.26.8) writes every sample through `scaleHeapSample(count, size, rate)`, which multiplies
//! the sampled count and bytes by `1/(1-exp(-avgSize/rate))` to estimate the unsampled
//! totals, and leaves them unscaled only when `rate <= 1` (every allocation sampled). The
//! profile's `period` field carries the rate. So no further scaling happens here; the numbers
//! are estimates unless `period == 1`. The same writer already strips leading `runtime.*` and
//! `internal/runtime/*` frames from allocation stacks (unless that would leave none), so the
//! site rule here mostly agrees with what Go emits.

use crate::sample::{HeapSite, StackGroup};
use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Read;

/// Upper bound on the un-gzipped size of a profile. Real profiles are kilobytes to a few
/// megabytes; the cap stops a gzip bomb from exhausting memory.
pub const MAX_DECODED_BYTES: u64 = 256 << 20;

/// The site name given to the aggregate of heap sites cut by [`heap_sites`]'s `top`.
pub const OTHER_SITE: &str = "(other)";

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

// ---------------------------------------------------------------------------------------------
// profile.proto (github.com/google/pprof/proto/profile.proto), package perftools.profiles.
// Field numbers are quoted from it in the comments.
// ---------------------------------------------------------------------------------------------

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

/// Decodes a profile: gzipped protobuf (sniffed by the gzip magic) or plain protobuf.
pub fn decode(bytes: &[u8]) -> Result<Profile, PprofError> {
    let profile = if bytes.starts_with(&[0x1f, 0x8b]) {
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
        <Profile as prost::Message>::decode(raw.as_slice())?
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

/// Sum over all samples of the value of the sample type named `type_name`; `None` if the
/// profile has no such type (or its string table is broken). Saturates instead of
/// overflowing; samples too short to hold the value count as zero.
pub fn sample_total(p: &Profile, type_name: &str) -> Option<i64> {
    let idx = p.sample_type_index(type_name).ok()??;
    Some(p.sample.iter().fold(0i64, |acc, s| {
        acc.saturating_add(s.value.get(idx).copied().unwrap_or(0))
    }))
}

/// Resolves location and function ids to frame names.
struct Symbolizer<'a> {
    p: &'a Profile,
    locations: HashMap<u64, &'a Location>,
    functions: HashMap<u64, &'a Function>,
}

impl<'a> Symbolizer<'a> {
    fn new(p: &'a Profile) -> Self {
        Self {
            p,
            locations: p.location.iter().map(|l| (l.id, l)).collect(),
            functions: p.function.iter().map(|f| (f.id, f)).collect(),
        }
    }

    /// Function names of a sample's stack, innermost first, inlined frames expanded.
    fn frames(&self, s: &Sample) -> Result<Vec<String>, PprofError> {
        let mut out = Vec::with_capacity(s.location_id.len());
        for id in &s.location_id {
            let loc = self
                .locations
                .get(id)
                .ok_or(PprofError::MissingLocation(*id))?;
            if loc.line.is_empty() {
                // Unsymbolized: the address is all there is.
                out.push(format!("0x{:x}", loc.address));
                continue;
            }
            for line in &loc.line {
                let f = self
                    .functions
                    .get(&line.function_id)
                    .ok_or(PprofError::MissingFunction(line.function_id))?;
                let mut name = self.p.string(f.name)?;
                if name.is_empty() {
                    name = self.p.string(f.system_name)?;
                }
                out.push(if name.is_empty() {
                    format!("0x{:x}", loc.address)
                } else {
                    name.into_owned()
                });
            }
        }
        Ok(out)
    }
}

fn value_at(s: &Sample, index: usize, what: &str) -> Result<u64, PprofError> {
    let v = *s.value.get(index).ok_or(PprofError::MissingValue {
        index,
        len: s.value.len(),
    })?;
    u64::try_from(v).map_err(|_| PprofError::NegativeValue {
        what: what.to_string(),
        value: v,
    })
}

/// True for frames that are runtime machinery or a standard blocking primitive, skipped when
/// looking for the site where user code blocks (see the module doc).
pub fn is_blocking_frame(name: &str) -> bool {
    name.starts_with("runtime.")
        || name.starts_with("internal/")
        || name.starts_with("runtime/internal/")
        || name.starts_with("sync.runtime_")
        || name.starts_with("sync.(*Mutex).")
        || name.starts_with("sync.(*RWMutex).")
        || name.starts_with("sync.(*WaitGroup).")
        || name.starts_with("sync.(*Cond).")
        || name.starts_with("sync.(*Once).")
        || name == "time.Sleep"
}

/// True for frames that are runtime machinery in an allocation stack.
pub fn is_runtime_frame(name: &str) -> bool {
    name.starts_with("runtime.")
        || name.starts_with("internal/runtime/")
        || name.starts_with("runtime/internal/")
}

/// Where a goroutine with this stack (innermost first) blocks: the first frame that is not
/// [`is_blocking_frame`]; if there is none, the outermost frame other than `runtime.goexit`.
pub fn blocking_site<S: AsRef<str>>(frames: &[S]) -> String {
    frames
        .iter()
        .map(AsRef::as_ref)
        .find(|f| !is_blocking_frame(f))
        .or_else(|| {
            frames
                .iter()
                .rev()
                .map(AsRef::as_ref)
                .find(|f| *f != "runtime.goexit")
        })
        .unwrap_or("(unknown)")
        .to_string()
}

/// The allocation site of a heap stack (innermost first): the first frame that is not
/// [`is_runtime_frame`]; if there is none, the innermost frame.
pub fn alloc_site<S: AsRef<str>>(frames: &[S]) -> String {
    frames
        .iter()
        .map(AsRef::as_ref)
        .find(|f| !is_runtime_frame(f))
        .or_else(|| frames.first().map(AsRef::as_ref))
        .unwrap_or("(unknown)")
        .to_string()
}

/// Why a goroutine with this stack (innermost first) waits, from the runtime and blocking
/// frames at its top (see the module doc for the mapping).
pub fn wait_reason<S: AsRef<str>>(frames: &[S]) -> &'static str {
    let top: Vec<&str> = frames
        .iter()
        .map(AsRef::as_ref)
        .take_while(|f| is_blocking_frame(f))
        .collect();
    let any = |pred: &dyn Fn(&str) -> bool| top.iter().any(|f| pred(f));
    let parked = any(&|f| f == "runtime.gopark" || f == "runtime.goparkunlock");
    if !parked {
        let first = frames.first().map(AsRef::as_ref).unwrap_or("");
        let syscall = [
            "syscall.",
            "internal/runtime/syscall.",
            "runtime/internal/syscall.",
        ]
        .iter()
        .any(|p| first.starts_with(p));
        return if syscall { "syscall" } else { "running" };
    }
    if any(&|f| f == "runtime.chansend") {
        "chan send"
    } else if any(&|f| f == "runtime.chanrecv") {
        "chan receive"
    } else if any(&|f| f == "runtime.selectgo" || f == "runtime.block") {
        "select"
    } else if any(&|f| f == "runtime.netpollblock" || f.starts_with("internal/poll.")) {
        "IO wait"
    } else if any(&|f| f == "time.Sleep" || f == "runtime.timeSleep") {
        "sleep"
    } else if any(&|f| f.contains("(*RWMutex)") || f.contains("SemacquireRWMutex")) {
        "sync.RWMutex"
    } else if any(&|f| f.contains("(*Mutex)") || f.contains("SemacquireMutex")) {
        "sync.Mutex"
    } else if any(&|f| f.contains("(*WaitGroup)") || f.contains("SemacquireWaitGroup")) {
        "sync.WaitGroup"
    } else if any(&|f| f.contains("(*Cond)") || f.contains("notifyListWait")) {
        "sync.Cond"
    } else if any(&|f| f.to_ascii_lowercase().contains("semacquire")) {
        "sync"
    } else {
        "waiting"
    }
}

/// Groups a goroutine or goroutineleak profile by stack. The count is the value of the one
/// sample type (`goroutine/count` or `goroutineleak/count`); with several sample types, the
/// one named `goroutine` or `goroutineleak` is used.
pub fn stack_groups(p: &Profile) -> Result<Vec<StackGroup>, PprofError> {
    let index = if p.sample_type.len() == 1 {
        0
    } else {
        match p.sample_type_index("goroutine")? {
            Some(i) => i,
            None => p
                .sample_type_index("goroutineleak")?
                .ok_or_else(|| PprofError::MissingSampleType("goroutine".into()))?,
        }
    };
    let sym = Symbolizer::new(p);
    let mut counts: HashMap<Vec<String>, u64> = HashMap::new();
    for s in &p.sample {
        let n = value_at(s, index, "goroutine count")?;
        let frames = sym.frames(s)?;
        let c = counts.entry(frames).or_insert(0);
        *c = c.saturating_add(n);
    }
    let mut groups: Vec<StackGroup> = counts
        .into_iter()
        .map(|(frames, count)| StackGroup {
            count,
            wait: wait_reason(&frames).to_string(),
            site: blocking_site(&frames),
            frames,
        })
        .collect();
    groups.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.site.cmp(&b.site))
            .then_with(|| a.frames.cmp(&b.frames))
    });
    Ok(groups)
}

/// In-use heap by allocation site, largest `inuse_bytes` first (ties by site), keeping the
/// `top` largest and aggregating the rest into one [`OTHER_SITE`] entry appended last. Sites
/// with zero in-use bytes and objects are dropped. Values are used as the profile carries
/// them, which Go has already scaled for sampling (see the module doc).
pub fn heap_sites(p: &Profile, top: usize) -> Result<Vec<HeapSite>, PprofError> {
    let space = p
        .sample_type_index("inuse_space")?
        .ok_or_else(|| PprofError::MissingSampleType("inuse_space".into()))?;
    let objects = p
        .sample_type_index("inuse_objects")?
        .ok_or_else(|| PprofError::MissingSampleType("inuse_objects".into()))?;
    let sym = Symbolizer::new(p);
    let mut by_site: HashMap<String, (u64, u64)> = HashMap::new();
    for s in &p.sample {
        let bytes = value_at(s, space, "inuse_space")?;
        let objs = value_at(s, objects, "inuse_objects")?;
        if bytes == 0 && objs == 0 {
            continue;
        }
        let site = alloc_site(&sym.frames(s)?);
        let e = by_site.entry(site).or_insert((0, 0));
        e.0 = e.0.saturating_add(bytes);
        e.1 = e.1.saturating_add(objs);
    }
    let mut sites: Vec<HeapSite> = by_site
        .into_iter()
        .map(|(site, (inuse_bytes, inuse_objects))| HeapSite {
            site,
            inuse_bytes,
            inuse_objects,
        })
        .collect();
    sites.sort_by(|a, b| {
        b.inuse_bytes
            .cmp(&a.inuse_bytes)
            .then_with(|| a.site.cmp(&b.site))
    });
    if sites.len() > top {
        let rest = sites.split_off(top);
        sites.push(HeapSite {
            site: OTHER_SITE.to_string(),
            inuse_bytes: rest
                .iter()
                .fold(0u64, |a, s| a.saturating_add(s.inuse_bytes)),
            inuse_objects: rest
                .iter()
                .fold(0u64, |a, s| a.saturating_add(s.inuse_objects)),
        });
    }
    Ok(sites)
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    // Generated by harness/testdata/pprof/gen (see harness/testdata/pprof/README.md).
    const GOROUTINE: &[u8] = include_bytes!("../../testdata/pprof/goroutine.pb.gz");
    const GOROUTINE_LEAK: &[u8] = include_bytes!("../../testdata/pprof/goroutineleak.pb.gz");
    const HEAP: &[u8] = include_bytes!("../../testdata/pprof/heap.pb.gz");

    fn gunzip(b: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(b)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    fn group<'a>(groups: &'a [StackGroup], site: &str) -> Option<&'a StackGroup> {
        groups.iter().find(|g| g.site == site)
    }

    #[test]
    fn goroutine_profile_groups() {
        let p = decode(GOROUTINE).unwrap();
        assert_eq!(p.sample_type_names().unwrap(), vec!["goroutine"]);
        let g = stack_groups(&p).unwrap();
        let sender = group(&g, "main.blockedSender").unwrap();
        assert_eq!(sender.count, 7);
        assert_eq!(sender.wait, "chan send");
        assert_eq!(
            sender.frames[..4],
            [
                "runtime.gopark",
                "runtime.chansend",
                "runtime.chansend1",
                "main.blockedSender"
            ]
        );
        let recv = group(&g, "main.blockedReceiver").unwrap();
        assert_eq!((recv.count, recv.wait.as_str()), (3, "chan receive"));
        let sel = group(&g, "main.selectForever").unwrap();
        assert_eq!((sel.count, sel.wait.as_str()), (2, "select"));
        // The goroutine writing the profile.
        let me = group(&g, "runtime/pprof.writeRuntimeProfile").unwrap();
        assert_eq!((me.count, me.wait.as_str()), (1, "running"));
        assert!(me.frames.iter().any(|f| f == "main.main"));
        assert_eq!(g.len(), 4);
        // Sorted by count descending.
        let counts: Vec<u64> = g.iter().map(|g| g.count).collect();
        assert_eq!(counts, vec![7, 3, 2, 1]);
        assert_eq!(sample_total(&p, "goroutine"), Some(13));
        assert_eq!(sample_total(&p, "nope"), None);
    }

    #[test]
    fn goroutineleak_profile_lists_only_unreachable() {
        let p = decode(GOROUTINE_LEAK).unwrap();
        assert_eq!(p.sample_type_names().unwrap(), vec!["goroutineleak"]);
        let g = stack_groups(&p).unwrap();
        let sender = group(&g, "main.blockedSender").unwrap();
        assert_eq!((sender.count, sender.wait.as_str()), (7, "chan send"));
        // Receivers and selects block on channels held by globals: reachable, not leaked.
        assert!(group(&g, "main.blockedReceiver").is_none());
        assert!(group(&g, "main.selectForever").is_none());
        assert_eq!(g.len(), 1);
    }

    #[test]
    fn heap_profile_sites() {
        let p = decode(HEAP).unwrap();
        let names = p.sample_type_names().unwrap();
        assert_eq!(
            names,
            vec![
                "alloc_objects",
                "alloc_space",
                "inuse_objects",
                "inuse_space"
            ]
        );
        // MemProfileRate = 1: every allocation sampled, so Go did not scale (rate <= 1).
        assert_eq!(p.period, 1);
        let sites = heap_sites(&p, usize::MAX).unwrap();
        let a = sites
            .iter()
            .find(|s| s.site == "main.allocRetained")
            .unwrap();
        // 1000 `make([]byte, 1024)` retained by a global array (whose own storage is static,
        // not a heap allocation). With rate 1 the count is exact, not an estimate.
        assert_eq!(a.inuse_objects, 1000);
        // 1024 is a size class, so the bytes are exact too: 1000 * 1024. Allow up to the next
        // size class (1152) in case a regenerated profile comes from a Go with other classes.
        assert!(
            (1000 * 1024..=1000 * 1152).contains(&a.inuse_bytes),
            "{}",
            a.inuse_bytes
        );
        assert_eq!(sites[0].site, "main.allocRetained");
        assert!(sites
            .iter()
            .all(|s| s.inuse_bytes > 0 || s.inuse_objects > 0));
        let total_bytes: u64 = sites.iter().map(|s| s.inuse_bytes).sum();
        let total_objs: u64 = sites.iter().map(|s| s.inuse_objects).sum();
        assert_eq!(Some(total_bytes as i64), sample_total(&p, "inuse_space"));
        assert_eq!(Some(total_objs as i64), sample_total(&p, "inuse_objects"));
        // No runtime frame is a site unless the whole stack was runtime.
        for s in &sites {
            assert!(!s.site.starts_with("internal/runtime/"), "{}", s.site);
        }

        // Truncation: top 1 plus "(other)" holding the rest.
        let cut = heap_sites(&p, 1).unwrap();
        assert_eq!(cut.len(), 2);
        assert_eq!(cut[0], *a);
        assert_eq!(cut[1].site, OTHER_SITE);
        assert_eq!(cut[1].inuse_bytes, total_bytes - a.inuse_bytes);
        assert_eq!(cut[1].inuse_objects, total_objs - a.inuse_objects);
        // Nothing cut: no "(other)".
        let all = heap_sites(&p, sites.len()).unwrap();
        assert!(all.iter().all(|s| s.site != OTHER_SITE));
    }

    #[test]
    fn heap_needs_heap_sample_types() {
        let p = decode(GOROUTINE).unwrap();
        assert!(matches!(
            heap_sites(&p, 10),
            Err(PprofError::MissingSampleType(_))
        ));
    }

    #[test]
    fn ungzipped_input() {
        for gz in [GOROUTINE, GOROUTINE_LEAK, HEAP] {
            let raw = gunzip(gz);
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
            let raw = gunzip(gz);
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

    /// Builds a profile with one sample type `goroutine/count` from (count, stacks), each
    /// stack a list of locations, each location a list of function names innermost first.
    fn synth(samples: &[(i64, Vec<Vec<&str>>)]) -> Profile {
        let mut p = Profile {
            string_table: vec![b"".to_vec(), b"goroutine".to_vec(), b"count".to_vec()],
            sample_type: vec![ValueType { r#type: 1, unit: 2 }],
            ..Default::default()
        };
        let mut funcs: HashMap<String, u64> = HashMap::new();
        for (count, stack) in samples {
            let mut ids = Vec::new();
            for loc in stack {
                let mut lines = Vec::new();
                for name in loc {
                    let next = funcs.len() as u64 + 1;
                    let fid = *funcs.entry(name.to_string()).or_insert_with(|| {
                        p.string_table.push(name.as_bytes().to_vec());
                        p.function.push(Function {
                            id: next,
                            name: p.string_table.len() as i64 - 1,
                            ..Default::default()
                        });
                        next
                    });
                    lines.push(Line {
                        function_id: fid,
                        ..Default::default()
                    });
                }
                let id = p.location.len() as u64 + 1;
                p.location.push(Location {
                    id,
                    line: lines,
                    ..Default::default()
                });
                ids.push(id);
            }
            p.sample.push(Sample {
                location_id: ids,
                value: vec![*count],
                label: vec![],
            });
        }
        p
    }

    #[test]
    fn inlined_frames_expand_and_identical_stacks_merge() {
        let stack = || {
            vec![
                vec!["runtime.gopark"],
                // main.sendResult inlined into main.worker: innermost first.
                vec!["runtime.chansend1", "main.sendResult", "main.worker"],
                vec!["runtime.goexit"],
            ]
        };
        let p = synth(&[(2, stack()), (5, stack())]);
        // Round-trip through the wire format, un-gzipped.
        let p = decode(&p.encode_to_vec()).unwrap();
        let g = stack_groups(&p).unwrap();
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].count, 7);
        assert_eq!(
            g[0].frames,
            [
                "runtime.gopark",
                "runtime.chansend1",
                "main.sendResult",
                "main.worker",
                "runtime.goexit"
            ]
        );
        assert_eq!(g[0].site, "main.sendResult");
    }

    #[test]
    fn bad_references_are_errors() {
        let mut p = synth(&[(1, vec![vec!["main.f"]])]);
        p.sample[0].location_id.push(999);
        assert!(matches!(
            stack_groups(&p),
            Err(PprofError::MissingLocation(999))
        ));
        let mut p = synth(&[(1, vec![vec!["main.f"]])]);
        p.function[0].name = 1000;
        assert!(matches!(
            stack_groups(&p),
            Err(PprofError::BadStringIndex(1000))
        ));
        let mut p = synth(&[(1, vec![vec!["main.f"]])]);
        p.location[0].line[0].function_id = 77;
        assert!(matches!(
            stack_groups(&p),
            Err(PprofError::MissingFunction(77))
        ));
        let p = synth(&[(-1, vec![vec!["main.f"]])]);
        assert!(matches!(
            stack_groups(&p),
            Err(PprofError::NegativeValue { .. })
        ));
        let mut p = synth(&[(1, vec![vec!["main.f"]])]);
        p.sample[0].value.clear();
        assert!(matches!(
            stack_groups(&p),
            Err(PprofError::MissingValue { .. })
        ));
        let mut p = synth(&[(1, vec![vec!["main.f"]])]);
        p.string_table[0] = b"x".to_vec();
        assert!(matches!(
            decode(&p.encode_to_vec()),
            Err(PprofError::Malformed(_))
        ));
    }

    fn classify(frames: &[&str]) -> (&'static str, String) {
        (wait_reason(frames), blocking_site(frames))
    }

    #[test]
    fn wait_reasons_and_sites() {
        let cases: &[(&[&str], &str, &str)] = &[
            (
                &[
                    "runtime.gopark",
                    "runtime.chansend",
                    "runtime.chansend1",
                    "main.sendResult",
                    "main.handle",
                    "runtime.goexit",
                ],
                "chan send",
                "main.sendResult",
            ),
            (
                &[
                    "runtime.gopark",
                    "runtime.chanrecv",
                    "runtime.chanrecv2",
                    "main.loop",
                ],
                "chan receive",
                "main.loop",
            ),
            (
                &[
                    "runtime.gopark",
                    "runtime.selectgo",
                    "context.(*cancelCtx).propagateCancel.func2",
                    "runtime.goexit",
                ],
                "select",
                "context.(*cancelCtx).propagateCancel.func2",
            ),
            (
                &["runtime.gopark", "runtime.block", "main.forever"],
                "select",
                "main.forever",
            ),
            (
                &[
                    "runtime.gopark",
                    "runtime.semacquire1",
                    "sync.runtime_SemacquireWaitGroup",
                    "sync.(*WaitGroup).Wait",
                    "main.waitAll",
                ],
                "sync.WaitGroup",
                "main.waitAll",
            ),
            (
                &[
                    "runtime.gopark",
                    "runtime.semacquire1",
                    "internal/sync.runtime_SemacquireMutex",
                    "internal/sync.(*Mutex).lockSlow",
                    "internal/sync.(*Mutex).Lock",
                    "sync.(*Mutex).Lock",
                    "main.(*store).put",
                ],
                "sync.Mutex",
                "main.(*store).put",
            ),
            (
                &[
                    "runtime.gopark",
                    "runtime.semacquire1",
                    "sync.runtime_SemacquireRWMutexR",
                    "sync.(*RWMutex).RLock",
                    "main.get",
                ],
                "sync.RWMutex",
                "main.get",
            ),
            (
                &[
                    "runtime.gopark",
                    "runtime.goparkunlock",
                    "sync.runtime_notifyListWait",
                    "sync.(*Cond).Wait",
                    "main.consumer",
                ],
                "sync.Cond",
                "main.consumer",
            ),
            (
                &[
                    "runtime.gopark",
                    "runtime.netpollblock",
                    "internal/poll.runtime_pollWait",
                    "internal/poll.(*pollDesc).wait",
                    "internal/poll.(*FD).Read",
                    "net.(*netFD).Read",
                    "net.(*conn).Read",
                    "main.serve",
                ],
                "IO wait",
                "net.(*netFD).Read",
            ),
            (
                &["runtime.gopark", "time.Sleep", "main.poll"],
                "sleep",
                "main.poll",
            ),
            (
                &["runtime.gopark", "runtime.gcBgMarkWorker", "runtime.goexit"],
                "waiting",
                "runtime.gcBgMarkWorker",
            ),
            (
                &[
                    "runtime.goroutineProfileWithLabels",
                    "runtime/pprof.writeRuntimeProfile",
                    "main.main",
                    "runtime.main",
                ],
                "running",
                "runtime/pprof.writeRuntimeProfile",
            ),
            (
                &[
                    "internal/runtime/syscall.Syscall6",
                    "syscall.Syscall",
                    "syscall.read",
                    "os.(*File).Read",
                    "main.readAll",
                ],
                "syscall",
                "syscall.Syscall",
            ),
            (&["main.spin"], "running", "main.spin"),
            (&[], "running", "(unknown)"),
        ];
        for (frames, wait, site) in cases {
            assert_eq!(classify(frames), (*wait, site.to_string()), "{frames:?}");
        }
    }

    #[test]
    fn alloc_sites() {
        assert_eq!(
            alloc_site(&["runtime.malg", "runtime.newproc1", "main.spawn"]),
            "main.spawn"
        );
        assert_eq!(
            alloc_site(&["runtime.makemap", "main.newCache"]),
            "main.newCache"
        );
        assert_eq!(
            alloc_site(&["main._Cfunc_CString", "main.leakC"]),
            "main._Cfunc_CString"
        );
        assert_eq!(
            alloc_site(&["runtime.mallocgc", "runtime.main"]),
            "runtime.mallocgc"
        );
        assert_eq!(alloc_site::<&str>(&[]), "(unknown)");
    }
}
