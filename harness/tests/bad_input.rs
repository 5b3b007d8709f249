//! Bad input: every case gives a one-line error naming the file or flag, the key and the fix,
//! exits with code 2, and runs or overwrites nothing.

use crate::support::{leakbench, Sandbox};
use leakbench::run_dir::RunDir;

/// A minimal valid scenario; cases edit it.
const GOOD: &str = r#"fixture = "faulty"
args = ["-mode=ok"]
duration_s = 2.0
interval_s = 0.5
[leak]
onset_s = 0.5
[truth]
leaking = false
class = "goroutine"
site = ''
"#;

/// One bad input. `scenario` (when set) is written to `SANDBOX/bad.toml`; in `args`, `@SC@`
/// is that file's path, `@OUT@` the sandbox's run directory and `@TMP@` the sandbox.
struct Case {
    name: &'static str,
    scenario: Option<Edit>,
    args: &'static [&'static str],
    /// Each must appear in stderr.
    expect: &'static [&'static str],
    /// clap's usage errors are several lines (usage, help hint); ours are one.
    clap: bool,
}

/// How a case's scenario differs from [`GOOD`].
enum Edit {
    Replace(&'static str, &'static str),
    Text(&'static str),
}

const RUN: &[&str] = &["run", "@SC@", "--out", "@OUT@"];

const CASES: &[Case] = &[
    Case {
        name: "malformed TOML",
        scenario: Some(Edit::Replace("duration_s = 2.0", "duration_s = = 2")),
        args: RUN,
        expect: &["bad.toml", "`duration_s`", "line 3", "fix:"],
        clap: false,
    },
    Case {
        name: "unknown key",
        scenario: Some(Edit::Replace("interval_s", "intervall_s")),
        args: RUN,
        expect: &["bad.toml", "`intervall_s`", "unknown key", "fix:"],
        clap: false,
    },
    Case {
        name: "unknown key in a table",
        scenario: Some(Edit::Replace("onset_s", "onsett_s")),
        args: RUN,
        expect: &["bad.toml", "`leak.onsett_s`", "unknown key", "fix:"],
        clap: false,
    },
    Case {
        name: "missing required key",
        scenario: Some(Edit::Replace("duration_s = 2.0", "")),
        args: RUN,
        expect: &[
            "bad.toml",
            "`duration_s`",
            "missing",
            "fix: add `duration_s",
        ],
        clap: false,
    },
    Case {
        name: "missing fixture directory",
        scenario: Some(Edit::Replace("\"faulty\"", "\"no-such-fixture\"")),
        args: RUN,
        expect: &["bad.toml", "`fixture`", "no fixture directory", "fix:"],
        clap: false,
    },
    Case {
        name: "fixture name with a path",
        scenario: Some(Edit::Replace("\"faulty\"", "\"../kit\"")),
        args: RUN,
        expect: &["bad.toml", "`fixture`", "not a fixture name", "fix:"],
        clap: false,
    },
    Case {
        name: "zero duration",
        scenario: Some(Edit::Replace("duration_s = 2.0", "duration_s = 0.0")),
        args: RUN,
        expect: &[
            "bad.toml",
            "`duration_s`",
            "positive",
            "fix: set duration_s > 0",
        ],
        clap: false,
    },
    Case {
        name: "negative duration",
        scenario: Some(Edit::Replace("duration_s = 2.0", "duration_s = -3.0")),
        args: RUN,
        expect: &["bad.toml", "`duration_s`", "-3", "fix: set duration_s > 0"],
        clap: false,
    },
    Case {
        name: "zero interval",
        scenario: Some(Edit::Replace("interval_s = 0.5", "interval_s = 0")),
        args: RUN,
        expect: &["bad.toml", "`interval_s`", "fix:"],
        clap: false,
    },
    Case {
        name: "interval longer than the run",
        scenario: Some(Edit::Replace("interval_s = 0.5", "interval_s = 5.0")),
        args: RUN,
        expect: &["bad.toml", "`interval_s`", "not shorter", "fix:"],
        clap: false,
    },
    Case {
        name: "negative warmup",
        scenario: Some(Edit::Replace(
            "interval_s = 0.5",
            "interval_s = 0.5\nwarmup_s = -1.0",
        )),
        args: RUN,
        expect: &["bad.toml", "`warmup_s`", "fix:"],
        clap: false,
    },
    Case {
        name: "onset after the end",
        scenario: Some(Edit::Replace("onset_s = 0.5", "onset_s = 5.0")),
        args: RUN,
        expect: &["bad.toml", "`leak.onset_s`", "not before the end", "fix:"],
        clap: false,
    },
    Case {
        name: "negative onset",
        scenario: Some(Edit::Replace("onset_s = 0.5", "onset_s = -1.0")),
        args: RUN,
        expect: &["bad.toml", "`leak.onset_s`", "fix:"],
        clap: false,
    },
    Case {
        name: "zero leak rate",
        scenario: Some(Edit::Replace("onset_s = 0.5", "onset_s = 0.5\nrate = 0.0")),
        args: RUN,
        expect: &["bad.toml", "`leak.rate`", "fix:"],
        clap: false,
    },
    Case {
        name: "zero RSS cap",
        scenario: Some(Edit::Replace(
            "interval_s = 0.5",
            "interval_s = 0.5\nrss_cap_mib = 0",
        )),
        args: RUN,
        expect: &["bad.toml", "`rss_cap_mib`", "fix:"],
        clap: false,
    },
    Case {
        name: "unknown leak class",
        scenario: Some(Edit::Replace("\"goroutine\"", "\"thread\"")),
        args: RUN,
        expect: &["bad.toml", "`truth.class`", "unknown class", "fix:"],
        clap: false,
    },
    Case {
        name: "invalid site regex",
        scenario: Some(Edit::Replace("site = ''", "site = 'main.(x'")),
        args: RUN,
        expect: &["bad.toml", "`truth.site`", "regex", "fix:"],
        clap: false,
    },
    Case {
        name: "env overriding the listen address",
        scenario: Some(Edit::Replace(
            "interval_s = 0.5",
            "interval_s = 0.5\nenv = { LEAKBENCH_LISTEN = \"0.0.0.0:80\" }",
        )),
        args: RUN,
        expect: &["bad.toml", "`env.LEAKBENCH_LISTEN`", "fix:"],
        clap: false,
    },
    Case {
        name: "not TOML at all",
        scenario: Some(Edit::Text("\u{0}\u{1}binary garbage")),
        args: RUN,
        expect: &["bad.toml", "fix:"],
        clap: false,
    },
    Case {
        name: "unknown scenario name",
        scenario: None,
        args: &["run", "no-such-scenario", "--out", "@OUT@"],
        expect: &["`no-such-scenario`", "SCENARIO", "fix:", "leakbench list"],
        clap: false,
    },
    Case {
        name: "scenario file that does not exist",
        scenario: None,
        args: &["run", "@TMP@/missing.toml", "--out", "@OUT@"],
        expect: &["missing.toml", "cannot read", "fix:"],
        clap: false,
    },
    Case {
        name: "zero repetitions",
        scenario: Some(Edit::Text(GOOD)),
        args: &["run", "@SC@", "--out", "@OUT@", "--reps", "0"],
        expect: &["--reps 0", "fix:"],
        clap: false,
    },
    Case {
        name: "bad shard",
        scenario: Some(Edit::Text(GOOD)),
        args: &["run", "@SC@", "--out", "@OUT@", "--shard", "3/2"],
        expect: &["--shard", "not a shard", "1/2"],
        clap: true,
    },
    Case {
        name: "resume of a directory that does not exist",
        scenario: None,
        args: &["run", "--resume", "@TMP@/no-such-run"],
        expect: &["--resume", "no-such-run", "no run.json", "fix:"],
        clap: false,
    },
    Case {
        name: "resume with a different repetition count",
        scenario: None,
        args: &["run", "--resume", "@TMP@", "--reps", "3"],
        expect: &["--resume", "--reps"],
        clap: true,
    },
    Case {
        name: "unknown detector name",
        scenario: None,
        args: &[
            "replay",
            "harness/testdata/replay/run",
            "--detectors",
            "stack-growth,no-such-detector",
        ],
        expect: &["--detectors", "`no-such-detector`", "fix:", "stack-growth"],
        clap: false,
    },
    Case {
        name: "baseline from an incompatible version",
        scenario: Some(Edit::Text("{\"format\": 0, \"cells\": []}")),
        args: &[
            "regress",
            "harness/testdata/replay/run",
            "--baseline",
            "@SC@",
        ],
        expect: &["bad.toml", "`format`", "--save-baseline"],
        clap: false,
    },
    Case {
        name: "bad --root",
        scenario: None,
        args: &["--root", "@TMP@", "list"],
        expect: &["--root", "fix:"],
        clap: false,
    },
];

fn expand(a: &str, sb: &Sandbox) -> String {
    a.replace("@SC@", &sb.path().join("bad.toml").display().to_string())
        .replace("@OUT@", &sb.out().display().to_string())
        .replace("@TMP@", &sb.path().display().to_string())
}

/// Runs `leakbench` and checks the bad-input contract; returns stderr.
fn check(case: &str, sb: &Sandbox, args: &[String], expect: &[&str], clap: bool) -> String {
    let out = leakbench().args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{case}: {stderr}");
    for e in expect {
        assert!(stderr.contains(e), "{case}: stderr lacks `{e}`: {stderr}");
    }
    if !clap {
        assert_eq!(
            stderr.trim().lines().count(),
            1,
            "{case}: not one line: {stderr}"
        );
        assert!(stderr.starts_with("error: "), "{case}: {stderr}");
    }
    assert!(out.stdout.is_empty(), "{case}: printed {:?}", out.stdout);
    assert!(!sb.out().exists(), "{case}: a run directory was created");
    stderr
}

#[test]
fn every_bad_input_is_one_line_exit_2_and_runs_nothing() {
    for c in CASES {
        let sb = Sandbox::new("bad");
        if let Some(edit) = &c.scenario {
            let text = match edit {
                Edit::Replace(from, to) => {
                    assert!(GOOD.contains(from), "{}: edit does not apply", c.name);
                    GOOD.replacen(from, to, 1)
                }
                Edit::Text(t) => t.to_string(),
            };
            std::fs::write(sb.path().join("bad.toml"), text).unwrap();
        }
        let args: Vec<String> = c.args.iter().map(|a| expand(a, &sb)).collect();
        check(c.name, &sb, &args, c.expect, c.clap);
    }
}

/// A result directory that cannot be used: `run.json` malformed, or unreadable (here a
/// directory where the file should be; tests may run as root, which reads any file).
#[test]
fn unusable_run_directories_are_bad_input() {
    for (case, make) in [
        ("malformed run.json", "{\"harness_version\": 1"),
        ("unreadable run.json", ""),
    ] {
        let sb = Sandbox::new("baddir");
        let run = RunDir::new(sb.path().join("run"));
        std::fs::create_dir_all(run.path()).unwrap();
        if make.is_empty() {
            std::fs::create_dir(run.run_json()).unwrap();
        } else {
            std::fs::write(run.run_json(), make).unwrap();
        }
        let args = vec![
            "run".into(),
            "--resume".into(),
            run.path().display().to_string(),
        ];
        let expect = ["run.json", "fix: point at a run directory"];
        check(case, &sb, &args, &expect, false);
        assert!(!run.traces_dir().exists(), "{case}: something ran");
    }
}

/// `--out` at an existing run: refused, and its `run.json` is not rewritten.
#[test]
fn existing_run_is_not_overwritten() {
    let sb = Sandbox::new("overwrite");
    let run = RunDir::new(sb.path().join("run"));
    std::fs::create_dir_all(run.path()).unwrap();
    std::fs::write(run.run_json(), "precious").unwrap();
    let sc = sb.scenario("ok");
    let args = vec![
        "run".into(),
        sc.display().to_string(),
        "--out".into(),
        run.path().display().to_string(),
    ];
    check(
        "existing run",
        &sb,
        &args,
        &["--out", "already recorded", "fix: pass --resume"],
        false,
    );
    assert_eq!(std::fs::read_to_string(run.run_json()).unwrap(), "precious");
    assert!(!run.traces_dir().exists());
}

/// A bad file among the repository's own scenarios stops every command: a benchmark must not
/// silently run a subset. (A stand-in repository, so the real scenarios/ is untouched.)
#[test]
fn bad_file_in_scenarios_dir_stops_list() {
    let sb = Sandbox::new("baddirlist");
    let fake = sb.path().join("repo");
    std::fs::create_dir_all(fake.join("scenarios")).unwrap();
    std::fs::create_dir_all(fake.join("go-fixtures/cmd/faulty")).unwrap();
    std::fs::write(fake.join("scenarios/good.toml"), GOOD).unwrap();
    std::fs::write(
        fake.join("scenarios/typo.toml"),
        GOOD.replace("duration_s", "duration"),
    )
    .unwrap();
    let args = vec!["--root".into(), fake.display().to_string(), "list".into()];
    check(
        "bad file in scenarios/",
        &sb,
        &args,
        &["typo.toml", "`duration`", "unknown key", "fix:"],
        false,
    );
}
