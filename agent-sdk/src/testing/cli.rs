//! [`ensure_cli`]: find the pinned `claude` CLI, or install it with npm.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::TestingError;

/// The Claude Code CLI version the tests are pinned to.
pub const PINNED_CLI_VERSION: &str = "2.1.330";

/// The npm package of the CLI.
pub const CLI_NPM_PACKAGE: &str = "@anthropic-ai/claude-code";

/// Environment variable naming a `claude` executable to use instead of searching.
pub const CLI_PATH_ENV: &str = "CLAUDE_CLI_PATH";

const VERSION_TIMEOUT: Duration = Duration::from_secs(60);
const INSTALL_TIMEOUT: Duration = Duration::from_secs(900);
/// How much of npm's output a failed install reports.
const OUTPUT_TAIL_BYTES: usize = 4000;

type CliResult = Result<PathBuf, TestingError>;

/// One lookup per directory per process: concurrent tests share it.
fn cache() -> &'static Mutex<HashMap<PathBuf, Arc<OnceLock<CliResult>>>> {
    static CACHE: OnceLock<Mutex<HashMap<PathBuf, Arc<OnceLock<CliResult>>>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// Finds the pinned `claude` CLI, installing it into the workspace root when
/// missing, and returns its path.
///
/// Looks, in order, at `$CLAUDE_CLI_PATH` (must be the pinned version),
/// `<workspace root>/node_modules/.bin/claude` (on Windows the package's
/// `bin/claude.exe`), then `claude` on `PATH`;
/// a candidate of another version is skipped (except `$CLAUDE_CLI_PATH`,
/// which is an error). Otherwise it runs
/// `npm install --prefix <workspace root> --no-save --no-package-lock @anthropic-ai/claude-code@2.1.330`
/// and checks that `claude --version` prints [`PINNED_CLI_VERSION`].
///
/// The work is done once per process (later and concurrent calls share
/// the result) on a blocking thread. The workspace root is the top
/// directory holding a `Cargo.toml` with `[workspace]`, searched upwards
/// from `$CARGO_MANIFEST_DIR` or the current directory.
///
/// ```no_run
/// # async fn demo() -> Result<(), agent_sdk::testing::TestingError> {
/// let cli = agent_sdk::testing::ensure_cli().await?;
/// println!("using {}", cli.display());
/// # Ok(())
/// # }
/// ```
pub async fn ensure_cli() -> Result<PathBuf, TestingError> {
    let root = workspace_root()?;
    ensure_cli_in(root).await
}

/// [`ensure_cli`] with an explicit install directory instead of the workspace root.
///
/// ```no_run
/// # async fn demo() -> Result<(), agent_sdk::testing::TestingError> {
/// let cli = agent_sdk::testing::ensure_cli_in("/tmp/claude-cli").await?;
/// # let _ = cli;
/// # Ok(())
/// # }
/// ```
pub async fn ensure_cli_in(dir: impl Into<PathBuf>) -> Result<PathBuf, TestingError> {
    let dir = dir.into();
    tokio::task::spawn_blocking(move || ensure_cli_blocking_in(&dir))
        .await
        .map_err(|e| TestingError::from(std::io::Error::other(e)))?
}

/// The blocking form of [`ensure_cli_in`], for code without a runtime.
///
/// ```no_run
/// let cli = agent_sdk::testing::ensure_cli_blocking_in(std::path::Path::new("/tmp/claude-cli"))?;
/// # let _ = cli;
/// # Ok::<(), agent_sdk::testing::TestingError>(())
/// ```
pub fn ensure_cli_blocking_in(dir: &Path) -> Result<PathBuf, TestingError> {
    let cell = {
        let mut cache = cache().lock().unwrap_or_else(|e| e.into_inner());
        cache.entry(dir.to_path_buf()).or_default().clone()
    };
    cell.get_or_init(|| find_or_install(dir)).clone()
}

fn find_or_install(dir: &Path) -> CliResult {
    if let Some(path) = std::env::var_os(CLI_PATH_ENV).filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        check_version(&path)?;
        return Ok(path);
    }
    let local = local_cli(dir);
    let on_path = find_on_path(if cfg!(windows) {
        "claude.exe"
    } else {
        "claude"
    });
    for candidate in std::iter::once(local.clone()).chain(on_path) {
        if candidate.is_file() && check_version(&candidate).is_ok() {
            return Ok(candidate);
        }
    }
    install(Path::new("npm"), dir)?;
    check_version(&local)?;
    Ok(local)
}

