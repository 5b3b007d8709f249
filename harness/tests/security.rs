//! Security: fixtures listen on loopback only, no shell ever interprets a scenario string, and
//! a relative scenario path cannot leave the repository.

use crate::support::{finish, root, wait_until, Sandbox};
use std::time::Duration;

/// Inodes of the sockets a process has open (`/proc/PID/fd/* -> socket:[INODE]`).
fn socket_inodes(pid: u32) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return vec![];
    };
    rd.flatten()
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .filter_map(|l| {
            let l = l.to_string_lossy().into_owned();
            Some(l.strip_prefix("socket:[")?.strip_suffix(']')?.to_string())
        })
        .collect()
}

/// Local addresses of the LISTEN sockets among `inodes`, from `/proc/PID/net/tcp{,6}`, whose
/// lines look like
/// ```text
///   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
///    0: 0100007F:A1B2 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345
/// ```
/// (state `0A` is LISTEN; the address is hex, in host byte order per 32-bit word).
fn listening(pid: u32, inodes: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for table in ["tcp", "tcp6"] {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).unwrap_or_default();
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() > 9 && f[3] == "0A" && inodes.iter().any(|i| i == f[9]) {
                out.push(f[1].to_string());
            }
        }
    }
    out
}

fn is_loopback_hex(addr: &str) -> bool {
    let host = addr.split(':').next().unwrap_or_default();
    match host.len() {
        8 => host.ends_with("7F"), // 127.x.x.x, little-endian
        32 => host == "00000000000000000000000001000000", // ::1
        _ => false,
    }
}

#[test]
fn fixtures_listen_on_loopback_only() {
    let sb = Sandbox::new("loopback");
    let mut child = sb.run(&["sender", "ok"], &["--jobs", "2"]).spawn().unwrap();
    sb.wait_for_fixtures(2, &mut child);
    let mut seen = Vec::new();
    wait_until(Duration::from_secs(30), "both fixtures listening", || {
        seen = sb
            .survivors()
            .iter()
            .flat_map(|(pid, _)| listening(*pid, &socket_inodes(*pid)))
            .collect();
        seen.len() >= 2
    });
    for a in &seen {
        assert!(is_loopback_hex(a), "a fixture listens on {a}, not loopback");
    }
    let (status, stderr) = finish(child, Duration::from_secs(60));
    assert_eq!(status.code(), Some(0), "{stderr}");
}

#[test]
fn loopback_check_parses_proc_net_tcp() {
    assert!(is_loopback_hex("0100007F:A1B2"));
    assert!(!is_loopback_hex("00000000:A1B2"));
    assert!(is_loopback_hex("00000000000000000000000001000000:0050"));
    assert!(!is_loopback_hex("00000000000000000000000000000000:0050"));
}

#[test]
fn scenario_strings_reach_the_fixture_literally() {
    let sb = Sandbox::new("shell");
    let (status, stderr) = finish(
        sb.run(&["shell"], &[]).spawn().unwrap(),
        Duration::from_secs(180),
    );
    assert_eq!(status.code(), Some(0), "{stderr}");
    for i in 1..=5 {
        let p = sb.path().join(format!("pwned{i}"));
        assert!(
            !p.exists(),
            "a shell ran a scenario string: {} exists",
            p.display()
        );
    }
    // The fixture logs its argument vector as JSON: the scenario's args arrive unchanged.
    let log = std::fs::read_to_string(sb.rep_dir("shell", 0).fixture_log()).unwrap();
    let line = log
        .lines()
        .find_map(|l| l.strip_prefix("faulty args: "))
        .expect("the fixture logged its arguments");
    let got: Vec<String> = serde_json::from_str(line).unwrap();
    let text = std::fs::read_to_string(sb.scenario("shell")).unwrap();
    let want: Vec<String> = toml::from_str::<toml::Value>(&text).unwrap()["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert!(
        got.ends_with(&want),
        "the fixture got {got:?}, the scenario says {want:?}"
    );
    assert!(want.iter().any(|a| a.contains("$(touch")));
}

#[test]
fn relative_scenario_path_cannot_leave_the_repository() {
    let sb = Sandbox::new("escape");
    let abs = sb.scenario("ok");
    // The same file by a relative path from the repository root: `../../tmp/...`.
    let ups = "../".repeat(root().components().count() - 1);
    let rel = format!("{ups}{}", abs.display().to_string().trim_start_matches('/'));
    let out = crate::support::leakbench()
        .args(["run", &rel, "--out"])
        .arg(sb.out())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("leaves the repository"), "{stderr}");
    assert!(stderr.contains("absolute path"), "{stderr}");
    assert!(!sb.out().exists(), "something was written");
}
