//! Nothing lost: a run SIGKILLed after its first repetition keeps it, and `run --resume`
//! completes only what is missing, with the run's own scenarios and repetition count.

use crate::support::{finish, signal, wait_until, Sandbox, FIRST_RUN};
use leakbench::run_dir::RepDir;
use std::os::unix::fs::MetadataExt;
use std::time::Duration;

/// (inode, mtime in ns, bytes) of each file of a repetition.
fn fingerprint(rep: &RepDir) -> Vec<(String, u64, i64, Vec<u8>)> {
    rep.files()
        .into_iter()
        .map(|p| {
            let m = std::fs::metadata(&p).unwrap();
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                m.ino(),
                m.mtime() * 1_000_000_000 + m.mtime_nsec(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect()
}

#[test]
fn killed_run_keeps_finished_reps_and_resume_completes_the_rest() {
    let sb = Sandbox::new("resume");
    // Matrix order: resume-a rep 0, resume-a rep 1, resume-b rep 0, resume-b rep 1.
    let child = sb
        .run(&["resume-a", "resume-b"], &["--jobs", "1", "--reps", "2"])
        .spawn()
        .unwrap();
    let first = sb.rep_dir("resume-a", 0);
    wait_until(FIRST_RUN, "the first repetition's end.json", || {
        first.is_finished()
    });
    signal(child.id(), libc::SIGKILL);
    finish(child, Duration::from_secs(10));
    sb.assert_no_survivors("killed run");

    assert_eq!(sb.end("resume-a", 0).unwrap()["status"], "completed");
    assert!(
        sb.end("resume-b", 1).is_none(),
        "the kill came too late to test resuming"
    );
    let before = fingerprint(&first);
    // No stray temp files from atomic writes.
    for e in std::fs::read_dir(first.path()).unwrap() {
        let n = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!n.starts_with('.'), "stray temp file {n}");
    }

    let mut c = crate::support::leakbench();
    c.arg("run")
        .arg("--resume")
        .arg(sb.out())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let (status, stderr) = finish(c.spawn().unwrap(), Duration::from_secs(120));
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("1 repetitions already finished, 3 to run"),
        "{stderr}"
    );

    assert_eq!(
        fingerprint(&first),
        before,
        "resume rewrote a finished repetition"
    );
    for (s, rep) in [("resume-a", 1), ("resume-b", 0), ("resume-b", 1)] {
        let end = sb
            .end(s, rep)
            .unwrap_or_else(|| panic!("{s} rep {rep} missing"));
        assert_eq!(end["status"], "completed", "{s} rep {rep}: {end}");
        assert_eq!(
            sb.samples(s, rep).len() as u64,
            end["samples"].as_u64().unwrap()
        );
    }
    sb.assert_no_survivors("resumed run");
}
