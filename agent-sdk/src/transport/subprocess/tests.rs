//! The subprocess transport with a real child process: where its stderr goes.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;

/// A stand-in CLI: two lines on stderr, then exit code 3.
const COMPLAINING_CLI: &str =
    "#!/bin/sh\necho 'first complaint' >&2\necho 'last words' >&2\nexit 3\n";

fn write_script(dir: &Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("claude");
    std::fs::write(&path, COMPLAINING_CLI).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// Runs `options` to the end and returns how the process ended.
async fn run_to_exit(options: AgentOptions) -> ExitReport {
    // A thread of another test forking while the script was open for writing keeps it
    // busy (ETXTBSY) for a moment: retry the spawn.
    let mut attempts = 0;
    let connection = loop {
        let transport = Box::new(SubprocessTransport::new(&options).unwrap());
        match transport.connect().await {
            Ok(connection) => break connection,
            Err(Error::Spawn { source, .. })
                if source.raw_os_error() == Some(libc::ETXTBSY) && attempts < 50 =>
            {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(err) => panic!("spawn failed: {err}"),
        }
    };
    let mut process = connection.process;
    tokio::time::timeout(Duration::from_secs(20), process.wait())
        .await
        .expect("the script exits")
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs `options` on one thread under a subscriber that records debug events.
fn run_with_logs(options: AgentOptions) -> (ExitReport, String) {
    let logs = Captured::default();
    let sink = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || sink.clone())
        .finish();
    let _default = tracing::subscriber::set_default(subscriber);
    // One thread, so the thread-local subscriber sees the stderr reader's task too.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let report = runtime.block_on(run_to_exit(options));
    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    (report, logs)
}

#[test]
fn without_a_callback_stderr_goes_to_tracing_and_the_exit_report_keeps_its_tail() {
    let dir = tempfile::tempdir().unwrap();
    let options = AgentOptions::builder()
        .cli_path(write_script(dir.path()))
        .build()
        .unwrap();
    let (report, logs) = run_with_logs(options);
    assert_eq!(report.code, Some(3));
    assert_eq!(report.stderr_tail, "first complaint\nlast words");
    let stderr_events: Vec<&str> = logs
        .lines()
        .filter(|line| line.contains("agent_sdk::cli_stderr"))
        .collect();
    assert_eq!(stderr_events.len(), 2, "{logs}");
    assert!(stderr_events[0].ends_with("first complaint"), "{logs}");
    assert!(stderr_events[1].ends_with("last words"), "{logs}");
}

#[test]
fn with_a_callback_it_gets_every_line_and_tracing_gets_none() {
    let dir = tempfile::tempdir().unwrap();
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    let options = AgentOptions::builder()
        .cli_path(write_script(dir.path()))
        .stderr(move |line| sink.lock().unwrap().push(line.to_owned()))
        .build()
        .unwrap();
    let (report, logs) = run_with_logs(options);
    assert_eq!(*lines.lock().unwrap(), ["first complaint", "last words"]);
    assert_eq!(report.stderr_tail, "first complaint\nlast words");
    assert!(!logs.contains("agent_sdk::cli_stderr"), "{logs}");
}