fn local_cli(dir: &Path) -> PathBuf {
    crate::transport::command::npm_cli_path(dir)
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Runs `<cli> --version` and checks it starts with the pinned version.
fn check_version(cli: &Path) -> Result<(), TestingError> {
    let mut command = Command::new(cli);
    command.arg("--version");
    let (status, output) =
        run_bounded(&mut command, VERSION_TIMEOUT).map_err(|source| TestingError::CliVersion {
            path: cli.to_path_buf(),
            found: format!("could not run it: {source}"),
        })?;
    let first_line = output.lines().next().unwrap_or_default().trim().to_owned();
    let version = first_line.split_whitespace().next().unwrap_or_default();
    if status.success() && version == PINNED_CLI_VERSION {
        Ok(())
    } else {
        Err(TestingError::CliVersion {
            path: cli.to_path_buf(),
            found: if first_line.is_empty() {
                format!("no output ({status})")
            } else {
                first_line
            },
        })
    }
}

fn install(npm: &Path, dir: &Path) -> Result<(), TestingError> {
    std::fs::create_dir_all(dir)?;
    let spec = format!("{CLI_NPM_PACKAGE}@{PINNED_CLI_VERSION}");
    let mut command = Command::new(npm);
    command
        .arg("install")
        .arg("--prefix")
        .arg(dir)
        .args(["--no-save", "--no-package-lock", "--no-audit", "--no-fund"])
        .arg(&spec);
    let failed = |output: String| TestingError::CliInstall {
        dir: dir.to_path_buf(),
        output_tail: tail(&output, OUTPUT_TAIL_BYTES),
    };
    match run_bounded(&mut command, INSTALL_TIMEOUT) {
        Ok((status, _)) if status.success() => Ok(()),
        Ok((status, output)) => Err(failed(format!("{output}\nnpm exited with {status}"))),
        Err(error) => Err(failed(format!("could not run npm: {error}"))),
    }
}

/// Runs `command` with stdout and stderr merged into one string, killing it after `timeout`.
fn run_bounded(command: &mut Command, timeout: Duration) -> std::io::Result<(ExitStatus, String)> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let readers: Vec<_> = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .flatten()
    .map(|mut pipe| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    })
    .collect();
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("did not finish within {timeout:?}"),
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut output = String::new();
    for reader in readers {
        let bytes = reader.join().unwrap_or_default();
        output.push_str(&String::from_utf8_lossy(&bytes));
    }
    Ok((status, output))
}

fn tail(text: &str, max: usize) -> String {
    let mut start = text.len().saturating_sub(max);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    text[start..].to_owned()
}

/// The top directory holding a `Cargo.toml` with `[workspace]`, searched upwards
/// from `$CARGO_MANIFEST_DIR` (set by cargo for tests) or the current directory.
///
/// ```no_run
/// let root = agent_sdk::testing::workspace_root()?;
/// assert!(root.join("Cargo.toml").is_file());
/// # Ok::<(), agent_sdk::testing::TestingError>(())
/// ```
pub fn workspace_root() -> Result<PathBuf, TestingError> {
    let start = match std::env::var_os("CARGO_MANIFEST_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => std::env::current_dir()?,
    };
    start
        .ancestors()
        .filter(|dir| {
            std::fs::read_to_string(dir.join("Cargo.toml"))
                .is_ok_and(|manifest| manifest.lines().any(|l| l.trim() == "[workspace]"))
        })
        .last()
        .map(Path::to_path_buf)
        .ok_or(TestingError::NoWorkspaceRoot { start })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_this_workspace() {
        let root = workspace_root().unwrap();
        assert!(root.join("agent-sdk").join("Cargo.toml").is_file());
    }

    #[test]
    fn tail_keeps_the_end_on_a_char_boundary() {
        assert_eq!(tail("abcdef", 3), "def");
        assert_eq!(tail("ab", 10), "ab");
        assert_eq!(tail("aé", 1), "");
    }

    #[cfg(unix)]
    #[test]
    fn a_failed_install_reports_the_tail_of_npm_output() {
        let dir = tempfile::tempdir().unwrap();
        let npm = dir.path().join("fake-npm");
        std::fs::write(
            &npm,
            "#!/bin/sh\necho \"npm args: $*\"\necho 'npm error code E404' >&2\nexit 1\n",
        )
        .unwrap();
        std::fs::set_permissions(&npm, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let prefix = dir.path().join("prefix");
        let error = install(&npm, &prefix).unwrap_err();
        let TestingError::CliInstall {
            dir: got,
            output_tail,
        } = &error
        else {
            panic!("unexpected {error:?}");
        };
        assert_eq!(got, &prefix);
        assert!(output_tail.contains("npm error code E404"), "{output_tail}");
        assert!(
            output_tail.contains(
                "--no-save --no-package-lock --no-audit --no-fund @anthropic-ai/claude-code@2.1.330"
            ),
            "{output_tail}"
        );
        assert!(
            error
                .to_string()
                .contains("could not install @anthropic-ai/claude-code@2.1.330")
        );

        let missing = install(&dir.path().join("no-npm-here"), &prefix).unwrap_err();
        assert!(
            missing.to_string().contains("could not run npm"),
            "{missing}"
        );
    }

    #[test]
    fn a_missing_executable_is_a_version_error() {
        let error = check_version(Path::new("/nonexistent/claude")).unwrap_err();
        assert!(matches!(error, TestingError::CliVersion { .. }), "{error}");
    }
}
