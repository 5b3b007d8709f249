//! Symbolization: a sample's location ids → function names, through the profile's location
//! and function tables.
//!
//! Owns the lookup and the inline expansion only; which frame is a site belongs to
//! [`super::goroutine`] and [`super::heap`]. A dangling id or string index is a
//! [`PprofError`], never a panic.

use super::wire::{Function, Location, Profile, Sample};
use super::PprofError;
use std::collections::HashMap;

/// Resolves location and function ids to frame names.
pub(super) struct Symbolizer<'a> {
    p: &'a Profile,
    locations: HashMap<u64, &'a Location>,
    functions: HashMap<u64, &'a Function>,
}

impl<'a> Symbolizer<'a> {
    pub(super) fn new(p: &'a Profile) -> Self {
        Self {
            p,
            locations: p.location.iter().map(|l| (l.id, l)).collect(),
            functions: p.function.iter().map(|f| (f.id, f)).collect(),
        }
    }

    /// Function names of a sample's stack, innermost first, inlined frames expanded (a
    /// Location's `line`s are innermost first: "the last entry represents the caller into
    /// which the preceding entries were inlined"). A location without lines, or a function
    /// without a name, is its address (`0x4a2f10`).
    pub(super) fn frames(&self, s: &Sample) -> Result<Vec<String>, PprofError> {
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

#[cfg(test)]
mod tests {
    use super::super::testkit::synth;
    use super::*;

    fn frames(p: &Profile) -> Result<Vec<String>, PprofError> {
        Symbolizer::new(p).frames(&p.sample[0])
    }

    #[test]
    fn inlined_frames_expand_innermost_first() {
        // main.sendResult inlined into main.worker: innermost first.
        let p = synth(&[(
            1,
            vec![
                vec!["runtime.gopark"],
                vec!["runtime.chansend1", "main.sendResult", "main.worker"],
            ],
        )]);
        assert_eq!(
            frames(&p).unwrap(),
            [
                "runtime.gopark",
                "runtime.chansend1",
                "main.sendResult",
                "main.worker"
            ]
        );
    }

    #[test]
    fn unsymbolized_frames_are_addresses() {
        let mut p = synth(&[(1, vec![vec!["main.f"], vec!["main.g"]])]);
        p.location[0].address = 0x4a2f10;
        p.location[0].line.clear();
        p.location[1].address = 0x4a3000;
        p.function[1].name = 0; // the empty string, and no system name either
        assert_eq!(frames(&p).unwrap(), ["0x4a2f10", "0x4a3000"]);
    }

    #[test]
    fn bad_references_are_errors() {
        let mut p = synth(&[(1, vec![vec!["main.f"]])]);
        p.sample[0].location_id.push(999);
        assert!(matches!(frames(&p), Err(PprofError::MissingLocation(999))));
        let mut p = synth(&[(1, vec![vec!["main.f"]])]);
        p.function[0].name = 1000;
        assert!(matches!(frames(&p), Err(PprofError::BadStringIndex(1000))));
        let mut p = synth(&[(1, vec![vec!["main.f"]])]);
        p.location[0].line[0].function_id = 77;
        assert!(matches!(frames(&p), Err(PprofError::MissingFunction(77))));
    }
}
