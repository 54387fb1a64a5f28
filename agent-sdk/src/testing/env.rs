//! [`TestEnv`]: a [`FakeApi`] plus scratch `HOME` and working directories.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use crate::options::AgentOptionsBuilder;

use super::script::Script;
use super::server::FakeApi;

/// The dummy API key given to the CLI (the fake API ignores it).
pub const DUMMY_API_KEY: &str = "sk-ant-fake-api-key-for-offline-tests";

/// Everything one offline test needs: a running [`FakeApi`], a scratch
/// `HOME` and a scratch working directory outside any git checkout (the CLI
/// treats an enclosing repository as its project and may write into it).
/// Both directories are removed when the `TestEnv` is dropped.
///
/// ```no_run
/// use agent_sdk::AgentOptions;
/// use agent_sdk::testing::{Script, TestEnv, Turn, ensure_cli};
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let env = TestEnv::start(Script::new().then(Turn::text("hi"))).await?;
/// let options = env
///     .configure(AgentOptions::builder())
///     .cli_path(ensure_cli().await?)
///     .build()?;
/// # let _ = options;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct TestEnv {
    api: FakeApi,
    home: PathBuf,
    cwd: PathBuf,
    // Last: removed after the paths above stop being used.
    _scratch: tempfile::TempDir,
}

impl TestEnv {
    /// Starts a [`FakeApi`] serving `script` and creates the scratch directories.
    ///
    /// ```no_run
    /// # async fn demo() -> std::io::Result<()> {
    /// let env = agent_sdk::testing::TestEnv::start(agent_sdk::testing::Script::new()).await?;
    /// assert!(env.cwd().is_dir());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn start(script: Script) -> io::Result<TestEnv> {
        let scratch = tempfile::Builder::new()
            .prefix("agent-sdk-test-")
            .tempdir()?;
        let home = scratch.path().join("home");
        let cwd = scratch.path().join("work");
        std::fs::create_dir_all(&home)?;
        std::fs::create_dir_all(&cwd)?;
        let api = FakeApi::start(script).await?;
        Ok(TestEnv {
            api,
            home,
            cwd,
            _scratch: scratch,
        })
    }

    /// The fake API.
    ///
    /// ```no_run
    /// # fn demo(env: &agent_sdk::testing::TestEnv) {
    /// println!("{} requests", env.api().requests().len());
    /// # }
    /// ```
    pub fn api(&self) -> &FakeApi {
        &self.api
    }

    /// The scratch `HOME` of the CLI (its `~/.claude` lands here).
    ///
    /// ```no_run
    /// # fn demo(env: &agent_sdk::testing::TestEnv) {
    /// assert!(env.home().is_dir());
    /// # }
    /// ```
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// The scratch working directory of the CLI (not inside any git checkout).
    ///
    /// ```no_run
    /// # fn demo(env: &agent_sdk::testing::TestEnv) {
    /// std::fs::write(env.cwd().join("input.txt"), "data").unwrap();
    /// # }
    /// ```
    pub fn cwd(&self) -> &Path {
        &self.cwd
    }

    /// The environment the CLI needs to talk to the fake API offline:
    /// `ANTHROPIC_BASE_URL`, a dummy `ANTHROPIC_API_KEY`,
    /// `CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1`, `DISABLE_AUTOUPDATER=1`,
    /// `ENABLE_TOOL_SEARCH=false` (MCP tools inline in `tools` rather than
    /// deferred behind ToolSearch), `CLAUDE_CODE_MAX_RETRIES=0` (a scripted
    /// 5xx/429 error fails the turn at once instead of being retried with
    /// backoff for minutes; set it higher after `configure` to test retries)
    /// and the scratch `HOME` (with `CLAUDE_CONFIG_DIR` inside it). It also
    /// turns off `CLAUDE_CODE_USE_BEDROCK`/`_VERTEX`/`_FOUNDRY` in case the
    /// test process inherited them. Later `.env(..)` calls on the builder win.
    ///
    /// ```no_run
    /// # fn demo(env: &agent_sdk::testing::TestEnv) {
    /// let mut command = tokio::process::Command::new("claude");
    /// command.envs(env.cli_env()).current_dir(env.cwd());
    /// # }
    /// ```
    pub fn cli_env(&self) -> BTreeMap<String, String> {
        [
            ("ANTHROPIC_BASE_URL", self.api.base_url()),
            ("ANTHROPIC_API_KEY", DUMMY_API_KEY.to_owned()),
            ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1".to_owned()),
            ("DISABLE_AUTOUPDATER", "1".to_owned()),
            ("ENABLE_TOOL_SEARCH", "false".to_owned()),
            ("CLAUDE_CODE_MAX_RETRIES", "0".to_owned()),
            ("HOME", self.home.display().to_string()),
            (
                "CLAUDE_CONFIG_DIR",
                self.home.join(".claude").display().to_string(),
            ),
            // An inherited cloud-provider switch would send requests off the machine.
            ("CLAUDE_CODE_USE_BEDROCK", "0".to_owned()),
            ("CLAUDE_CODE_USE_VERTEX", "0".to_owned()),
            ("CLAUDE_CODE_USE_FOUNDRY", "0".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// Sets [`cli_env`](Self::cli_env) and the scratch working directory on `builder`.
    /// The CLI path is left to the caller (see [`ensure_cli`](super::ensure_cli)).
    ///
    /// ```no_run
    /// # async fn demo(env: &agent_sdk::testing::TestEnv) -> Result<(), Box<dyn std::error::Error>> {
    /// let options = env
    ///     .configure(agent_sdk::AgentOptions::builder().max_turns(3))
    ///     .cli_path(agent_sdk::testing::ensure_cli().await?)
    ///     .build()?;
    /// # let _ = options;
    /// # Ok(())
    /// # }
    /// ```
    pub fn configure(&self, builder: AgentOptionsBuilder) -> AgentOptionsBuilder {
        self.cli_env()
            .into_iter()
            .fold(builder, |builder, (key, value)| builder.env(key, value))
            .cwd(&self.cwd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AgentOptions;

    #[tokio::test]
    async fn configure_points_the_cli_at_the_fake_api_and_the_scratch_dirs() {
        let env = TestEnv::start(Script::new()).await.unwrap();
        let options = env
            .configure(AgentOptions::builder())
            .env("CLAUDE_CODE_MAX_RETRIES", "2")
            .build()
            .unwrap();
        assert_eq!(options.env["ANTHROPIC_BASE_URL"], env.api().base_url());
        assert_eq!(options.env["ANTHROPIC_API_KEY"], DUMMY_API_KEY);
        assert_eq!(options.env["ENABLE_TOOL_SEARCH"], "false");
        assert_eq!(options.env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"], "1");
        assert_eq!(options.env["HOME"], env.home().display().to_string());
        assert_eq!(
            options.env["CLAUDE_CODE_MAX_RETRIES"], "2",
            "later env wins"
        );
        assert_eq!(options.cwd.as_deref(), Some(env.cwd()));
        assert!(env.cwd().is_dir() && env.home().is_dir());
        assert!(
            env.cwd().ancestors().all(|dir| !dir.join(".git").exists()),
            "the scratch cwd must not be inside a git checkout"
        );

        let scratch = env.cwd().to_path_buf();
        drop(env);
        assert!(!scratch.exists(), "scratch dirs are removed on drop");
    }
}
