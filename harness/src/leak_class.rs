//! What a leak is, in two words: its class (the cause a scenario names, free text) and what it
//! grows (an [`Observable`], from the small fixed set a detector can see in a Go process).
//!
//! Adding a leak shape adds a class name in a scenario file and no Rust: classes are data.
//! Observables are the detectors' vocabulary: a detector's alarm says which one it saw grow,
//! and "right class" is judged on that ([`crate::evaluate::score`]); charts pick their panels
//! from it ([`crate::present::report`]). A new observable is a Rust change on purpose: it
//! needs a series detectors can read.
//!
//! Runs recorded before scenarios said what grows name one of five classes and nothing else;
//! [`LeakClass::legacy_grows`] maps those to what their leaks grow, so old run directories
//! load and score as before.
//!
//! Owns these two types and their spellings; must not parse files (that is
//! [`crate::scenario`]) or score.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Something a detector can see grow in a running Go program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Observable {
    /// Goroutines (the count, the goroutine profile, the goroutineleak profile).
    Goroutines,
    /// The Go heap (allocated or live bytes, the heap profile).
    GoHeap,
    /// Memory the Go runtime does not account for: C allocations, seen as RSS minus Go's
    /// memory.
    CMemory,
    /// Finalizers and cleanups queued and not yet run.
    FinalizerQueue,
}

impl Observable {
    pub const ALL: [Observable; 4] = [
        Observable::Goroutines,
        Observable::GoHeap,
        Observable::CMemory,
        Observable::FinalizerQueue,
    ];

    /// The spelling in scenario files, `scores.csv` and listings.
    pub fn as_str(self) -> &'static str {
        match self {
            Observable::Goroutines => "goroutines",
            Observable::GoHeap => "go-heap",
            Observable::CMemory => "c-memory",
            Observable::FinalizerQueue => "finalizer-queue",
        }
    }

    /// The inverse of [`Observable::as_str`].
    pub fn parse(s: &str) -> Option<Observable> {
        Observable::ALL.into_iter().find(|o| o.as_str() == s)
    }

    /// Every spelling, for error messages: `goroutines, go-heap, ...`.
    pub fn choices() -> String {
        let names: Vec<&str> = Observable::ALL.iter().map(|o| o.as_str()).collect();
        names.join(", ")
    }
}

impl fmt::Display for Observable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Observables joined for one cell or one line: `goroutines+go-heap`.
pub fn join(grows: &[Observable]) -> String {
    let names: Vec<&str> = grows.iter().map(|o| o.as_str()).collect();
    names.join("+")
}

/// A leak class: the cause, as a scenario names it (`goroutine`, `sync-pool`, `http-body`).
/// A slug: lowercase ASCII letters and digits in words joined by single `-`, at most
/// [`LeakClass::MAX_LEN`] characters. Read and written as that string.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LeakClass(String);

/// The five classes of the first benchmark, which runs recorded before `grows` existed name,
/// with what their leaks grow. Context leaks pile up watcher goroutines or cancelled-never
/// children in the heap; finalizer leaks grow the queue or, in a cycle, the heap.
const LEGACY: [(&str, &[Observable]); 5] = [
    ("goroutine", &[Observable::Goroutines]),
    ("map", &[Observable::GoHeap]),
    ("context", &[Observable::Goroutines, Observable::GoHeap]),
    (
        "finalizer",
        &[Observable::FinalizerQueue, Observable::GoHeap],
    ),
    ("cgo", &[Observable::CMemory]),
];

impl LeakClass {
    /// Long enough for a descriptive name, short enough for a table column.
    pub const MAX_LEN: usize = 40;

    /// Validates a class name (see the type's doc).
    pub fn parse(s: &str) -> Result<LeakClass, BadClass> {
        let words_ok = s.split('-').all(|w| {
            !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        });
        let starts_with_letter = s.chars().next().is_some_and(|c| c.is_ascii_lowercase());
        if words_ok && starts_with_letter && s.len() <= Self::MAX_LEN {
            Ok(LeakClass(s.to_string()))
        } else {
            Err(BadClass(s.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What this class grows if it is one of the five classes of runs recorded before
    /// scenarios said so; `None` for any other class.
    pub fn legacy_grows(&self) -> Option<&'static [Observable]> {
        LEGACY
            .iter()
            .find(|(name, _)| *name == self.0)
            .map(|(_, grows)| *grows)
    }
}

/// A class name that is not a slug.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("class `{0}` is not a slug")]
pub struct BadClass(pub String);

impl BadClass {
    /// How to fix it.
    pub fn fix() -> String {
        format!(
            "name the cause in lowercase words joined by '-' (letters and digits, a letter first, \
             at most {} characters), e.g. `sync-pool`",
            LeakClass::MAX_LEN
        )
    }
}

impl TryFrom<String> for LeakClass {
    type Error = BadClass;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        LeakClass::parse(&s)
    }
}

impl From<LeakClass> for String {
    fn from(c: LeakClass) -> String {
        c.0
    }
}

impl fmt::Display for LeakClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observables_round_trip_by_name() {
        for o in Observable::ALL {
            assert_eq!(Observable::parse(o.as_str()), Some(o));
            let json = serde_json::to_string(&o).unwrap();
            assert_eq!(json, format!("\"{o}\""));
            assert_eq!(serde_json::from_str::<Observable>(&json).unwrap(), o);
        }
        assert_eq!(Observable::parse("heap"), None);
        assert_eq!(
            join(&[Observable::Goroutines, Observable::GoHeap]),
            "goroutines+go-heap"
        );
    }

    #[test]
    fn classes_are_slugs() {
        for ok in ["goroutine", "sync-pool", "http-body", "c2go", "a-1-b"] {
            assert_eq!(LeakClass::parse(ok).unwrap().as_str(), ok);
        }
        let long = "a".repeat(LeakClass::MAX_LEN + 1);
        for bad in [
            "",
            "Map",
            "sync_pool",
            "-pool",
            "pool-",
            "a--b",
            "1pool",
            "pool leak",
            &long,
        ] {
            assert_eq!(
                LeakClass::parse(bad),
                Err(BadClass(bad.to_string())),
                "{bad:?}"
            );
        }
        let e = serde_json::from_str::<LeakClass>("\"Sync Pool\"").unwrap_err();
        assert!(
            e.to_string().contains("class `Sync Pool` is not a slug"),
            "{e}"
        );
        let c: LeakClass = serde_json::from_str("\"sync-pool\"").unwrap();
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"sync-pool\"");
    }

    /// The five classes of earlier runs keep what they meant: a goroutine leak grows
    /// goroutines only, so a heap alarm on it stays the wrong class.
    #[test]
    fn legacy_classes_map_to_what_their_leaks_grow() {
        let grows = |c: &str| LeakClass::parse(c).unwrap().legacy_grows();
        assert_eq!(grows("goroutine"), Some(&[Observable::Goroutines][..]));
        assert_eq!(grows("map"), Some(&[Observable::GoHeap][..]));
        assert_eq!(grows("cgo"), Some(&[Observable::CMemory][..]));
        assert_eq!(
            grows("context"),
            Some(&[Observable::Goroutines, Observable::GoHeap][..])
        );
        assert_eq!(
            grows("finalizer"),
            Some(&[Observable::FinalizerQueue, Observable::GoHeap][..])
        );
        assert_eq!(grows("sync-pool"), None);
    }
}
