//! The habits of the tools users know, through the binary: `replay` prints a results table
//! and exports byte-identical copies (hyperfine's `--export-*`), `compare` reads two scored
//! runs as benchstat does.

use crate::support::{leakbench, root};
use leakbench::run_dir::RunDir;
use std::path::Path;

pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

#[test]
fn replay_prints_a_table_and_exports_the_run_directorys_own_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    copy_tree(&root().join("harness/testdata/replay/run"), &run);
    let ex = tmp.path().join("exports");
    std::fs::create_dir_all(&ex).unwrap();
    let out = leakbench()
        .arg("replay")
        .arg(&run)
        .arg("--export-json")
        .arg(ex.join("s.json"))
        .arg("--export-csv")
        .arg(ex.join("s.csv"))
        .arg("--export-markdown")
        .arg(ex.join("s.md"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let own = RunDir::new(&run);
    for (export, own) in [
        ("s.json", own.summary_json()),
        ("s.csv", own.scores_csv()),
        ("s.md", own.summary_md()),
    ] {
        assert_eq!(
            std::fs::read(ex.join(export)).unwrap(),
            std::fs::read(&own).unwrap(),
            "{export} differs from {}",
            own.display()
        );
    }
    // The table: a header naming the columns, then a line per detector scored.
    assert!(stdout.starts_with("detector"), "{stdout}");
    for col in ["recall", "FA rate", "precision", "latency p50"] {
        assert!(stdout.contains(col), "no `{col}` column: {stdout}");
    }
    let detectors = stdout.lines().count() - 2;
    assert_eq!(
        detectors,
        leakbench::evaluate::detect::registry().len(),
        "{stdout}"
    );
}

#[test]
fn compare_of_a_run_with_itself_marks_every_cell_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    copy_tree(&root().join("harness/testdata/replay/run"), &run);
    let st = leakbench().arg("replay").arg(&run).output().unwrap();
    assert!(st.status.success());
    let out = leakbench()
        .args(["compare"])
        .arg(&run)
        .arg(&run)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("0 of "), "{stdout}");
    assert!(stdout.contains("~ (p=1.000"), "{stdout}");
    // Three repetitions a side cannot reach 5%: it says so.
    assert!(
        stdout.contains("not enough repetitions to tell"),
        "{stdout}"
    );
}

#[test]
fn compare_of_an_unscored_directory_is_bad_input() {
    let tmp = tempfile::tempdir().unwrap();
    let out = leakbench()
        .arg("compare")
        .arg(tmp.path())
        .arg(tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("leakbench replay"), "{stderr}");
}
