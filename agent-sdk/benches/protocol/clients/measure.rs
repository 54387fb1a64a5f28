//! What a client of the protocol bench measures about itself: resident memory
//! (`/proc/self/status`, `/proc/self/smaps`), CPU time, the hypervisor's steal,
//! and the figures it hands back to the bench on one `FIGURES {json}` line.

use std::time::Duration;

use serde_json::{Value, json};

/// The fake CLI to start (the bench binary). The bench also sets the fake CLI's
/// own variables (mode, CPU, sizes) in this process's environment: the child
/// inherits them, so the client needs no knowledge of the fake CLI.
pub const FAKE_CLI_ENV: &str = "AGENT_SDK_BENCH_FAKE_CLI";
/// Which session this process runs: `tools` or `stream`.
pub const SESSION_ENV: &str = "AGENT_SDK_BENCH_SESSION";

/// How long a client waits once connected before it takes its idle memory:
/// what the session started at connect (threads, tasks) has settled by then.
pub const SETTLE: Duration = Duration::from_millis(100);

/// The path of the fake CLI and the session to run, from the bench.
pub fn assignment() -> (std::path::PathBuf, String) {
    let cli = std::env::var_os(FAKE_CLI_ENV).expect(
        "AGENT_SDK_BENCH_FAKE_CLI: run this through `cargo bench -p agent-sdk --bench protocol`",
    );
    let session = std::env::var(SESSION_ENV).expect("AGENT_SDK_BENCH_SESSION: tools or stream");
    (cli.into(), session)
}

/// One session's raw figures; the bench derives rates and ratios from them.
pub struct SessionFigures {
    /// The fake CLI's `bench_report` frame.
    pub report: Value,
    /// VmRSS once connected (the `initialize` answer arrived), before the prompt.
    pub idle_rss_mib: f64,
    /// VmRSS before connecting (runtime up, MCP server built).
    pub rss_before_connect_mib: f64,
    /// VmHWM at the end of the run (the peak is reset when it starts).
    pub peak_rss_mib: f64,
    pub assistant_messages: u64,
    /// From sending the prompt to receiving the `result`.
    pub run_time: Duration,
    /// CPU time (user + system) this process spent over the same span.
    pub cpu: Duration,
    /// Share of the machine's CPU time the hypervisor took over the same span.
    pub steal_percent: f64,
    /// Where the idle memory is (see [`memory_breakdown`]).
    pub idle_breakdown: Value,
}

impl SessionFigures {
    /// Prints the figures for the bench, which reads the `FIGURES` line.
    pub fn hand_back(self) {
        let figures = json!({
            "report": self.report,
            "idle_rss_mib": self.idle_rss_mib,
            "rss_before_connect_mib": self.rss_before_connect_mib,
            "peak_rss_mib": self.peak_rss_mib,
            "assistant_messages": self.assistant_messages,
            "run_time_s": self.run_time.as_secs_f64(),
            "cpu_s": self.cpu.as_secs_f64(),
            "steal_percent": self.steal_percent,
            "idle_breakdown": self.idle_breakdown,
        });
        println!("FIGURES {figures}");
    }
}

/// Where this process's resident memory is, in KiB, from `/proc/self/smaps`:
/// the program's own file (code, read-only data, and its relocated data, which
/// is anonymous once written), the shared libraries, the main heap, glibc's
/// per-thread malloc arenas, thread stacks, and the threads by name.
pub fn memory_breakdown() -> Value {
    let exe = std::fs::read_link("/proc/self/exe").unwrap_or_default();
    let exe = exe.to_string_lossy();
    let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap_or_default();
    // (start, end, permissions, name, Rss kB, Anonymous kB) per mapping.
    let mut maps: Vec<(u64, u64, String, String, u64, u64)> = Vec::new();
    for line in smaps.lines() {
        let mut fields = line.split_whitespace();
        let first = fields.next().unwrap_or("");
        if let Some((start, end)) = first.split_once('-')
            && let (Ok(start), Ok(end)) =
                (u64::from_str_radix(start, 16), u64::from_str_radix(end, 16))
        {
            let perms = fields.next().unwrap_or("").to_owned();
            let name = fields.nth(3).unwrap_or("").to_owned();
            maps.push((start, end, perms, name, 0, 0));
        } else if let Some(last) = maps.last_mut() {
            let kib = |rest: &str| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse()
                    .unwrap_or(0)
            };
            if let Some(rest) = line.strip_prefix("Rss:") {
                last.4 = kib(rest);
            } else if let Some(rest) = line.strip_prefix("Anonymous:") {
                last.5 = kib(rest);
            }
        }
    }
    let mut parts = serde_json::Map::new();
    let mut add = |key: &str, kib: u64| {
        let entry = parts.entry(key).or_insert(json!(0));
        *entry = json!(entry.as_u64().unwrap_or(0) + kib);
    };
    for (i, (start, end, perms, name, rss, anon)) in maps.iter().enumerate() {
        // A thread's stack sits above its guard page; a glibc arena's used part
        // below the rest of its 64 MiB, reserved without access.
        let after_guard = i > 0
            && maps[i - 1].1 == *start
            && maps[i - 1].2.starts_with("---")
            && maps[i - 1].1 - maps[i - 1].0 <= 64 * 1024;
        let before_reserve = maps.get(i + 1).is_some_and(|next| {
            next.0 == *end && next.2.starts_with("---") && next.1 - next.0 > 1024 * 1024
        });
        match name.as_str() {
            n if !n.is_empty() && n == exe => {
                add("binary_file", rss - anon);
                add("binary_relocated", *anon);
            }
            n if n.contains("/libc.") || n.contains("/libc-") => add("libc", *rss),
            n if n.contains(".so") => add("other_libraries", *rss),
            "[heap]" => add("main_heap", *rss),
            "[stack]" => add("main_stack", *rss),
            "" if perms.starts_with("rw") && after_guard => add("thread_stacks", *rss),
            // A glibc arena: its used part, then the rest of its 64 MiB reserved.
            "" if perms.starts_with("rw") && before_reserve => add("malloc_arenas", *rss),
            "" => add("other_anonymous", *rss),
            _ => add("other", *rss),
        }
    }
    let threads: Vec<String> = std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("comm")).ok())
        .map(|name| name.trim().to_owned())
        .collect();
    parts.insert("threads".into(), json!(threads));
    Value::Object(parts)
}

