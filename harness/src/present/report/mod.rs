//! The report of a run directory: every chart (`plots/*.svg`, `plots/*.png`), the main page
//! `report.md` / `report.html` (findings, contents, summaries, the charts over the whole run,
//! an index of scenarios) and one page per scenario, `scenarios/<name>.md` / `.html` (its
//! table and the timeline of every repetition), linked both ways, criterion.rs-style. The
//! Markdown and HTML pages say the same; the HTML inlines the SVGs (its heatmap's row names
//! link to the scenario pages). Everything comes from the files a scored run holds
//! (`run.json`, `scores.csv`, `sweep.csv`, the traces, `overhead.csv` if any, `goker/` if
//! `run-all` ran its GoKer section: [`goker_section`]). Re-running
//! [`generate`] on the same directory gives the same bytes: nothing is measured again.
//!
//! Owns what the report says ([`content`], [`findings`], [`scenario_page`]), which data each
//! chart gets ([`charts`], [`panels`], [`visible`]) and where its files go ([`names`]). Must
//! not run fixtures, run a detector or score: scores come from `scores.csv`, and the threshold
//! sweep from `sweep.csv` as [`crate::evaluate::sweep`] wrote it (a run without one gets a
//! line saying so and no sweep chart, never a re-scoring). A live recording, which has no
//! scores, gets its own short report ([`live`]).

pub mod axes;
pub mod charts;
pub mod content;
pub mod doc;
pub mod findings;
pub mod goker_section;
pub mod live;
pub mod load;
pub mod names;
pub mod panels;
pub mod scenario_page;
pub mod time_to_oom;
pub mod visible;

use crate::fsio;
use crate::present::plot::{self, PlotError};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use load::{load, RunView};

/// `report.md` (charts as PNG images), `report.html` (one page, charts inline as SVG) and
/// `plots/`: named by [`crate::run_dir`], which owns the run directory's layout.
pub use crate::run_dir::{PLOTS_DIR, REPORT_HTML, REPORT_MD};

/// One chart of the report, of any kind.
enum AnyChart {
    Timeline(plot::timeline::Timeline),
    Heatmap(plot::heatmap::Heatmap),
    Matrix(plot::matrix::DetectionMatrix),
    Sweep(plot::sweep::Sweep),
    Overhead(plot::overhead::Overhead),
    Forecast(plot::forecast::Forecast),
    Axes(plot::axes::AxisLatency),
}

/// A chart drawn: its SVG file, the same SVG with its links for inlining, its PNG.
struct Drawn {
    svg: String,
    inline: String,
    png: Vec<u8>,
}

impl AnyChart {
    fn render(&self) -> Result<Drawn, PlotError> {
        fn both(c: &impl plot::Chart) -> Result<Drawn, PlotError> {
            let svg = plot::svg(c)?;
            let links = plot::link_overlay(c);
            let inline = match svg.rfind("</svg>") {
                Some(at) if !links.is_empty() => format!("{}{links}{}", &svg[..at], &svg[at..]),
                _ => svg.clone(),
            };
            Ok(Drawn {
                png: plot::rasterize(&svg)?,
                svg,
                inline,
            })
        }
        match self {
            AnyChart::Timeline(c) => both(c),
            AnyChart::Heatmap(c) => both(c),
            AnyChart::Matrix(c) => both(c),
            AnyChart::Sweep(c) => both(c),
            AnyChart::Overhead(c) => both(c),
            AnyChart::Forecast(c) => both(c),
            AnyChart::Axes(c) => both(c),
        }
    }
}

/// What [`generate`] wrote.
#[derive(Debug, Clone)]
pub struct Generated {
    pub report_md: PathBuf,
    pub report_html: PathBuf,
    /// Every scenario page, Markdown and HTML.
    pub pages: Vec<PathBuf>,
    /// Every chart file (SVG and PNG).
    pub charts: Vec<PathBuf>,
}

