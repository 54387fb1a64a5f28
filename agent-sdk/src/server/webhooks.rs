//! Webhooks: signed deliveries of server events (`session.created`,
//! `turn.completed`, `budget.threshold`, ...) to each tenant's URL, at least
//! once, from a durable outbox in the server's database.
//!
//! [`Webhooks::emit`] writes the delivery to the outbox (in the database, so
//! a restart loses none); [`Webhooks::start`] runs the deliverer, which
//! POSTs each due item with its signature and retries failures with
//! exponential backoff and jitter. After `max_attempts` failures an item is
//! dead-lettered: it stays in the outbox with
//! `next_attempt_at = `[`DEAD_LETTER`], its attempts and last error, and is
//! listed by [`ServerDb::dead_webhooks`].
//!
//! Each request carries `Content-Type: application/json`, `X-Agent-Event:
//! <event>`, `X-Agent-Delivery: <id>` (the same on every retry: receivers
//! drop repeats by it) and `X-Agent-Signature: t=<unix secs>,v1=<hex
//! HMAC-SHA256(secret, "<t>.<body>")>`, checked by [`verify_signature`].

use std::collections::HashMap;
use std::fmt::Write as _;
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::db::{DEAD_LETTER, DbError, Millis, OutboxItem, ServerDb};

/// How much longer than an attempt's timeout a deliverer holds its claim on an item.
const CLAIM_MARGIN: Duration = Duration::from_secs(5);

/// Where one tenant's deliveries go and the secret they are signed with.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookTarget {
    /// The receiver's URL (`https://...`).
    pub url: String,
    /// The signing secret, shared with the receiver.
    pub secret: String,
}

impl std::fmt::Debug for WebhookTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret stays out of logs.
        f.debug_struct("WebhookTarget")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// Which tenant's events go where, and how hard to try.
///
/// A tenant's events go to its own target; events of a tenant without one,
/// and of sessions without a tenant, go to the default target if one is set,
/// else nowhere.
///
/// ```
/// use std::time::Duration;
/// use agent_sdk::server::webhooks::WebhookConfig;
///
/// let config = WebhookConfig::new()
///     .tenant("acme", "https://hooks.acme.example/agent", "s3cret")
///     .default_target("https://ops.example/agent-events", "0ther")
///     .max_attempts(5)
///     .backoff(Duration::from_secs(2), Duration::from_secs(300));
/// assert_eq!(config.target(Some("acme")).unwrap().url, "https://hooks.acme.example/agent");
/// assert_eq!(config.target(Some("globex")).unwrap().url, "https://ops.example/agent-events");
/// assert_eq!(config.target(None).unwrap().url, "https://ops.example/agent-events");
/// ```
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    tenants: HashMap<String, WebhookTarget>,
    default: Option<WebhookTarget>,
    max_attempts: u32,
    base_delay: Duration,
    max_delay: Duration,
    poll_interval: Duration,
    request_timeout: Duration,
    batch: usize,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            tenants: HashMap::new(),
            default: None,
            max_attempts: 10,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(600),
            poll_interval: Duration::from_secs(1),
            request_timeout: Duration::from_secs(10),
            batch: 32,
        }
    }
}

impl WebhookConfig {
    /// No targets; 10 attempts, backoff from 1 s doubling up to 10 min,
    /// outbox polled every second, 10 s per request.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sends `tenant`'s events to `url`, signed with `secret`.
    pub fn tenant(
        mut self,
        tenant: impl Into<String>,
        url: impl Into<String>,
        secret: impl Into<String>,
    ) -> Self {
        let target = WebhookTarget {
            url: url.into(),
            secret: secret.into(),
        };
        self.tenants.insert(tenant.into(), target);
        self
    }

    /// Sends the events of sessions without a tenant, and of tenants without
    /// a target of their own, to `url`.
    pub fn default_target(mut self, url: impl Into<String>, secret: impl Into<String>) -> Self {
        self.default = Some(WebhookTarget {
            url: url.into(),
            secret: secret.into(),
        });
        self
    }

    /// Attempts per delivery before it is dead-lettered (at least 1).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The delay after the first failure, doubled after each further one, capped at `max`.
    pub fn backoff(mut self, base: Duration, max: Duration) -> Self {
        self.base_delay = base;
        self.max_delay = max.max(base);
        self
    }

    /// How often the deliverer looks at the outbox when idle (an emit wakes
    /// it at once; this catches retries coming due and other processes' items).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// How long one request may take before it counts as failed.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// The target of a tenant's events (see the type's rule), if any.
    pub fn target(&self, tenant: Option<&str>) -> Option<&WebhookTarget> {
        tenant
            .and_then(|tenant| self.tenants.get(tenant))
            .or(self.default.as_ref())
    }

