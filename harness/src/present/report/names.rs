//! How the report names what a reader knows: a leak's site as the function it is (not the regex
//! a scenario matches it with), and where each page and chart lives, so every link is spelled
//! in one place.

use super::load::RunView;
use crate::axes::AxisValues;
use crate::scenario::Scenario;

/// Pages of scenarios, under the run directory.
pub const SCENARIOS_DIR: &str = "scenarios";

/// A scenario's Markdown page, relative to the run directory (the HTML page is beside it,
/// `.html` for `.md`).
pub fn scenario_page(name: &str) -> String {
    format!("{SCENARIOS_DIR}/{name}.md")
}

/// A scenario's HTML page, relative to the run directory.
pub fn scenario_html(name: &str) -> String {
    format!("{SCENARIOS_DIR}/{name}.html")
}

/// The file stem of a repetition's timeline chart: `timeline-<scenario>-rep-<k>`, with the
/// matrix point between in a sweep (`timeline-<scenario>-go-go1.27.3_GOGC-50-rep-<k>`, axes in column order), so
/// cells never share a chart.
pub fn timeline_stem(scenario: &str, axes: &AxisValues, rep: u32) -> String {
    if axes.is_empty() {
        format!("timeline-{scenario}-rep-{rep}")
    } else {
        let point = axes.label().replace('=', "-").replace(',', "_");
        format!("timeline-{scenario}-{point}-rep-{rep}")
    }
}

/// A repetition as the report names it: `repetition 2`, or `GOGC=50 repetition 2` in a sweep.
pub fn repetition(axes: &AxisValues, rep: u32) -> String {
    if axes.is_empty() {
        format!("repetition {rep}")
    } else {
        format!("{axes} repetition {rep}")
    }
}

/// The leaking function as the fixture reported it in its samples (`main.sendResult`), else
/// the scenario's site regex made readable; `None` for a scenario that does not leak.
pub fn leaking_function(v: &RunView, sc: &Scenario) -> Option<String> {
    if !sc.truth.leaking {
        return None;
    }
    let reported = v
        .traces
        .iter()
        .filter(|t| t.meta.scenario.name == sc.name)
        .flat_map(|t| t.samples.iter())
        .find_map(|s| {
            s.truth
                .as_ref()
                .map(|t| t.site.clone())
                .filter(|s| !s.is_empty())
        });
    reported.or_else(|| (!sc.truth.site.is_empty()).then(|| readable_regex(&sc.truth.site)))
}

/// A site regex as the function names it matches: escapes dropped, anchors dropped, one
/// alternation group spelled out (`main\.(a|b)` → `main.a or main.b`).
pub fn readable_regex(re: &str) -> String {
    let re = re.trim_start_matches('^').trim_end_matches('$');
    let unescape = |s: &str| {
        let mut out = String::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            } else {
                out.push(c);
            }
        }
        out
    };
    // An unescaped group `(a|b)`: spell out each alternative.
    let bytes: Vec<char> = re.chars().collect();
    let mut open = None;
    for (i, c) in bytes.iter().enumerate() {
        let escaped = i > 0 && bytes[i - 1] == '\\';
        if *c == '(' && !escaped {
            open = Some(i);
        } else if *c == ')' && !escaped {
            if let Some(o) = open {
                let inner: String = bytes[o + 1..i].iter().collect();
                if inner.contains('|') {
                    let pre: String = bytes[..o].iter().collect();
                    let post: String = bytes[i + 1..].iter().collect();
                    return inner
                        .split('|')
                        .map(|alt| unescape(&format!("{pre}{alt}{post}")))
                        .collect::<Vec<_>>()
                        .join(" or ");
                }
            }
            open = None;
        }
    }
    unescape(re)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regexes_read_as_functions() {
        assert_eq!(readable_regex(r"main\.sendResult"), "main.sendResult");
        assert_eq!(
            readable_regex(r"context\.\(\*cancelCtx\)\.propagateCancel\.func2"),
            "context.(*cancelCtx).propagateCancel.func2"
        );
        assert_eq!(
            readable_regex(r"^main\.(closeConn|openConn)$"),
            "main.closeConn or main.openConn"
        );
    }
}