/// Draws every chart and writes both reports into `run_dir`, with a progress bar on `mp`.
pub fn generate(run_dir: &Path, mp: &MultiProgress) -> anyhow::Result<Generated> {
    let view = load(run_dir)?;
    generate_from(&view, mp)
}

/// As [`generate`], from an already loaded run.
pub fn generate_from(v: &RunView, mp: &MultiProgress) -> anyhow::Result<Generated> {
    let mut todo: Vec<(String, AnyChart)> = vec![
        (content::MATRIX.into(), AnyChart::Matrix(charts::matrix(v))),
        (
            content::HEATMAP.into(),
            AnyChart::Heatmap(charts::heatmap(v)),
        ),
    ];
    if let Some(s) = charts::sweep(v) {
        todo.push((content::SWEEP.into(), AnyChart::Sweep(s)));
    }
    let overhead = charts::overhead(v);
    let has_overhead = overhead.is_some();
    if let Some(o) = overhead {
        todo.push((content::OVERHEAD.into(), AnyChart::Overhead(o)));
    }
    for t in &v.traces {
        todo.push((
            names::timeline_stem(&t.meta.scenario.name, &t.meta.axes, t.meta.rep),
            AnyChart::Timeline(charts::timeline(v, t)),
        ));
    }
    let bar = plot_bar(mp, todo.len());
    let plots = v.dir.join(PLOTS_DIR);
    let rendered = render_all(todo, &plots, &bar)?;
    bar.finish_with_message("done");
    let mut svgs = BTreeMap::new();
    let mut files = Vec::new();
    for (stem, inline, paths) in rendered {
        svgs.insert(stem, inline);
        files.extend(paths);
    }
    let mut doc = content::report(v, has_overhead);
    // Sections only some runs have, each with its chart, after the rest: Time to OOM (a
    // repetition killed at its cap) and Matrix axes (a run that swept some).
    let mut extra: Vec<(&str, AnyChart, doc::Doc)> = Vec::new();
    if let Some((chart, section)) = time_to_oom::section(&v.dir)? {
        extra.push((time_to_oom::STEM, AnyChart::Forecast(chart), section));
    }
    if let Some((chart, section)) = axes::section(v) {
        extra.push((axes::STEM, AnyChart::Axes(chart), section));
    }
    for (stem, chart, section) in extra {
        for (stem, svg, paths) in render_all(vec![(stem.into(), chart)], &plots, &bar)? {
            svgs.insert(stem, svg);
            files.extend(paths);
        }
        doc.blocks.extend(section.blocks);
    }
    // GoKer: only a run-all with its section has one (a line when it could not run).
    if let Some(section) = goker_section::section(&v.dir)? {
        doc.blocks.extend(section.blocks);
    }
    let inline = |stem: &str| svgs.get(stem).cloned();
    let report_md = v.dir.join(REPORT_MD);
    fsio::write_atomic(&report_md, doc.markdown().as_bytes())?;
    let report_html = v.dir.join(REPORT_HTML);
    fsio::write_atomic(&report_html, doc.html(inline).as_bytes())?;
    let seen = visible::visibility(v);
    let scs = charts::scenarios(v);
    let mut pages = Vec::new();
    for (i, sc) in scs.iter().enumerate() {
        let prev = i.checked_sub(1).map(|k| scs[k].name.as_str());
        let next = scs.get(i + 1).map(|s| s.name.as_str());
        let page = scenario_page::page(v, sc, &seen, prev, next);
        let md = v.dir.join(names::scenario_page(&sc.name));
        fsio::write_atomic(&md, page.markdown().as_bytes())?;
        let html = v.dir.join(names::scenario_html(&sc.name));
        fsio::write_atomic(&html, page.html(inline).as_bytes())?;
        pages.extend([md, html]);
    }
    Ok(Generated {
        report_md,
        report_html,
        pages,
        charts: files,
    })
}

