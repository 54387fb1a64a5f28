//! The fake `claude` CLI: one program, started by the SDK through `cli_path`,
//! that speaks the CLI's side of the protocol over the real pipes. The
//! scenario comes from `AGENT_SDK_FAKE_CLI` in its environment:
//!
//! - `tools` and `stream` ([`bench`]) drive the SDK as fast as the pipes allow
//!   and time it, for the `protocol` benchmark (which runs its own binary as
//!   this fake CLI);
//! - every other name is a fault ([`faults`]): the CLI exits, is killed,
//!   floods, lies or never answers, for the fault tests (which run the
//!   `agent-sdk-fake-cli` binary).
//!
//! Plain blocking std I/O, so that this side costs little and the figures
//! measure the SDK.

pub mod bench;
// Only the fault tests' binary (which needs the `testing` feature) plays faults:
// the bench binary (built without it) then carries no fault code, whose pages
// would count in the resident memory the bench reports.
#[cfg(feature = "testing")]
mod faults;
pub mod frames;
#[cfg(feature = "testing")]
pub mod server_load;

use std::io::{BufRead, BufReader, BufWriter, Write};

use serde_json::Value;

/// Environment variable that turns a program into the fake CLI; its value is the scenario.
pub const SCENARIO_ENV: &str = "AGENT_SDK_FAKE_CLI";
/// Optional: a file the fake CLI writes its pid into when it starts.
pub const PID_FILE_ENV: &str = "AGENT_SDK_FAKE_CLI_PID_FILE";

const IO_BUFFER: usize = 64 * 1024;

type Fail = Box<dyn std::error::Error>;

/// Plays `scenario` on stdin/stdout and exits the process.
pub fn run(scenario: &str) -> ! {
    if let Some(file) = std::env::var_os(PID_FILE_ENV) {
        std::fs::write(file, std::process::id().to_string()).expect("writing the pid file");
    }
    let outcome = match scenario {
        "tools" | "stream" => bench::serve(scenario),
        #[cfg(feature = "testing")]
        "server_load" => server_load::serve(),
        #[cfg(feature = "testing")]
        fault => faults::serve(fault),
        #[cfg(not(feature = "testing"))]
        fault => Err(format!("fault scenario {fault:?} needs the `testing` feature").into()),
    };
    let code = match outcome {
        Ok(()) => 0,
        Err(err) => {
            eprintln!("fake CLI ({scenario}): {err}");
            1
        }
    };
    std::process::exit(code)
}

/// The CLI's ends of the pipes: stdin from the SDK, stdout to it.
struct Pipes {
    input: BufReader<std::io::StdinLock<'static>>,
    output: BufWriter<std::io::StdoutLock<'static>>,
    line: Vec<u8>,
}

impl Pipes {
    fn new() -> Pipes {
        Pipes {
            input: BufReader::with_capacity(IO_BUFFER, std::io::stdin().lock()),
            output: BufWriter::with_capacity(IO_BUFFER, std::io::stdout().lock()),
            line: Vec::with_capacity(4096),
        }
    }

    /// The next stdin line (without `\n`); `None` at EOF.
    fn next_line(&mut self) -> std::io::Result<Option<&[u8]>> {
        self.line.clear();
        if self.input.read_until(b'\n', &mut self.line)? == 0 {
            return Ok(None);
        }
        Ok(Some(self.line.trim_ascii_end()))
    }

    /// The next stdin line (without `\n`); an error at EOF.
    fn read_line(&mut self) -> Result<&[u8], Fail> {
        self.next_line()?
            .ok_or_else(|| "the SDK closed stdin early".into())
    }

    /// Whether a line (or EOF) can be read without waiting longer than `timeout`.
    ///
    /// A line that has started to arrive is read whole: the SDK writes each frame
    /// at once, so its rest follows at once. (Only fault scenarios wait like this.)
    #[cfg(feature = "testing")]
    fn readable_within(&self, timeout: std::time::Duration) -> bool {
        if self.input.buffer().contains(&b'\n') {
            return true;
        }
        let mut stdin = libc::pollfd {
            fd: libc::STDIN_FILENO,
            events: libc::POLLIN,
            revents: 0,
        };
        let millis = timeout.as_millis().min(i32::MAX as u128) as i32;
        // SAFETY: one valid pollfd, and its count is 1.
        let ready = unsafe { libc::poll(&mut stdin, 1, millis) };
        ready != 0 // an error (-1) is reported by the read that follows
    }

    /// Writes one frame and its newline, without flushing.
    fn write_frame(&mut self, frame: &Value) -> Result<(), Fail> {
        serde_json::to_writer(&mut self.output, frame)?;
        self.output.write_all(b"\n")?;
        Ok(())
    }
}

/// Pins the calling thread (and the threads it starts later) to one CPU.
#[cfg(target_os = "linux")]
pub fn pin_to_cpu(cpu: usize) -> bool {
    // SAFETY: cpu_set_t is plain data; CPU_ZERO/CPU_SET write inside it, and
    // sched_setaffinity(0, ..) only changes this thread's affinity mask.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_ZERO(&mut set);
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
    }
}

/// CPU affinity is Linux's: elsewhere nothing is pinned.
#[cfg(not(target_os = "linux"))]
pub fn pin_to_cpu(_cpu: usize) -> bool {
    false
}
