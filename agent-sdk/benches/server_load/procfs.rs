//! Resident memory and CPU time of the server process and of the CLIs it started, read from `/proc`.

use std::collections::HashMap;

/// `VmRSS` of one process in KiB (0 once it is gone).
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Every process below `root` (children, their children, ...).
pub fn descendants(root: u32) -> Vec<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        if let Some(parent) = parent_pid(pid) {
            children.entry(parent).or_default().push(pid);
        }
    }
    let mut found = Vec::new();
    let mut pending = vec![root];
    while let Some(pid) = pending.pop() {
        for &child in children.get(&pid).into_iter().flatten() {
            found.push(child);
            pending.push(child);
        }
    }
    found
}

/// User + system CPU time of one process so far (clock ticks of 10 ms on Linux).
pub fn cpu_time(pid: u32) -> std::time::Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let Some(end) = stat.rfind(')') else {
        return std::time::Duration::ZERO;
    };
    // Fields 14 and 15 (utime, stime); after the `(comm)` they are the 12th and 13th.
    let fields: Vec<&str> = stat[end + 1..].split_whitespace().collect();
    let ticks: u64 = fields[11..13]
        .iter()
        .filter_map(|f| f.parse::<u64>().ok())
        .sum();
    // SAFETY: sysconf only reads a constant of the system.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    std::time::Duration::from_micros(ticks * 1_000_000 / per_second)
}

/// The parent's pid from `/proc/<pid>/stat` (the field after the `(comm)`, which may hold spaces).
fn parent_pid(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(1)?.parse().ok()
}

/// The server's own resident memory and the sum over the processes it started, in KiB.
#[derive(Debug, Clone, Copy)]
pub struct Footprint {
    pub server_kib: u64,
    pub clis_kib: u64,
    pub clis: usize,
}

pub fn footprint(server: u32) -> Footprint {
    let below = descendants(server);
    Footprint {
        server_kib: rss_kib(server),
        clis_kib: below.iter().map(|&pid| rss_kib(pid)).sum(),
        clis: below.len(),
    }
}
