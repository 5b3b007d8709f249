//! The report in a real browser: headless Chromium (Debian's `chromium` package) opens the
//! report of the committed plot run (`testdata/plot-run`) at 800 px, follows its links to every
//! scenario page, and the test fails on a broken image, a dead internal link or anchor, or a
//! main page wider than the window. A deliberately broken page checks that the checker
//! (`browser_check.html`) sees each of the three.
//!
//! Needs `chromium` on PATH (`apt-get install -y chromium`; `.ci/run` installs it). Without
//! it the test fails and says so, unless `LEAKBENCH_SKIP_BROWSER=1` asks to skip it.

use indicatif::{MultiProgress, ProgressDrawTarget};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CHECKER: &str = include_str!("browser_check.html");

fn chromium() -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .flat_map(|d| ["chromium", "chromium-browser"].map(|n| d.join(n)))
            .find(|p| p.is_file())
    })
}

/// Runs the checker page in headless Chromium on `roots` (pages relative to `dir`) and returns
/// its JSON answer.
fn check(browser: &Path, dir: &Path, roots: &[&str]) -> serde_json::Value {
    std::fs::write(dir.join("browser_check.html"), CHECKER).unwrap();
    let profile = tempfile::tempdir().unwrap();
    let url = format!(
        "file://{}/browser_check.html?roots={}",
        dir.display(),
        roots.join(",")
    );
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            // The checker reads the report's files to follow its links.
            "--allow-file-access-from-files",
            // Time for the checker's script to visit every page before the DOM is dumped.
            "--virtual-time-budget=5000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(&url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let deadline = Instant::now() + Duration::from_secs(90);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish within 90 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut dom = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut dom).unwrap();
    let start = dom.find("<pre id=\"out\">").expect("the checker's output") + 14;
    let end = start + dom[start..].find("</pre>").unwrap();
    let text = dom[start..end]
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("checker said {text:?}: {e}"))
}

#[test]
fn the_report_renders_in_chromium_without_broken_images_dead_links_or_overflow() {
    let Some(browser) = chromium() else {
        if std::env::var_os("LEAKBENCH_SKIP_BROWSER").is_some() {
            eprintln!("skipped: no chromium on PATH and LEAKBENCH_SKIP_BROWSER is set");
            return;
        }
        panic!(
            "no chromium on PATH (fix: `apt-get install -y chromium`, or set \
             LEAKBENCH_SKIP_BROWSER=1 to skip this test)"
        );
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let copied = Command::new("cp")
        .arg("-r")
        .arg(crate::support::root().join("harness/testdata/plot-run"))
        .arg(&dir)
        .status()
        .unwrap();
    assert!(copied.success(), "copy the committed plot run");
    let mp = MultiProgress::with_draw_target(ProgressDrawTarget::hidden());
    let g = leakbench::present::report::generate(&dir, &mp).unwrap();
    // A page with one of each fault, to show the checker catches them.
    let bad = dir.join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(
        bad.join("page.html"),
        "<!DOCTYPE html><html><body><img src=\"missing.png\"><a href=\"gone.html\">x</a>\
         <a href=\"#nowhere\">y</a><div style=\"width:1200px\">wide</div></body></html>",
    )
    .unwrap();
    let t0 = Instant::now();
    let answer = check(&browser, &dir, &["report.html", "bad/page.html"]);
    eprintln!("chromium took {:?}", t0.elapsed());
    let report = &answer[0];
    let problems: Vec<&str> = report["problems"]
        .as_array()
        .unwrap_or_else(|| panic!("{answer}"))
        .iter()
        .filter_map(|p| p.as_str())
        .collect();
    assert!(problems.is_empty(), "the report in Chromium: {problems:#?}");
    assert_eq!(
        report["pages"].as_u64(),
        Some(1 + g.pages.len() as u64 / 2),
        "the main page and every scenario page were visited: {report}"
    );
    eprintln!("main page height: {}", report["heights"]);
    let bad = answer[1]["problems"].to_string();
    for fault in [
        "broken image",
        "dead link gone.html",
        "dead anchor #nowhere",
        "wider than 800 px",
    ] {
        assert!(bad.contains(fault), "the checker missed `{fault}`: {bad}");
    }
}