    /// When the delivery that has failed `attempts` times (1 or more) is
    /// tried again, from `now`: the exponential delay, its second half jittered.
    fn retry_at(&self, now: Millis, attempts: u32, id: i64) -> Millis {
        let exponential = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempts.saturating_sub(1)))
            .min(self.max_delay);
        let half = millis(exponential) / 2;
        // Jitter spreads the retries of many failed items over time.
        let jitter = RandomState::new().hash_one((id, attempts, now)) % (half as u64 + 1);
        now.saturating_add(half + jitter as Millis)
    }
}

/// The outbox writer and deliverer of one server. Cheap to clone.
///
/// ```no_run
/// use agent_sdk::server::webhooks::{WebhookConfig, Webhooks};
/// use serde_json::json;
///
/// # async fn demo() -> Result<(), agent_sdk::server::db::DbError> {
/// let db = agent_sdk::server::db::open("sqlite://agent-server.db").await?;
/// let webhooks = Webhooks::new(db, WebhookConfig::new().tenant("acme", "https://h.example", "s"));
/// let deliverer = webhooks.start();
/// webhooks.emit(Some("acme"), "session.created", json!({"session_id": "s1"})).await?;
/// // ... at shutdown:
/// deliverer.abort();
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Webhooks {
    inner: Arc<Inner>,
}

struct Inner {
    db: Arc<dyn ServerDb>,
    config: WebhookConfig,
    http: reqwest::Client,
    wake: Notify,
}

