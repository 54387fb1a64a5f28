//! Resident memory of the server process and of the CLIs it started, read from `/proc`.

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
