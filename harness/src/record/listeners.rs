//! Which TCP addresses a process listens on, from `/proc`: so a program of the user's own that
//! became ready by pprof answering (it printed no readiness line naming its address) can be
//! refused when it also listens beyond loopback.
//!
//! Owns the parsing of `/proc/PID/net/tcp{,6}` and of a process's socket descriptors. Must not
//! start or stop processes (that is [`crate::record::launch`]).

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The first address `pid` listens on that is not loopback, if any. Unreadable `/proc`
/// entries (the process is gone, another user's) count as none: the probes then see it.
pub fn non_loopback(pid: u32) -> Option<String> {
    let inodes = socket_inodes(pid);
    ["tcp", "tcp6"]
        .iter()
        .filter_map(|t| std::fs::read_to_string(format!("/proc/{pid}/net/{t}")).ok())
        .flat_map(|text| listening(&text))
        .find(|(addr, inode)| inodes.contains(inode) && !addr.ip().is_loopback())
        .map(|(addr, _)| addr.to_string())
}

/// The inodes of the sockets `pid` holds (`/proc/PID/fd/N` → `socket:[INODE]`).
fn socket_inodes(pid: u32) -> BTreeSet<u64> {
    let Ok(rd) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return BTreeSet::new();
    };
    rd.flatten()
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .filter_map(|l| {
            let l = l.to_string_lossy().into_owned();
            l.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
        })
        .collect()
}

/// The listening sockets of a `/proc/net/tcp{,6}` table: (local address, inode). A line reads
/// `sl local_address rem_address st ... inode`, the address as hex words in host byte order
/// and `st` `0A` for LISTEN.
pub fn listening(table: &str) -> Vec<(SocketAddr, u64)> {
    table
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() < 10 || f[3] != "0A" {
                return None;
            }
            let (ip, port) = f[1].split_once(':')?;
            let port = u16::from_str_radix(port, 16).ok()?;
            Some((SocketAddr::new(parse_ip(ip)?, port), f[9].parse().ok()?))
        })
        .collect()
}

fn parse_ip(hex: &str) -> Option<IpAddr> {
    let words: Option<Vec<[u8; 4]>> = (0..hex.len() / 8)
        .map(|i| {
            u32::from_str_radix(hex.get(i * 8..i * 8 + 8)?, 16)
                .ok()
                .map(u32::to_le_bytes)
        })
        .collect();
    let bytes: Vec<u8> = words?.concat();
    match bytes.len() {
        4 => Some(IpAddr::V4(Ipv4Addr::new(
            bytes[0], bytes[1], bytes[2], bytes[3],
        ))),
        16 => Some(IpAddr::V6(Ipv6Addr::from(
            <[u8; 16]>::try_from(bytes).ok()?,
        ))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_parse_to_listening_addresses() {
        let v4 = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
           0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 111 1 0 100 0 0 10 0\n\
           1: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 222 1 0 100 0 0 10 0\n\
           2: 0100007F:1F91 0100007F:C350 01 00000000:00000000 00:00000000 00000000  1000        0 333 1 0 100 0 0 10 0\n";
        assert_eq!(
            listening(v4),
            [
                ("127.0.0.1:8080".parse().unwrap(), 111),
                ("0.0.0.0:80".parse().unwrap(), 222)
            ]
        );
        let v6 = "header\n   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 444 1 0\n";
        assert_eq!(listening(v6), [("[::1]:8080".parse().unwrap(), 444)]);
    }

    #[test]
    fn a_process_listening_on_any_address_is_found() {
        let l = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let bad = non_loopback(std::process::id()).expect("found");
        assert!(bad.starts_with("0.0.0.0:"), "{bad} (port {port})");
        drop(l);
    }
}
