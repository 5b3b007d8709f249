//! `list` and `detectors`: what can run and what judges it, as aligned text lines.
//!
//! Owns the layout of those two listings. Must not load anything itself: it is handed the
//! scenarios and the detectors.

use crate::evaluate::detect::{DetectorSet, DetectorSpec};
use crate::leak_class::join;
use crate::scenario::Scenario;

/// One line per scenario: name, class, what grows, leaking or not, role, description.
pub fn scenarios(list: &[Scenario]) -> Vec<String> {
    let grows: Vec<String> = list.iter().map(|s| join(&s.truth.grows)).collect();
    let w = list.iter().map(|s| s.name.len()).max().unwrap_or(0);
    let cw = list
        .iter()
        .map(|s| s.truth.class.as_str().len())
        .max()
        .unwrap_or(0);
    let gw = grows.iter().map(String::len).max().unwrap_or(0);
    list.iter()
        .zip(&grows)
        .map(|(s, g)| {
            format!(
                "{:w$}  {:cw$}  {:gw$}  {:11}  {:13}  {}",
                s.name,
                s.truth.class.as_str(),
                g,
                if s.truth.leaking {
                    "leaking"
                } else {
                    "not-leaking"
                },
                s.role().to_string(),
                s.description
            )
        })
        .collect()
}

/// One line per detector: name, the series it watches, its trend window, its threshold.
pub fn detectors(specs: &[DetectorSpec]) -> Vec<String> {
    specs
        .iter()
        .map(|d| line(d.name, d.watches.as_str(), d.window_s, d.threshold))
        .collect()
}

/// [`detectors`] for a whole set: the built-in ones, then each external one, whose threshold
/// is followed by what runs it and the file that declares it.
pub fn detector_set(set: &DetectorSet) -> Vec<String> {
    let mut lines = detectors(&set.builtin);
    lines.extend(set.external.iter().map(|e| {
        let mut command = vec![e.program.display().to_string()];
        command.extend(e.args.iter().cloned());
        let what = format!(
            "{} [external: {:?}, declared in {}]",
            e.threshold,
            command,
            e.declared_in.display()
        );
        line(&e.name, e.watches.as_str(), e.window_s, &what)
    }));
    lines
}

fn line(name: &str, watches: &str, window_s: Option<f64>, threshold: &str) -> String {
    let window = window_s.map_or("-".to_string(), |w| format!("{w:.0} s"));
    format!("{name:22}  {watches:22}  {window:>6}  {threshold}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::detect;

    #[test]
    fn every_detector_gets_one_line_starting_with_its_name() {
        let lines = detectors(detect::registry());
        assert_eq!(lines.len(), detect::registry().len());
        for (l, d) in lines.iter().zip(detect::registry()) {
            assert!(l.starts_with(d.name), "{l}");
            assert!(l.contains(d.threshold), "{l}");
        }
    }
}
