//! Typed values of single options: system prompt, tools, thinking, effort, sources, skills, plugins, settings.

use std::path::PathBuf;

/// The system prompt of a session.
///
/// Leaving it unset gives an **empty** system prompt (`--system-prompt ""`), like the
/// official SDKs; only [`SystemPrompt::preset`] gives Claude Code's own prompt.
///
/// ```
/// use agent_sdk::options::SystemPrompt;
///
/// let plain: SystemPrompt = "You are terse.".into();
/// let claude_code = SystemPrompt::preset().append("Answer in French.");
/// let from_file = SystemPrompt::file("prompts/system.md");
/// # let _ = (plain, claude_code, from_file);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SystemPrompt {
    /// A custom prompt replacing Claude Code's (`--system-prompt <text>`).
    Text(String),
    /// A custom prompt read by the CLI from a file (`--system-prompt-file <path>`).
    File(PathBuf),
    /// A custom prompt with CLI-side options (`--system-prompt <prompt>`; `snapshot` goes in `initialize`).
    Custom {
        /// The prompt text.
        prompt: String,
        /// Sent as `systemPromptSnapshot` in `initialize` when set.
        snapshot: Option<bool>,
    },
    /// Claude Code's own system prompt, optionally extended.
    Preset {
        /// Text appended to the preset (`--append-system-prompt`).
        append: Option<String>,
        /// Sent as `excludeDynamicSections` in `initialize` when set.
        exclude_dynamic_sections: Option<bool>,
        /// Sent as `systemPromptSnapshot` in `initialize` when set.
        snapshot: Option<bool>,
    },
}

impl SystemPrompt {
    /// Claude Code's own prompt (`{"type":"preset","preset":"claude_code"}`).
    ///
    /// ```
    /// use agent_sdk::options::SystemPrompt;
    /// let prompt = SystemPrompt::preset().append("Be brief.").exclude_dynamic_sections(true);
    /// # let _ = prompt;
    /// ```
    pub fn preset() -> Self {
        SystemPrompt::Preset {
            append: None,
            exclude_dynamic_sections: None,
            snapshot: None,
        }
    }

    /// A custom prompt given as text.
    ///
    /// ```
    /// use agent_sdk::options::SystemPrompt;
    /// let prompt = SystemPrompt::custom("You review code.").snapshot(true);
    /// # let _ = prompt;
    /// ```
    pub fn custom(prompt: impl Into<String>) -> Self {
        SystemPrompt::Custom {
            prompt: prompt.into(),
            snapshot: None,
        }
    }

    /// A custom prompt the CLI reads from `path`.
    ///
    /// ```
    /// use agent_sdk::options::SystemPrompt;
    /// let prompt = SystemPrompt::file("/etc/agent/prompt.md");
    /// # let _ = prompt;
    /// ```
    pub fn file(path: impl Into<PathBuf>) -> Self {
        SystemPrompt::File(path.into())
    }

    /// Appends text to a preset. On any other form this is a no-op.
    pub fn append(self, text: impl Into<String>) -> Self {
        match self {
            SystemPrompt::Preset {
                exclude_dynamic_sections,
                snapshot,
                ..
            } => SystemPrompt::Preset {
                append: Some(text.into()),
                exclude_dynamic_sections,
                snapshot,
            },
            other => other,
        }
    }

    /// Sets `excludeDynamicSections` of a preset. On any other form this is a no-op.
    pub fn exclude_dynamic_sections(self, exclude: bool) -> Self {
        match self {
            SystemPrompt::Preset {
                append, snapshot, ..
            } => SystemPrompt::Preset {
                append,
                exclude_dynamic_sections: Some(exclude),
                snapshot,
            },
            other => other,
        }
    }

