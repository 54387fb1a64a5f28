//! Tiers (profiles of limits an end user's JWT names) and the per-caller
//! request rate limit.
//!
//! ```
//! use agent_sdk::server::limits::{Tier, Tiers};
//!
//! let tiers = Tiers::from_json(r#"{
//!     "default": "free",
//!     "tiers": {
//!         "free": {"max_sessions": 1, "max_turns": 10, "budget_usd": 1.0},
//!         "pro": {"max_sessions": 10, "max_turns": 100, "max_thinking_tokens": 8000, "budget_usd": 50}
//!     }
//! }"#)?;
//! assert_eq!(tiers.resolve(None)?.1.max_sessions, Some(1));
//! assert_eq!(tiers.resolve(Some("pro"))?.1.max_thinking_tokens, Some(8000));
//! assert!(tiers.resolve(Some("platinum")).is_err());
//! # Ok::<(), agent_sdk::server::limits::LimitsError>(())
//! ```

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::ApiError;
use super::auth::Principal;

/// What is wrong with a tiers file, or which tier is unknown.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LimitsError {
    /// The tiers file could not be read.
    #[error("cannot read the tiers file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The tiers JSON does not parse; `path` names the field (`tiers.pro.budget_usd`).
    #[error("invalid tiers JSON at {path}: {message}")]
    Json {
        /// Where in the document.
        path: String,
        /// What serde said.
        message: String,
    },
    /// A value is out of range, or the default names no tier.
    #[error("invalid tier configuration: {0}")]
    Invalid(String),
    /// A principal names a tier that is not configured.
    #[error("unknown tier {0:?}")]
    UnknownTier(String),
}

impl From<LimitsError> for ApiError {
    fn from(error: LimitsError) -> Self {
        match error {
            LimitsError::UnknownTier(_) => {
                ApiError::new(StatusCode::FORBIDDEN, "unknown_tier", error.to_string())
            }
            other => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "limits_config",
                other.to_string(),
            ),
        }
    }
}

/// One tier's limits; `None` is unlimited.
///
/// ```
/// use agent_sdk::server::limits::Tier;
/// let free = Tier { max_sessions: Some(1), budget_usd: Some(1.0), ..Tier::default() };
/// assert_eq!(free.max_turns, None);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    /// Sessions a user may hold open at once (429 past it).
    pub max_sessions: Option<u32>,
    /// Turns per session (the CLI's `max_turns`).
    pub max_turns: Option<u32>,
    /// Thinking tokens per turn (the CLI's `max_thinking_tokens`).
    pub max_thinking_tokens: Option<u32>,
    /// Spend per user in US dollars (402 past it).
    pub budget_usd: Option<f64>,
}

/// The configured tiers and the default one (for principals naming none).
///
/// ```
/// use agent_sdk::server::limits::{Tier, Tiers};
/// let tiers = Tiers::builder()
///     .tier("free", Tier { max_sessions: Some(2), ..Tier::default() })
///     .tier("pro", Tier::default())
///     .default_tier("free")
///     .build()?;
/// assert_eq!(tiers.default_name(), "free");
/// # Ok::<(), agent_sdk::server::limits::LimitsError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tiers {
    #[serde(rename = "default")]
    default_tier: String,
    tiers: BTreeMap<String, Tier>,
}

impl Default for Tiers {
    /// One unlimited tier, `default`.
    fn default() -> Self {
        Self {
            default_tier: "default".into(),
            tiers: BTreeMap::from([("default".into(), Tier::default())]),
        }
    }
}

impl Tiers {
    /// Starts an empty set of tiers.
    pub fn builder() -> TiersBuilder {
        TiersBuilder::default()
    }

