//! The default matrix is long enough to judge every detector: each scenario in `scenarios/`
//! runs, after its leak's onset, at least twice the longest window any registered detector
//! judges a trend over, plus one interval (the tick that ends a run takes no sample). Twins
//! and hard negatives run as long as the leaks, so false alarms are counted over the same
//! span as detections.
//!
//! Why a test on the files rather than stretching short scenarios at run time: a scenario file
//! then says what runs (`leakbench list`, `meta.json`, `--resume` and `compare` all see the
//! same duration, whatever this leakbench's registry holds), and a new detector with a longer
//! window fails here, where its cost to `run-all`'s time budget is decided, instead of making
//! every run silently longer or judging it on runs too short for it.

use crate::support::root;
use leakbench::evaluate::detect::registry;
use leakbench::scenario;

/// The longest trend window among the registered detectors, seconds.
fn longest_window_s() -> f64 {
    registry()
        .iter()
        .filter_map(|d| d.window_s)
        .fold(0.0, f64::max)
}

#[test]
fn every_scenario_watches_its_leak_twice_the_longest_detector_window() {
    let longest = longest_window_s();
    assert!(longest > 0.0, "some detector judges a window");
    let all = scenario::load_dir(&root().join("scenarios"), None).expect("scenarios load");
    assert!(!all.is_empty());
    let short: Vec<String> = all
        .iter()
        .filter_map(|s| {
            let needed = s.leak.onset_s + 2.0 * longest + s.interval_s;
            (s.duration_s < needed).then(|| {
                format!(
                    "{}: duration_s {} < onset {} + 2 × {longest} s window + {} s interval = {needed}",
                    s.name, s.duration_s, s.leak.onset_s, s.interval_s
                )
            })
        })
        .collect();
    assert!(
        short.is_empty(),
        "scenarios too short to judge every detector (fix: lengthen them, and check run-all's time): {short:#?}"
    );
}

#[test]
fn leaks_and_their_twins_run_equally_long() {
    let all = scenario::load_dir(&root().join("scenarios"), None).expect("scenarios load");
    for twin in all.iter().filter(|s| s.leak.fixed && !s.truth.leaking) {
        for leak in all
            .iter()
            .filter(|s| s.fixture == twin.fixture && s.truth.leaking)
        {
            assert_eq!(
                (leak.duration_s, leak.leak.onset_s, leak.interval_s),
                (twin.duration_s, twin.leak.onset_s, twin.interval_s),
                "{} and its twin {}",
                leak.name,
                twin.name
            );
        }
    }
}
