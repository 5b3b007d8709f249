//! What polling goleak costs a leaking program, by cadence: the measurement behind
//! `record::probe::GOLEAK_PERIOD`.
//!
//! Records one leaking scenario (default `goroutine-abandoned-sender`, where goleak finds a
//! growing crowd of blocked senders) with the default probe set and goleak off, polled at every
//! tick (period 0, as before the period existed) and at each period given, all repetitions at
//! once in one run so every cadence sees the same machine. Per repetition, from the leak's
//! onset to the end: the program's allocation rate (`/gc/heap/allocs:bytes`), the CPU its
//! runtime accounts to user code and GC (`/cpu/classes/user` + `/cpu/classes/gc/total`), the
//! goleak requests made, and when goleak first reported a goroutine after the onset. Prints the
//! medians per cadence as a Markdown table; the traces stay under OUT.
//!
//! ```text
//! cargo run --release -p leakbench --example goleak_cadence -- [OUT] [REPS] [PERIODS_S] [SCENARIO] [SECONDS_AFTER_ONSET]
//! cargo run --release -p leakbench --example goleak_cadence -- results/goleak-cadence 3 2,5
//! ```
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use leakbench::app::Workspace;
use leakbench::record::fixture_build::{self, GoToolchain};
use leakbench::record::probe::ProbeSet;
use leakbench::record::repetition::{self, RepPlan};
use leakbench::run_dir::RunDir;
use leakbench::sample::Sample;
use leakbench::stats;
use leakbench::trace::{self, Trace};

/// A cadence: goleak off (`None`) or its period.
fn label(period: Option<Duration>) -> String {
    match period {
        None => "off".into(),
        Some(p) if p.is_zero() => "every tick (0 s)".into(),
        Some(p) => format!("every {} s", p.as_secs_f64()),
    }
}

fn metric(s: &Sample, name: &str) -> Option<f64> {
    s.metrics.as_ref()?.get(name).copied()
}

fn go_cpu(s: &Sample) -> Option<f64> {
    Some(
        metric(s, "/cpu/classes/user:cpu-seconds")?
            + metric(s, "/cpu/classes/gc/total:cpu-seconds")?,
    )
}

/// Rate of a counter from the first sample at or after `from` to the last sample.
fn rate(t: &Trace, from: f64, f: impl Fn(&Sample) -> Option<f64>) -> Option<f64> {
    let pts: Vec<(f64, f64)> = t
        .samples
        .iter()
        .filter(|s| s.t >= from)
        .filter_map(|s| Some((s.t, f(s)?)))
        .collect();
    let (a, b) = (pts.first()?, pts.last()?);
    (b.0 > a.0).then(|| (b.1 - a.1) / (b.0 - a.0))
}

struct Row {
    alloc_mb_s: Option<f64>,
    cpu: Option<f64>,
    requests: usize,
    first_s: Option<f64>,
}

fn row(t: &Trace) -> Row {
    let onset = t.onset_s().unwrap_or(t.meta.scenario.leak.onset_s);
    Row {
        alloc_mb_s: rate(t, onset, |s| metric(s, "/gc/heap/allocs:bytes")).map(|r| r / 1e6),
        cpu: rate(t, onset, go_cpu),
        requests: t
            .samples
            .iter()
            .filter(|s| s.t >= onset && s.goleak_asked_s.is_some())
            .count(),
        first_s: t
            .samples
            .iter()
            .find(|s| {
                s.t >= onset
                    && s.goleak
                        .as_ref()
                        .is_some_and(|g| g.iter().map(|x| x.count).sum::<u64>() > 0)
            })
            .map(|s| s.t - onset),
    }
}

fn med(v: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    let v: Vec<f64> = v.flatten().collect();
    stats::median(&v)
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = PathBuf::from(
        args.first()
            .map_or("results/goleak-cadence", String::as_str),
    );
    let reps: u32 = args.get(1).map_or(Ok(3), |s| s.parse())?;
    let periods: Vec<f64> = args
        .get(2)
        .map_or("2,5", String::as_str)
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let name = args
        .get(3)
        .map_or("goroutine-abandoned-sender", String::as_str);
    let after_onset: f64 = args.get(4).map_or(Ok(20.0), |s| s.parse())?;

    leakbench::record::launch::start_reaper().ok();
    let rt = tokio::runtime::Runtime::new()?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let ws = Workspace::load(Some(&root), "go".into())?;
    let mut sc = ws
        .scenarios
        .iter()
        .find(|s| s.name == name)
        .with_context(|| format!("no scenario `{name}`"))?
        .clone();
    sc.duration_s = sc.leak.onset_s + after_onset;
    let tc = GoToolchain::detect(Path::new("go"))?;
    let fixture = fixture_build::build(
        &root.join("go-fixtures"),
        &sc.fixture,
        &tc,
        &ws.fixture_cache(),
    )?;

    let mut cadences: Vec<Option<Duration>> = vec![None, Some(Duration::ZERO)];
    cadences.extend(periods.iter().map(|p| Some(Duration::from_secs_f64(*p))));
    let mut plans = Vec::new();
    for (i, c) in cadences.iter().enumerate() {
        let probes = ProbeSet {
            goleak: c.is_some(),
            goleak_period_ms: c.map_or(0, |p| p.as_millis() as u64),
            ..ProbeSet::default()
        };
        for rep in 0..reps {
            plans.push((
                i,
                RepPlan {
                    scenario: sc.clone(),
                    rep,
                    axes: Default::default(),
                    fixture: fixture.clone(),
                    toolchain: tc.clone(),
                    run_dir: out.join(format!("cadence-{i}")),
                    probes,
                },
            ));
        }
    }
    eprintln!(
        "{name}: {} repetitions at once ({} cadences × {reps}), {:.0} s each",
        plans.len(),
        cadences.len(),
        sc.duration_s
    );
    let (_tx, rx) = tokio::sync::watch::channel(false);
    rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for (_, p) in plans.clone() {
            let rx = rx.clone();
            set.spawn(async move { repetition::record(&p, rx, &mut |_| {}).await });
        }
        while let Some(r) = set.join_next().await {
            r??;
        }
        anyhow::Ok(())
    })?;

    println!("| goleak | allocation, MB/s | Go CPU, % of a core | goleak requests after onset | goleak's first report after onset |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    for (i, c) in cadences.iter().enumerate() {
        let rows: Vec<Row> = plans
            .iter()
            .filter(|(k, _)| *k == i)
            .map(|(_, p)| trace::load(&RunDir::new(&p.run_dir).rep(&p.scenario.name, p.rep)))
            .collect::<Result<Vec<Trace>, _>>()?
            .iter()
            .map(row)
            .collect();
        let f =
            |x: Option<f64>, scale: f64| x.map_or("–".into(), |v| format!("{:.1}", v * scale));
        println!(
            "| {} | {} | {} | {} | {} |",
            label(*c),
            f(med(rows.iter().map(|r| r.alloc_mb_s)), 1.0),
            f(med(rows.iter().map(|r| r.cpu)), 100.0),
            f(med(rows.iter().map(|r| Some(r.requests as f64))), 1.0),
            med(rows.iter().map(|r| r.first_s)).map_or("–".into(), |v| format!("{v:.1} s")),
        );
    }
    Ok(())
}