    /// Parses `{"default": "<name>", "tiers": {"<name>": {max_sessions?, max_turns?,
    /// max_thinking_tokens?, budget_usd?}}}`; unknown fields are errors.
    pub fn from_json(text: &str) -> Result<Self, LimitsError> {
        let deserializer = &mut serde_json::Deserializer::from_str(text);
        let tiers: Tiers = serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let path = e.path().to_string();
            LimitsError::Json {
                // serde_path_to_error says `.` for the top level and `?` before it.
                path: if path == "." || path == "?" {
                    "the document".into()
                } else {
                    path
                },
                message: e.inner().to_string(),
            }
        })?;
        tiers.validate()
    }

    /// Reads [`Tiers::from_json`] from a file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, LimitsError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| LimitsError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_json(&text)
    }

    fn validate(self) -> Result<Self, LimitsError> {
        if !self.tiers.contains_key(&self.default_tier) {
            return Err(LimitsError::Invalid(format!(
                "the default tier {:?} is not among the tiers ({})",
                self.default_tier,
                self.tiers.keys().cloned().collect::<Vec<_>>().join(", ")
            )));
        }
        for (name, tier) in &self.tiers {
            if name.trim().is_empty() {
                return Err(LimitsError::Invalid("a tier has an empty name".into()));
            }
            if let Some(budget) = tier.budget_usd
                && !(budget.is_finite() && budget >= 0.0)
            {
                return Err(LimitsError::Invalid(format!(
                    "tier {name:?}: budget_usd must be a finite number >= 0, got {budget}"
                )));
            }
        }
        Ok(self)
    }

    /// The tier a principal names (`None`: the default), with its name.
    pub fn resolve(&self, name: Option<&str>) -> Result<(&str, &Tier), LimitsError> {
        let name = name.unwrap_or(&self.default_tier);
        self.tiers
            .get_key_value(name)
            .map(|(name, tier)| (name.as_str(), tier))
            .ok_or_else(|| LimitsError::UnknownTier(name.to_owned()))
    }

    /// The tier of a principal: its JWT's tier, else the default.
    pub fn for_principal(&self, principal: &Principal) -> Result<(&str, &Tier), LimitsError> {
        self.resolve(principal.tier.as_deref())
    }

    /// The default tier's name.
    pub fn default_name(&self) -> &str {
        &self.default_tier
    }

    /// Every tier by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Tier)> {
        self.tiers.iter().map(|(name, tier)| (name.as_str(), tier))
    }
}

/// Builds [`Tiers`] in code.
#[derive(Debug, Default)]
pub struct TiersBuilder {
    tiers: BTreeMap<String, Tier>,
    default_tier: Option<String>,
}

impl TiersBuilder {
    /// Adds (or replaces) a tier.
    pub fn tier(mut self, name: impl Into<String>, tier: Tier) -> Self {
        self.tiers.insert(name.into(), tier);
        self
    }

    /// The tier for principals naming none (default: the only tier, if one).
    pub fn default_tier(mut self, name: impl Into<String>) -> Self {
        self.default_tier = Some(name.into());
        self
    }

    /// Checks the tiers as [`Tiers::from_json`] does.
    pub fn build(self) -> Result<Tiers, LimitsError> {
        let default_tier = match self.default_tier {
            Some(name) => name,
            None if self.tiers.len() == 1 => self.tiers.keys().next().cloned().unwrap_or_default(),
            None => {
                return Err(LimitsError::Invalid(
                    "name the default tier (default_tier) when there is not exactly one".into(),
                ));
            }
        };
        Tiers {
            default_tier,
            tiers: self.tiers,
        }
        .validate()
    }
}

/// Requests per minute per caller, as a token bucket: a caller may burst up
/// to `burst` requests, then gets one every `60 / per_minute` seconds.
/// Past it: 429 with `Retry-After` (whole seconds until the next request is
/// allowed).
///
/// ```
/// use agent_sdk::server::limits::RateLimiter;
/// let limiter = RateLimiter::per_minute(60).with_burst(2);
/// assert!(limiter.check("ann").is_ok());
/// assert!(limiter.check("ann").is_ok());
/// let wait = limiter.check("ann").unwrap_err();
/// assert!(wait.as_secs_f64() > 0.0 && wait.as_secs_f64() <= 1.0);
/// assert!(limiter.check("bob").is_ok());
/// ```
#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Buckets kept before full (idle) ones are forgotten: bounds the memory a
/// stream of distinct callers can take.
const BUCKETS_BEFORE_SWEEP: usize = 10_000;