impl std::fmt::Debug for Webhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhooks")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Webhooks {
    /// Webhooks on the server's database.
    pub fn new(db: Arc<dyn ServerDb>, config: WebhookConfig) -> Self {
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .build()
            .unwrap_or_default();
        Self {
            inner: Arc::new(Inner {
                db,
                config,
                http,
                wake: Notify::new(),
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &WebhookConfig {
        &self.inner.config
    }

    /// Puts `event` with `payload` in the outbox for the tenant's target;
    /// does nothing when it has none. The body sent is
    /// `{"id", "event", "tenant", "created_at", "data": payload}`.
    pub async fn emit(
        &self,
        tenant: Option<&str>,
        event: &str,
        payload: Value,
    ) -> Result<(), DbError> {
        let Some(target) = self.inner.config.target(tenant) else {
            return Ok(());
        };
        let now = now_millis();
        let id = format!(
            "whd_{now:x}{:016x}",
            RandomState::new().hash_one((event, now))
        );
        let body = json!({
            "id": id,
            "event": event,
            "tenant": tenant,
            "created_at": now,
            "data": payload,
        });
        let item = OutboxItem {
            id: 0,
            tenant: tenant.unwrap_or_default().to_owned(),
            url: target.url.clone(),
            event: event.to_owned(),
            body: body.to_string(),
            attempts: 0,
            next_attempt_at: now,
            last_error: None,
        };
        self.inner.db.enqueue_webhook(&item).await?;
        self.inner.wake.notify_one();
        Ok(())
    }

    /// Runs the deliverer on the current tokio runtime until the handle is
    /// aborted. What it had not delivered stays in the outbox for the next one.
    pub fn start(&self) -> JoinHandle<()> {
        let inner = Arc::clone(&self.inner);
        tokio::spawn(async move {
            loop {
                let delivered_some = match inner.deliver_due().await {
                    Ok(count) => count > 0,
                    Err(error) => {
                        tracing::warn!(%error, "cannot read the webhook outbox");
                        false
                    }
                };
                if !delivered_some {
                    let _ = tokio::time::timeout(inner.config.poll_interval, inner.wake.notified())
                        .await;
                }
            }
        })
    }
}

impl Inner {
    /// Attempts every due item once, concurrently; returns how many were due.
    async fn deliver_due(&self) -> Result<usize, DbError> {
        // Claimed for longer than an attempt takes: another host's deliverer
        // skips them meanwhile, and takes them over if this one dies.
        let now = now_millis();
        let claim = millis(self.config.request_timeout + CLAIM_MARGIN);
        let due = self
            .db
            .claim_webhooks(now, now.saturating_add(claim), self.config.batch)
            .await?;
        let count = due.len();
        let results =
            futures_util::future::join_all(due.into_iter().map(|item| self.attempt(item))).await;
        results.into_iter().collect::<Result<Vec<()>, _>>()?;
        Ok(count)
    }

    async fn attempt(&self, item: OutboxItem) -> Result<(), DbError> {
        let tenant = (!item.tenant.is_empty()).then_some(item.tenant.as_str());
        let Some(target) = self.config.target(tenant) else {
            // Its tenant's webhook was removed since: nothing to sign with.
            tracing::warn!(id = item.id, tenant = %item.tenant, "webhook dead-lettered: no target configured");
            return self
                .db
                .webhook_failed(
                    item.id,
                    DEAD_LETTER,
                    "no webhook is configured for the tenant",
                )
                .await;
        };
        let outcome = self.post(&item, &target.secret).await;
        match outcome {
            Ok(()) => self.db.webhook_delivered(item.id).await,
            Err(error) => {
                let attempts = item.attempts + 1;
                let next = if attempts >= self.config.max_attempts {
                    tracing::warn!(id = item.id, event = %item.event, attempts, %error, "webhook dead-lettered");
                    DEAD_LETTER
                } else {
                    tracing::debug!(id = item.id, event = %item.event, attempts, %error, "webhook attempt failed");
                    self.config.retry_at(now_millis(), attempts, item.id)
                };
                self.db.webhook_failed(item.id, next, &error).await
            }
        }
    }

    async fn post(&self, item: &OutboxItem, secret: &str) -> Result<(), String> {
        let delivery = serde_json::from_str::<Value>(&item.body)
            .ok()
            .and_then(|body| body.get("id").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_else(|| item.id.to_string());
        let signature = sign(secret, unix_secs(), item.body.as_bytes());
        let response = self
            .http
            .post(&item.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("X-Agent-Event", &item.event)
            .header("X-Agent-Delivery", delivery)
            .header(SIGNATURE_HEADER, signature)
            .body(item.body.clone())
            .send()
            .await
            .map_err(|e| format!("request failed: {e}"))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("HTTP {}", status.as_u16()))
        }
    }
}

/// The name of the signature header.
pub const SIGNATURE_HEADER: &str = "X-Agent-Signature";

/// The signature header's value for `body` sent at `timestamp` (Unix
/// seconds): `t=<timestamp>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
///
/// ```
/// use agent_sdk::server::webhooks::sign;
///
/// let header = sign("s3cret", 1_700_000_000, br#"{"event":"x"}"#);
/// assert!(header.starts_with("t=1700000000,v1="));
/// assert_eq!(header.len(), "t=1700000000,v1=".len() + 64);
/// ```
pub fn sign(secret: &str, timestamp: u64, body: &[u8]) -> String {
    let mac = signed_mac(secret, timestamp, body).finalize().into_bytes();
    let mut header = format!("t={timestamp},v1=");
    for byte in mac {
        let _ = write!(header, "{byte:02x}");
    }
    header
}

fn signed_mac(secret: &str, timestamp: u64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length: this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// Why a webhook's signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The header is not `t=<secs>,v1=<hex>`.
    #[error("malformed signature header")]
    Malformed,
    /// The timestamp is further from now than the tolerance (a replay).
    #[error("signature timestamp outside the tolerance")]
    Expired,
    /// No `v1` signature matches the body and the secret.
    #[error("signature does not match")]
    Mismatch,
}

/// Checks a delivery as a receiver: the header's timestamp lies within
/// `tolerance` of now, and one of its `v1` signatures is the HMAC of
/// `"<t>.<body>"` with `secret` (compared in constant time).
///
/// ```
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
/// use agent_sdk::server::webhooks::{sign, verify_signature, SignatureError};
///
/// let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
/// let body = br#"{"event":"turn.completed"}"#;
/// let header = sign("s3cret", now, body);
/// let tolerance = Duration::from_secs(300);
/// assert_eq!(verify_signature("s3cret", &header, body, tolerance), Ok(()));
/// assert_eq!(
///     verify_signature("s3cret", &header, br#"{"event":"turn.completed "}"#, tolerance),
///     Err(SignatureError::Mismatch)
/// );
/// assert_eq!(verify_signature("other", &header, body, tolerance), Err(SignatureError::Mismatch));
/// let old = sign("s3cret", now - 3600, body);
/// assert_eq!(verify_signature("s3cret", &old, body, tolerance), Err(SignatureError::Expired));
/// assert_eq!(verify_signature("s3cret", "v1=00", body, tolerance), Err(SignatureError::Malformed));
/// ```
pub fn verify_signature(
    secret: &str,
    header: &str,
    body: &[u8],
    tolerance: Duration,
) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<u64>().ok(),
            Some(("v1", value)) => {
                signatures.push(decode_hex(value).ok_or(SignatureError::Malformed)?)
            }
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if unix_secs().abs_diff(timestamp) > tolerance.as_secs() {
        return Err(SignatureError::Expired);
    }
    // Several `v1` entries: a sender rotating its secret signs with both.
    let matches = signatures.iter().any(|signature| {
        signed_mac(secret, timestamp, body)
            .verify_slice(signature)
            .is_ok()
    });
    if matches {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Which of the 75, 90 and 100 % marks of `budget_usd` a spend going from
/// `before_usd` to `after_usd` passed (each reported once: when it is
/// reached, not again after). Empty without a positive budget.
///
/// ```
/// use agent_sdk::server::webhooks::budget_thresholds_crossed;
///
/// assert_eq!(budget_thresholds_crossed(7.0, 9.5, 10.0), vec![75, 90]);
/// assert_eq!(budget_thresholds_crossed(9.5, 9.6, 10.0), Vec::<u8>::new());
/// ```
pub fn budget_thresholds_crossed(before_usd: f64, after_usd: f64, budget_usd: f64) -> Vec<u8> {
    const MARKS: [u8; 3] = [75, 90, 100];
    if !(budget_usd.is_finite() && budget_usd > 0.0) {
        return Vec::new();
    }
    MARKS
        .into_iter()
        .filter(|&mark| {
            let line = budget_usd * f64::from(mark) / 100.0;
            before_usd < line && after_usd >= line
        })
        .collect()
}

fn now_millis() -> Millis {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Millis::try_from(since_epoch.as_millis()).unwrap_or(Millis::MAX)
}

fn unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

fn millis(duration: Duration) -> Millis {
    Millis::try_from(duration.as_millis()).unwrap_or(Millis::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_threshold_is_reported_once_when_reached() {
        let crossed = budget_thresholds_crossed;
        assert_eq!(crossed(0.0, 7.49, 10.0), Vec::<u8>::new());
        assert_eq!(crossed(0.0, 7.5, 10.0), vec![75], "reaching a mark counts");
        assert_eq!(crossed(7.5, 8.9, 10.0), Vec::<u8>::new(), "not again");
        assert_eq!(crossed(8.9, 9.0, 10.0), vec![90]);
        assert_eq!(crossed(9.0, 12.0, 10.0), vec![100]);
        assert_eq!(
            crossed(0.0, 50.0, 10.0),
            vec![75, 90, 100],
            "one jump, all three"
        );
        assert_eq!(crossed(10.0, 11.0, 10.0), Vec::<u8>::new(), "already past");
        assert_eq!(
            crossed(5.0, 4.0, 10.0),
            Vec::<u8>::new(),
            "spend never falls"
        );
        for budget in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(crossed(0.0, 100.0, budget).is_empty(), "{budget}");
        }
    }

    #[test]
    fn retries_back_off_exponentially_with_jitter_up_to_the_cap() {
        let config = WebhookConfig::new().backoff(Duration::from_secs(1), Duration::from_secs(60));
        for (attempts, full) in [
            (1, 1_000),
            (2, 2_000),
            (3, 4_000),
            (7, 60_000),
            (40, 60_000),
        ] {
            let delay = config.retry_at(0, attempts, 7);
            assert!(
                (full / 2..=full).contains(&delay),
                "attempt {attempts}: {delay} ms not in [{}, {full}]",
                full / 2
            );
        }
    }

    #[test]
    fn a_signature_header_is_parsed_strictly() {
        let body = b"{}";
        let now = unix_secs();
        let good = sign("k", now, body);
        let tolerance = Duration::from_secs(60);
        assert_eq!(verify_signature("k", &good, body, tolerance), Ok(()));
        let rotated = format!("{},v1={}", sign("old", now, body), &good[good.len() - 64..]);
        assert_eq!(verify_signature("k", &rotated, body, tolerance), Ok(()));
        for header in [
            "",
            "t=abc,v1=00",
            "t=1",
            &format!("t={now},v1=zz"),
            &format!("t={now},v1=abc"),
        ] {
            assert_eq!(
                verify_signature("k", header, body, tolerance),
                Err(SignatureError::Malformed),
                "{header:?}"
            );
        }
        let future = sign("k", now + 3_600, body);
        assert_eq!(
            verify_signature("k", &future, body, tolerance),
            Err(SignatureError::Expired)
        );
    }

    #[test]
    fn the_secret_stays_out_of_debug_output() {
        let config = WebhookConfig::new().tenant("acme", "https://h.example", "hunter2");
        assert!(!format!("{config:?}").contains("hunter2"));
    }
}
