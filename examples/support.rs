//! Shared setup of the examples.
//!
//! With `ANTHROPIC_API_KEY` set, an example talks to the real model. Without
//! it, it runs against the built-in offline model: the SDK's scripted fake
//! Messages API on 127.0.0.1, driven by a small deterministic "model" that
//! each example supplies. Either way the real `claude` CLI runs the agent
//! (installed with npm, pinned, on first use).

use agent_sdk::testing::{Script, TestEnv, ensure_cli};
use agent_sdk::{AgentOptions, AgentOptionsBuilder};

/// Where an example's model lives.
pub struct Setup {
    /// Options pointing at the CLI (and at the offline model when there is no key).
    pub options: AgentOptionsBuilder,
    /// The offline model, kept alive for the example's run (`None` with a real key).
    pub offline: Option<TestEnv>,
}

impl Setup {
    /// A short line saying which model answers.
    pub fn banner(&self) -> &'static str {
        if self.offline.is_some() {
            "offline model (no ANTHROPIC_API_KEY set): the built-in scripted model answers"
        } else {
            "real model: using ANTHROPIC_API_KEY"
        }
    }
}

/// Finds or installs the CLI and picks the model: real with a key, `offline_model` without.
pub async fn setup(
    offline_model: impl FnOnce() -> Script,
) -> Result<Setup, Box<dyn std::error::Error>> {
    let cli = ensure_cli().await?;
    let base = AgentOptions::builder().cli_path(cli);
    if std::env::var_os("ANTHROPIC_API_KEY").is_some_and(|k| !k.is_empty()) {
        return Ok(Setup {
            options: base,
            offline: None,
        });
    }
    let env = TestEnv::start(offline_model()).await?;
    Ok(Setup {
        options: env.configure(base),
        offline: Some(env),
    })
}

/// Logs to stderr when `RUST_LOG` is set, e.g. `RUST_LOG=agent_sdk=debug`.
pub fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .try_init();
}