    /// Sets `systemPromptSnapshot` of a preset or custom prompt. On the other forms this is a no-op.
    pub fn snapshot(self, snapshot: bool) -> Self {
        match self {
            SystemPrompt::Preset {
                append,
                exclude_dynamic_sections,
                ..
            } => SystemPrompt::Preset {
                append,
                exclude_dynamic_sections,
                snapshot: Some(snapshot),
            },
            SystemPrompt::Custom { prompt, .. } => SystemPrompt::Custom {
                prompt,
                snapshot: Some(snapshot),
            },
            other => other,
        }
    }
}

impl From<String> for SystemPrompt {
    fn from(text: String) -> Self {
        SystemPrompt::Text(text)
    }
}

impl From<&str> for SystemPrompt {
    fn from(text: &str) -> Self {
        SystemPrompt::Text(text.to_owned())
    }
}

/// The built-in tools the model may see (`--tools`).
///
/// ```
/// use agent_sdk::options::Tools;
///
/// let some = Tools::list(["Read", "Grep"]);
/// let none = Tools::none();            // --tools ""
/// let all = Tools::ClaudeCode;         // --tools default
/// # let _ = (some, none, all);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Tools {
    /// Exactly these tools; an empty list disables every built-in tool.
    List(Vec<String>),
    /// Claude Code's default tool set (`{"type":"preset","preset":"claude_code"}`).
    ClaudeCode,
}

impl Tools {
    /// Exactly the named tools.
    pub fn list<I, S>(names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Tools::List(names.into_iter().map(Into::into).collect())
    }

    /// No built-in tool at all (`--tools ""`).
    pub fn none() -> Self {
        Tools::List(Vec::new())
    }
}

/// How the model thinks before answering.
///
/// ```
/// use agent_sdk::options::{Thinking, ThinkingDisplay};
///
/// let adaptive = Thinking::adaptive().display(ThinkingDisplay::Summarized);
/// let budget = Thinking::enabled(8_000);
/// let off = Thinking::Disabled;
/// # let _ = (adaptive, budget, off);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Thinking {
    /// The model decides how much to think (`--thinking adaptive`).
    Adaptive {
        /// How thinking is shown (`--thinking-display`).
        display: Option<ThinkingDisplay>,
    },
    /// A fixed thinking budget (`--max-thinking-tokens N`).
    Enabled {
        /// Token budget for thinking.
        budget_tokens: u32,
        /// How thinking is shown (`--thinking-display`).
        display: Option<ThinkingDisplay>,
    },
    /// No thinking (`--thinking disabled`).
    Disabled,
}

impl Thinking {
    /// Adaptive thinking.
    pub fn adaptive() -> Self {
        Thinking::Adaptive { display: None }
    }

    /// Thinking with a fixed token budget.
    pub fn enabled(budget_tokens: u32) -> Self {
        Thinking::Enabled {
            budget_tokens,
            display: None,
        }
    }

    /// Sets how thinking is shown. No-op on [`Thinking::Disabled`].
    pub fn display(self, display: ThinkingDisplay) -> Self {
        match self {
            Thinking::Adaptive { .. } => Thinking::Adaptive {
                display: Some(display),
            },
            Thinking::Enabled { budget_tokens, .. } => Thinking::Enabled {
                budget_tokens,
                display: Some(display),
            },
            Thinking::Disabled => Thinking::Disabled,
        }
    }
}

/// How thinking blocks are shown (`--thinking-display`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ThinkingDisplay {
    /// A summary of the thinking.
    Summarized,
    /// No thinking text.
    Omitted,
}

impl ThinkingDisplay {
    /// The CLI spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ThinkingDisplay::Summarized => "summarized",
            ThinkingDisplay::Omitted => "omitted",
        }
    }
}

/// Reasoning effort (`--effort`).
///
/// ```
/// use agent_sdk::options::Effort;
/// assert_eq!(Effort::High.as_str(), "high");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Effort {
    /// `low`
    Low,
    /// `medium`
    Medium,
    /// `high`
    High,
    /// `xhigh`
    Xhigh,
    /// `max`
    Max,
}