/// The progress bar of drawing `charts` charts.
fn plot_bar(mp: &MultiProgress, charts: usize) -> ProgressBar {
    let bar = mp.add(ProgressBar::new(charts as u64));
    bar.set_style(
        ProgressStyle::with_template("{prefix:>6} [{bar:30}] {pos}/{len} {elapsed} {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_prefix("plot");
    bar
}

/// Renders and writes charts on every core; results in input order.
fn render_all(
    todo: Vec<(String, AnyChart)>,
    plots: &Path,
    bar: &ProgressBar,
) -> anyhow::Result<Vec<(String, String, Vec<PathBuf>)>> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let one =
        |(stem, chart): &(String, AnyChart)| -> anyhow::Result<(String, String, Vec<PathBuf>)> {
            bar.set_message(stem.clone());
            let drawn = chart.render()?;
            let svg_path = plots.join(format!("{stem}.svg"));
            let png_path = plots.join(format!("{stem}.png"));
            fsio::write_atomic(&svg_path, drawn.svg.as_bytes())?;
            fsio::write_atomic(&png_path, &drawn.png)?;
            bar.inc(1);
            Ok((stem.clone(), drawn.inline, vec![svg_path, png_path]))
        };
    let mut results: Vec<Option<anyhow::Result<_>>> = (0..todo.len()).map(|_| None).collect();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers.min(todo.len()).max(1))
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(item) = todo.get(i) else { break };
                        mine.push((i, one(item)));
                    }
                    mine
                })
            })
            .collect();
        for h in handles {
            for (i, r) in h.join().expect("a chart worker panicked") {
                results[i] = Some(r);
            }
        }
    });
    results
        .into_iter()
        .map(|r| r.expect("every chart rendered"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use indicatif::ProgressDrawTarget;

    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            let dest = to.join(e.file_name());
            if e.file_type().unwrap().is_dir() {
                copy_dir(&e.path(), &dest);
            } else {
                std::fs::copy(e.path(), dest).unwrap();
            }
        }
    }

    /// A scratch copy of `harness/testdata/plot-run` (a real run of three short scenarios: a
    /// goroutine leak, its twin, a hard negative; one repetition each, traces trimmed, see its
    /// README), kept while the `TempDir` lives, and a progress display that draws nothing.
    fn committed_run_copy() -> (tempfile::TempDir, PathBuf, MultiProgress) {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/plot-run");
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        copy_dir(&src, &dir);
        let mp = MultiProgress::with_draw_target(ProgressDrawTarget::hidden());
        (tmp, dir, mp)
    }

    #[test]
    fn plot_on_the_committed_run_draws_every_chart_and_both_reports() {
        let (_tmp, dir, mp) = committed_run_copy();
        let g = generate(&dir, &mp).unwrap();
        let view = load(&dir).unwrap();
        let mut stems = vec![
            content::MATRIX.to_string(),
            content::HEATMAP.to_string(),
            content::SWEEP.to_string(),
            content::OVERHEAD.to_string(),
        ];
        let timelines: Vec<String> = view
            .traces
            .iter()
            .map(|t| names::timeline_stem(&t.meta.scenario.name, &t.meta.axes, t.meta.rep))
            .collect();
        assert_eq!(timelines.len(), 3, "three repetitions in the committed run");
        stems.extend(timelines.iter().cloned());
        let md = std::fs::read_to_string(&g.report_md).unwrap();
        let html = std::fs::read_to_string(&g.report_html).unwrap();
        for stem in &stems {
            for ext in ["svg", "png"] {
                let p = dir.join(PLOTS_DIR).join(format!("{stem}.{ext}"));
                let len = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
                assert!(len > 1000, "{} missing or tiny ({len} bytes)", p.display());
            }
        }
        for stem in &stems[..4] {
            assert!(
                md.contains(&format!("(plots/{stem}.png)")),
                "report.md lacks {stem}"
            );
        }
        assert_eq!(g.charts.len(), 2 * stems.len());
        assert_eq!(html.matches("<svg").count(), 4, "the run's charts inline");
        // Findings first: before the contents and every summary.
        let findings = md.find("## Findings").expect("findings");
        assert!(findings < md.find("- [Summary by detector]").expect("contents"));
        // Every scenario has a page, linked from the index and linking back; its timelines
        // are on it, one per repetition.
        let scs = charts::scenarios(&view);
        assert_eq!(g.pages.len(), 2 * scs.len());
        for sc in &scs {
            let page = names::scenario_page(&sc.name);
            assert!(md.contains(&format!("]({page})")), "report.md links {page}");
            assert!(html.contains(&format!("href=\"{}\"", names::scenario_html(&sc.name))));
            let text = std::fs::read_to_string(dir.join(&page)).unwrap();
            assert!(text.contains("](../report.md)"), "{page} links back");
            for t in view
                .traces
                .iter()
                .filter(|t| t.meta.scenario.name == sc.name)
            {
                let stem = names::timeline_stem(&sc.name, &t.meta.axes, t.meta.rep);
                assert!(
                    text.contains(&format!("(../plots/{stem}.png)")),
                    "{page}: {stem}"
                );
            }
            let page_html =
                std::fs::read_to_string(dir.join(names::scenario_html(&sc.name))).unwrap();
            assert!(page_html.contains("href=\"../report.html\""));
        }
        // Sites are named as functions on the main page; the regex is only on the scenario's.
        assert!(md.contains("`main.sendResult`"), "{md}");
        assert!(
            !md.contains(r"main\.sendResult"),
            "no regex on the main page"
        );
        // Its leak ran 6.5 s after onset: detectors with a longer trend window are named as
        // possibly limited by the run, detectors without a window are not.
        let caveat = md
            .lines()
            .find(|l| l.contains("the leaks were watched for 6.5 s"))
            .expect("the window caveat");
        assert!(caveat.contains("`theil-sen-heap` (20 s)"), "{caveat}");
        assert!(!caveat.contains("goroutine-threshold"), "{caveat}");
        // The findings say how well the samples kept their schedule, from the traces.
        let sampling = md
            .lines()
            .find(|l| l.contains("**Sampling**: every 0.5 s"))
            .expect("the sampling sentence");
        assert!(sampling.contains("median over 3 repetitions"), "{sampling}");
        assert!(
            sampling.contains("no repetition was refused for late samples"),
            "{sampling}"
        );
        // Deterministic: drawing again gives the same report.
        generate(&dir, &mp).unwrap();
        assert_eq!(std::fs::read_to_string(&g.report_md).unwrap(), md);
    }

    /// A run scored before `sweep.csv` existed: one line says so, and there is no sweep chart.
    #[test]
    fn plot_without_sweep_csv_says_so_and_leaves_the_sweep_out() {
        let (_tmp, dir, mp) = committed_run_copy();
        std::fs::remove_file(dir.join(crate::evaluate::sweep::SWEEP_CSV)).unwrap();
        let g = generate(&dir, &mp).unwrap();
        assert!(!dir
            .join(PLOTS_DIR)
            .join(format!("{}.svg", content::SWEEP))
            .exists());
        assert!(!g
            .charts
            .iter()
            .any(|p| p.to_string_lossy().contains(content::SWEEP)));
        let md = std::fs::read_to_string(&g.report_md).unwrap();
        assert_eq!(
            md.lines()
                .filter(|l| l.starts_with("No threshold sweep"))
                .count(),
            1,
            "{md}"
        );
        assert!(!md.contains(&format!("plots/{}.png", content::SWEEP)));
        assert!(
            !dir.join(crate::evaluate::sweep::SWEEP_CSV).exists(),
            "plot wrote no sweep"
        );
    }

    #[test]
    fn plot_without_scores_says_what_to_run() {
        let tmp = tempfile::tempdir().unwrap();
        let e = load(tmp.path()).unwrap_err();
        assert!(crate::bad_input::is_bad_input(&e), "{e}");
        assert!(e.to_string().contains("leakbench replay"), "{e}");
    }
}