impl RateLimiter {
    /// `per_minute` requests a minute, with a burst of as many.
    ///
    /// # Panics
    /// When `per_minute` is 0 (no limiter at all is the way to allow everything).
    pub fn per_minute(per_minute: u32) -> Self {
        assert!(per_minute > 0, "a rate limit of 0 requests a minute");
        Self {
            per_second: f64::from(per_minute) / 60.0,
            burst: f64::from(per_minute),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Allows bursts of `burst` requests (at least 1).
    pub fn with_burst(mut self, burst: u32) -> Self {
        self.burst = f64::from(burst.max(1));
        self
    }

    /// Takes one request from `key`'s bucket, or says how long until one is
    /// available.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        self.check_at(key, Instant::now())
    }

    fn check_at(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= BUCKETS_BEFORE_SWEEP && !buckets.contains_key(key) {
            buckets.retain(|_, bucket| self.refilled(*bucket, now) < self.burst);
        }
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: self.burst,
            updated: now,
        });
        bucket.tokens = self.refilled(*bucket, now);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - bucket.tokens) / self.per_second,
            ))
        }
    }

    fn refilled(&self, bucket: Bucket, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        (bucket.tokens + elapsed * self.per_second).min(self.burst)
    }
}

/// Axum middleware: 429 `rate_limited` with `Retry-After` past the limit of
/// the caller ([`Principal::key`], put there by
/// [`require_auth`](super::auth::require_auth), which must run first).
///
/// ```
/// use std::sync::Arc;
/// use agent_sdk::server::auth::{AuthConfig, Authenticator, require_auth};
/// use agent_sdk::server::limits::{RateLimiter, rate_limit};
/// use axum::{Router, middleware, routing::get};
///
/// let auth = Arc::new(Authenticator::new(AuthConfig::new().token("t"))?);
/// let limiter = Arc::new(RateLimiter::per_minute(600));
/// let app: Router = Router::new()
///     .route("/v1/ping", get(|| async { "pong" }))
///     // Layers run outermost last-added: auth first, then the limit.
///     .layer(middleware::from_fn_with_state(limiter, rate_limit))
///     .layer(middleware::from_fn_with_state(auth, require_auth));
/// # Ok::<(), agent_sdk::server::auth::AuthError>(())
/// ```
pub async fn rate_limit(
    State(limiter): State<Arc<RateLimiter>>,
    request: Request,
    next: Next,
) -> Response {
    let key = request
        .extensions()
        .get::<Principal>()
        .map_or_else(|| "anonymous".to_owned(), Principal::key);
    match limiter.check(&key) {
        Ok(()) => next.run(request).await,
        Err(wait) => {
            // Round up: a client that waits exactly Retry-After seconds succeeds.
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("too many requests: retry in {seconds} s"),
            )
            .with_header(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)))
            .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_refills_at_the_rate() {
        let limiter = RateLimiter::per_minute(120).with_burst(1);
        let start = Instant::now();
        assert!(limiter.check_at("k", start).is_ok());
        let wait = limiter.check_at("k", start).unwrap_err();
        assert!((wait.as_secs_f64() - 0.5).abs() < 1e-9, "{wait:?}");
        assert!(
            limiter
                .check_at("k", start + Duration::from_millis(250))
                .is_err()
        );
        assert!(
            limiter
                .check_at("k", start + Duration::from_millis(500))
                .is_ok()
        );
    }

    #[test]
    fn idle_buckets_are_swept_past_the_bound() {
        let limiter = RateLimiter::per_minute(60);
        let start = Instant::now();
        for i in 0..BUCKETS_BEFORE_SWEEP {
            limiter.check_at(&i.to_string(), start).unwrap();
        }
        // A minute later every bucket is full again: all forgotten.
        limiter
            .check_at("new", start + Duration::from_secs(60))
            .unwrap();
        assert_eq!(limiter.buckets.lock().unwrap().len(), 1);
    }
}