impl Effort {
    /// The CLI spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Effort::Low => "low",
            Effort::Medium => "medium",
            Effort::High => "high",
            Effort::Xhigh => "xhigh",
            Effort::Max => "max",
        }
    }
}

/// A place the CLI loads settings from (`--setting-sources`).
///
/// ```
/// use agent_sdk::options::SettingSource;
/// assert_eq!(SettingSource::Project.as_str(), "project");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum SettingSource {
    /// `~/.claude/settings.json`
    User,
    /// `.claude/settings.json` of the project.
    Project,
    /// `.claude/settings.local.json` of the project.
    Local,
}

impl SettingSource {
    /// The CLI spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SettingSource::User => "user",
            SettingSource::Project => "project",
            SettingSource::Local => "local",
        }
    }
}

/// Which skills the model may use.
///
/// Setting skills also loads `user` and `project` settings when
/// `setting_sources` was left unset (skills live there).
///
/// ```
/// use agent_sdk::options::Skills;
/// let some = Skills::list(["pdf", "xlsx"]);
/// let all = Skills::All;
/// # let _ = (some, all);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Skills {
    /// Every skill (`Skill` in the allowed tools).
    All,
    /// Only these skills (`Skill(<name>)` each; also sent in `initialize`).
    List(Vec<String>),
}

impl Skills {
    /// Only the named skills.
    pub fn list<I, S>(names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Skills::List(names.into_iter().map(Into::into).collect())
    }
}

/// A plugin to load (`--plugin-dir`).
///
/// ```
/// use agent_sdk::options::Plugin;
/// let plugin = Plugin::local("./plugins/review");
/// # let _ = plugin;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Plugin {
    /// A plugin directory on disk.
    Local(PathBuf),
}

impl Plugin {
    /// A plugin directory on disk.
    pub fn local(path: impl Into<PathBuf>) -> Self {
        Plugin::Local(path.into())
    }

    /// Reads the official SDKs' `{"type":"local","path":"..."}` form.
    ///
    /// ```
    /// use agent_sdk::options::Plugin;
    /// let plugin = Plugin::from_json(&serde_json::json!({"type": "local", "path": "/p"})).unwrap();
    /// assert_eq!(plugin, Plugin::local("/p"));
    /// assert!(Plugin::from_json(&serde_json::json!({"type": "remote", "path": "/p"})).is_err());
    /// ```
    pub fn from_json(value: &serde_json::Value) -> crate::Result<Self> {
        let kind = value.get("type").and_then(|t| t.as_str());
        match kind {
            Some("local") => match value.get("path").and_then(|p| p.as_str()) {
                Some(path) => Ok(Plugin::Local(path.into())),
                None => Err(crate::Error::invalid_options(
                    "plugin",
                    "a local plugin needs a string `path`",
                )),
            },
            Some(other) => Err(crate::Error::invalid_options(
                "plugin",
                format!("unsupported plugin type {other:?}: only \"local\" plugins are supported"),
            )),
            None => Err(crate::Error::invalid_options(
                "plugin",
                "a plugin needs a string `type` (only \"local\" is supported)",
            )),
        }
    }
}

/// Extra settings for the CLI (`--settings`).
///
/// ```
/// use agent_sdk::options::Settings;
/// let from_file = Settings::Path("settings.json".into());
/// let inline = Settings::Json(r#"{"model":"sonnet"}"#.into());
/// # let _ = (from_file, inline);
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Settings {
    /// A settings file (relative paths resolve against `cwd`).
    Path(PathBuf),
    /// Settings as JSON text.
    Json(String),
}

impl std::fmt::Debug for Settings {
    // Settings may carry credentials (e.g. an `env` block): show the path, never the text.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Settings::Path(path) => f.debug_tuple("Path").field(path).finish(),
            Settings::Json(text) => write!(f, "Json(<{} bytes redacted>)", text.len()),
        }
    }
}