/// With `AGENT_SDK_BENCH_PAGES=<file>`: writes the file offsets of this
/// program's resident pages to `<file>.<when>` (one hex offset a line, from
/// `/proc/self/pagemap`), to find which code a step brought in (with `nm`).
pub fn dump_resident_pages(when: &str) {
    use std::io::{Read, Seek, SeekFrom, Write};
    let Some(path) = std::env::var_os("AGENT_SDK_BENCH_PAGES") else {
        return;
    };
    let exe = std::fs::read_link("/proc/self/exe").unwrap_or_default();
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
    let Ok(mut pagemap) = std::fs::File::open("/proc/self/pagemap") else {
        return;
    };
    let mut out = String::new();
    for line in maps.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 6 || std::path::Path::new(fields[5]) != exe {
            continue;
        }
        let (Some((start, end)), Ok(offset)) = (
            fields[0].split_once('-'),
            u64::from_str_radix(fields[2], 16),
        ) else {
            continue;
        };
        let (Ok(start), Ok(end)) = (u64::from_str_radix(start, 16), u64::from_str_radix(end, 16))
        else {
            continue;
        };
        for page in (start..end).step_by(4096) {
            let mut entry = [0u8; 8];
            if pagemap.seek(SeekFrom::Start(page / 4096 * 8)).is_ok()
                && pagemap.read_exact(&mut entry).is_ok()
                && u64::from_le_bytes(entry) >> 63 == 1
            {
                out += &format!("{:x} {}\n", offset + page - start, fields[1]);
            }
        }
    }
    let mut name = path;
    name.push(format!(".{when}"));
    if let Ok(mut file) = std::fs::File::create(name) {
        let _ = file.write_all(out.as_bytes());
    }
}

/// With `AGENT_SDK_BENCH_SMAPS=<kB>`: every mapping with at least that much
/// resident, and the process's threads.
pub fn print_smaps(when: &str) {
    let Some(threshold) = std::env::var("AGENT_SDK_BENCH_SMAPS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    else {
        return;
    };
    println!("mappings with at least {threshold} kB resident, {when}:");
    let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap_or_default();
    let mut current = String::new();
    for line in smaps.lines() {
        if line.contains('-') && !line.starts_with(|c: char| c.is_ascii_uppercase()) {
            current = line.to_owned();
        } else if let Some(rss) = line.strip_prefix("Rss:") {
            let kib: u64 = rss
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .unwrap_or(0);
            if kib >= threshold {
                println!("{kib:>6} kB {current}");
            }
        }
    }
    println!("{}", memory_breakdown());
    println!(
        "VmRSS {:.2} MiB = RssAnon {:.2} + RssFile {:.2} (the mapped binary and libc) + RssShmem {:.2}",
        rss_mib(),
        status_mib("RssAnon:"),
        status_mib("RssFile:"),
        status_mib("RssShmem:")
    );
}

/// Resets this process's peak resident memory (`VmHWM`) to its current size.
pub fn reset_peak_rss() {
    // "5" in clear_refs resets the peak RSS (Linux 4.0+); best effort.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// `(steal, total)` jiffies of all CPUs, from the `cpu` line of `/proc/stat`.
pub fn machine_cpu_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let fields: Vec<u64> = stat
        .lines()
        .find_map(|line| line.strip_prefix("cpu "))
        .map(|rest| {
            rest.split_whitespace()
                .filter_map(|v| v.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    // user nice system idle iowait irq softirq steal (guest time is inside user).
    let total = fields.iter().take(8).sum();
    (fields.get(7).copied().unwrap_or(0), total)
}

/// The share of `start..end` the hypervisor stole, in percent.
pub fn steal_percent(start: (u64, u64), end: (u64, u64)) -> f64 {
    let total = end.1.saturating_sub(start.1);
    if total == 0 {
        return 0.0;
    }
    100.0 * end.0.saturating_sub(start.0) as f64 / total as f64
}

/// User + system CPU time of this process so far.
pub fn cpu_time() -> Duration {
    // SAFETY: getrusage fills the struct we hand it and touches nothing else.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let micros = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    Duration::from_micros(micros(usage.ru_utime) + micros(usage.ru_stime))
}

/// `VmRSS` of this process, from `/proc/self/status`.
pub fn rss_mib() -> f64 {
    status_mib("VmRSS:")
}

/// A `kB` field of `/proc/self/status`, in MiB.
pub fn status_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}
