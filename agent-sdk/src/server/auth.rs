//! Who is calling: the service's bearer token (compared in constant time),
//! end-user JWTs (HS256 or RS256) whose claims carry user, tenant and tier,
//! and short-lived signed tickets for browsers, which cannot set headers on
//! an `EventSource` and must never put the raw token in a URL.
//!
//! ```
//! use agent_sdk::server::auth::{AuthConfig, Authenticator, PrincipalKind};
//! use axum::http::Request;
//!
//! let auth = Authenticator::new(AuthConfig::new().token("s3cret"))?;
//! let (parts, ()) = Request::get("/v1/sessions")
//!     .header("authorization", "Bearer s3cret")
//!     .body(())
//!     .unwrap()
//!     .into_parts();
//! assert_eq!(auth.authenticate(&parts).unwrap().kind, PrincipalKind::Service);
//! # Ok::<(), agent_sdk::server::auth::AuthError>(())
//! ```

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::ApiError;
use super::db::Millis;

type HmacSha256 = Hmac<Sha256>;

/// How long a ticket lives unless configured otherwise: long enough to open
/// an `EventSource` or a WebSocket, short enough that a leaked URL is stale.
pub const DEFAULT_TICKET_TTL: Duration = Duration::from_secs(60);

/// What is wrong with an auth configuration (or a listen address for it).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The service token is empty.
    #[error("the service token is empty: give a token or none at all")]
    EmptyToken,
    /// A JWT key could not be read.
    #[error("invalid JWT key: {0}")]
    InvalidKey(String),
    /// The ticket signing secret is shorter than 32 bytes.
    #[error("the ticket secret must be at least 32 bytes, got {0}")]
    ShortTicketSecret(usize),
    /// The OS random source failed while making a ticket secret.
    #[error("no random ticket secret: {0}")]
    Random(String),
    /// Auth is off (no token, no JWT key) and the address is not loopback.
    #[error(
        "refusing to listen on {addr} without authentication: set a token (AGENT_SERVER_TOKEN) \
         or a JWT key, or listen on a loopback address such as 127.0.0.1"
    )]
    PublicListenWithoutAuth {
        /// The address that was refused.
        addr: SocketAddr,
    },
}

/// The key end-user JWTs are verified with.
///
/// ```
/// use agent_sdk::server::auth::JwtKey;
/// let key = JwtKey::hs256("a shared secret of the identity provider");
/// assert!(JwtKey::rs256_pem(b"not a key").is_err());
/// # let _ = key;
/// ```
#[derive(Clone)]
pub struct JwtKey {
    algorithm: Algorithm,
    key: DecodingKey,
}

impl std::fmt::Debug for JwtKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("JwtKey")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl JwtKey {
    /// HMAC-SHA256 with a secret shared with the token issuer.
    pub fn hs256(secret: impl AsRef<[u8]>) -> Self {
        Self {
            algorithm: Algorithm::HS256,
            key: DecodingKey::from_secret(secret.as_ref()),
        }
    }

    /// RSA-SHA256 with the issuer's public key in PEM (`BEGIN PUBLIC KEY` or
    /// `BEGIN RSA PUBLIC KEY`).
    pub fn rs256_pem(pem: &[u8]) -> Result<Self, AuthError> {
        let key =
            DecodingKey::from_rsa_pem(pem).map_err(|e| AuthError::InvalidKey(e.to_string()))?;
        Ok(Self {
            algorithm: Algorithm::RS256,
            key,
        })
    }
}

/// Which JWT claims carry the user, the tenant and the tier.
///
/// ```
/// use agent_sdk::server::auth::ClaimNames;
/// let names = ClaimNames { user: "email".into(), ..ClaimNames::default() };
/// assert_eq!(names.tenant, "tenant");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimNames {
    /// The user's claim (default `sub`); required.
    pub user: String,
    /// The tenant's claim (default `tenant`); optional in the token.
    pub tenant: String,
    /// The tier's claim (default `tier`); optional in the token (the default tier then).
    pub tier: String,
}

impl Default for ClaimNames {
    fn default() -> Self {
        Self {
            user: "sub".into(),
            tenant: "tenant".into(),
            tier: "tier".into(),
        }
    }
}

/// How callers authenticate. With neither a token nor a JWT key, every
/// request is let in as an anonymous service principal: only for loopback
/// (see [`check_listen`]).
///
/// ```
/// use std::time::Duration;
/// use agent_sdk::server::auth::{AuthConfig, JwtKey};
///
/// let config = AuthConfig::new()
///     .token("service-token")
///     .jwt_key(JwtKey::hs256("idp-secret"))
///     .jwt_audience("agent-server")
///     .ticket_ttl(Duration::from_secs(30));
/// assert!(config.is_enabled());
/// ```
#[derive(Debug, Clone)]
pub struct AuthConfig {
    token: Option<String>,
    jwt_key: Option<JwtKey>,
    claims: ClaimNames,
    audience: Option<String>,
    issuer: Option<String>,
    leeway: Duration,
    ticket_ttl: Duration,
    ticket_secret: Option<Vec<u8>>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl AuthConfig {
    /// No token, no JWT key: everything allowed (loopback only).
    pub fn new() -> Self {
        Self {
            token: None,
            jwt_key: None,
            claims: ClaimNames::default(),
            audience: None,
            issuer: None,
            leeway: Duration::from_secs(30),
            ticket_ttl: DEFAULT_TICKET_TTL,
            ticket_secret: None,
        }
    }

    /// The service's static bearer token (`AGENT_SERVER_TOKEN`).
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Accept end-user JWTs verified with this key.
    pub fn jwt_key(mut self, key: JwtKey) -> Self {
        self.jwt_key = Some(key);
        self
    }

    /// The claim names of user, tenant and tier.
    pub fn claim_names(mut self, names: ClaimNames) -> Self {
        self.claims = names;
        self
    }

    /// Require this `aud` in JWTs.
    pub fn jwt_audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// Require this `iss` in JWTs.
    pub fn jwt_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Clock skew allowed on `exp` (default 30 s).
    pub fn jwt_leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// How long tickets live (default [`DEFAULT_TICKET_TTL`]).
    pub fn ticket_ttl(mut self, ttl: Duration) -> Self {
        self.ticket_ttl = ttl;
        self
    }

    /// The secret tickets are signed with (at least 32 bytes). Give the same
    /// one to every instance behind a load balancer; without it each process
    /// draws a random one, and its tickets die with it.
    pub fn ticket_secret(mut self, secret: impl Into<Vec<u8>>) -> Self {
        self.ticket_secret = Some(secret.into());
        self
    }

    /// Whether any credential is required (a token or a JWT key is set).
    pub fn is_enabled(&self) -> bool {
        self.token.is_some() || self.jwt_key.is_some()
    }
}

/// Refuses a non-loopback listen address when auth is off.
///
/// ```
/// use agent_sdk::server::auth::{AuthConfig, check_listen};
/// let open = AuthConfig::new();
/// assert!(check_listen("127.0.0.1:8080".parse().unwrap(), &open).is_ok());
/// assert!(check_listen("0.0.0.0:8080".parse().unwrap(), &open).is_err());
/// assert!(check_listen("0.0.0.0:8080".parse().unwrap(), &open.token("t")).is_ok());
/// ```
pub fn check_listen(addr: SocketAddr, config: &AuthConfig) -> Result<(), AuthError> {
    if config.is_enabled() || addr.ip().is_loopback() {
        Ok(())
    } else {
        Err(AuthError::PublicListenWithoutAuth { addr })
    }
}

/// How a principal proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PrincipalKind {
    /// The service token: a trusted backend, may act for any user.
    Service,
    /// An end user, from a JWT.
    User,
    /// Auth is off (no token, no JWT key).
    Anonymous,
}

/// The authenticated caller, in the request's extensions after
/// [`require_auth`]; extract it in a handler as an argument.
///
/// ```
/// use agent_sdk::server::auth::Principal;
/// async fn whoami(principal: Principal) -> String {
///     principal.user.unwrap_or_else(|| "service".into())
/// }
/// let _ = axum::Router::<()>::new().route("/whoami", axum::routing::get(whoami));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// How it authenticated.
    pub kind: PrincipalKind,
    /// The end user (JWT claim), if any.
    pub user: Option<String>,
    /// The tenant (JWT claim), if any.
    pub tenant: Option<String>,
    /// The tier (JWT claim), if any: the default tier otherwise.
    pub tier: Option<String>,
    /// Set when it came with a ticket bound to one session: the only session
    /// it may reach.
    pub session_scope: Option<String>,
}

impl Principal {
    /// The principal of a server without auth.
    pub fn anonymous() -> Self {
        Self::of_kind(PrincipalKind::Anonymous)
    }

    /// The service token's principal.
    pub fn service() -> Self {
        Self::of_kind(PrincipalKind::Service)
    }

    fn of_kind(kind: PrincipalKind) -> Self {
        Self {
            kind,
            user: None,
            tenant: None,
            tier: None,
            session_scope: None,
        }
    }

    /// An end user's principal.
    pub fn user(user: impl Into<String>, tenant: Option<String>, tier: Option<String>) -> Self {
        Self {
            user: Some(user.into()),
            tenant,
            tier,
            ..Self::of_kind(PrincipalKind::User)
        }
    }

    /// A stable key for per-caller accounting (rate limits):
    /// `service`, `anonymous` or `user:<tenant>/<user>`.
    ///
    /// ```
    /// use agent_sdk::server::auth::Principal;
    /// let p = Principal::user("ann", Some("acme".into()), None);
    /// assert_eq!(p.key(), "user:acme/ann");
    /// ```
    pub fn key(&self) -> String {
        match self.kind {
            PrincipalKind::Service => "service".into(),
            PrincipalKind::Anonymous => "anonymous".into(),
            PrincipalKind::User => format!(
                "user:{}/{}",
                self.tenant.as_deref().unwrap_or(""),
                self.user.as_deref().unwrap_or("")
            ),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or_else(|| unauthorized("not authenticated", false))
    }
}

/// A signed ticket for a URL (`?ticket=`), from `POST /v1/tickets`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Ticket {
    /// The opaque ticket text (URL-safe).
    pub ticket: String,
    /// When it stops being accepted (ms since the epoch).
    pub expires_at: Millis,
}

/// What a ticket carries, signed. Never the raw token.
#[derive(Serialize, Deserialize)]
struct TicketClaims {
    #[serde(rename = "p")]
    principal: Principal,
    #[serde(rename = "e")]
    expires_at: Millis,
    /// A random nonce: two tickets issued in the same millisecond differ.
    #[serde(rename = "n")]
    nonce: String,
}

/// Checks requests against an [`AuthConfig`] and issues tickets.
#[derive(Debug)]
pub struct Authenticator {
    token_digest: Option<[u8; 32]>,
    jwt: Option<(JwtKey, Validation)>,
    claims: ClaimNames,
    ticket_ttl: Duration,
    ticket_secret: Vec<u8>,
}

impl Authenticator {
    /// Checks the configuration (empty token, short secret) and draws a
    /// random ticket secret when none is given.
    pub fn new(config: AuthConfig) -> Result<Self, AuthError> {
        if config.token.as_deref() == Some("") {
            return Err(AuthError::EmptyToken);
        }
        let ticket_secret = match config.ticket_secret {
            Some(secret) if secret.len() < 32 => {
                return Err(AuthError::ShortTicketSecret(secret.len()));
            }
            Some(secret) => secret,
            None => {
                let mut secret = vec![0u8; 32];
                getrandom::fill(&mut secret).map_err(|e| AuthError::Random(e.to_string()))?;
                secret
            }
        };
        let jwt = config.jwt_key.map(|key| {
            let mut validation = Validation::new(key.algorithm);
            validation.leeway = config.leeway.as_secs();
            validation.set_required_spec_claims(&["exp"]);
            validation.validate_nbf = true;
            match &config.audience {
                Some(audience) => validation.set_audience(&[audience]),
                None => validation.validate_aud = false,
            }
            if let Some(issuer) = &config.issuer {
                validation.set_issuer(&[issuer]);
            }
            (key, validation)
        });
        Ok(Self {
            token_digest: config.token.as_deref().map(digest),
            jwt,
            claims: config.claims,
            ticket_ttl: config.ticket_ttl,
            ticket_secret,
        })
    }

    /// Whether any credential is required.
    pub fn is_enabled(&self) -> bool {
        self.token_digest.is_some() || self.jwt.is_some()
    }

    /// Who sent this request: a bearer token (the service token or a JWT) in
    /// `Authorization`, or a ticket in `?ticket=` on a GET. 401 with
    /// `WWW-Authenticate: Bearer` otherwise.
    pub fn authenticate(&self, parts: &Parts) -> Result<Principal, ApiError> {
        if !self.is_enabled() {
            return Ok(Principal::anonymous());
        }
        if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            let bearer = value
                .to_str()
                .ok()
                .and_then(|v| {
                    v.strip_prefix("Bearer ")
                        .or_else(|| v.strip_prefix("bearer "))
                })
                .map(str::trim)
                .ok_or_else(|| unauthorized("Authorization must be \"Bearer <token>\"", true))?;
            return self.check_bearer(bearer);
        }
        if let Some(ticket) = query_ticket(parts) {
            // Tickets open event streams (EventSource, WebSocket): reads only.
            if parts.method != Method::GET && parts.method != Method::HEAD {
                return Err(unauthorized(
                    "a ticket is accepted only on GET (event streams); send the bearer token",
                    true,
                ));
            }
            let principal = self.check_ticket(&ticket)?;
            if let Some(session) = &principal.session_scope
                && !path_targets_session(parts.uri.path(), session)
            {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "ticket_scope",
                    format!("this ticket is for session {session:?} only"),
                ));
            }
            return Ok(principal);
        }
        Err(unauthorized(
            "missing credentials: send \"Authorization: Bearer <token>\" or a ticket in ?ticket=",
            false,
        ))
    }

    fn check_bearer(&self, bearer: &str) -> Result<Principal, ApiError> {
        if let Some(expected) = &self.token_digest
            && tokens_match(expected, bearer)
        {
            return Ok(Principal::service());
        }
        if let Some((key, validation)) = &self.jwt
            && bearer.matches('.').count() == 2
        {
            let data = jsonwebtoken::decode::<Map<String, Value>>(bearer, &key.key, validation)
                .map_err(|e| unauthorized(format!("invalid token: {e}"), true))?;
            return self.principal_from_claims(&data.claims);
        }
        Err(unauthorized("invalid token", true))
    }

    fn principal_from_claims(&self, claims: &Map<String, Value>) -> Result<Principal, ApiError> {
        let text = |name: &str| -> Result<Option<String>, ApiError> {
            match claims.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
                Some(_) => Err(unauthorized(
                    format!("claim {name:?} must be a non-empty string"),
                    true,
                )),
            }
        };
        let user = text(&self.claims.user)?.ok_or_else(|| {
            unauthorized(
                format!("the token has no {:?} claim", self.claims.user),
                true,
            )
        })?;
        Ok(Principal::user(
            user,
            text(&self.claims.tenant)?,
            text(&self.claims.tier)?,
        ))
    }

    /// A ticket for `principal`, valid for the configured TTL, optionally
    /// bound to one session (then refused on any other session's routes and
    /// on routes of no session). A principal that came with a session-bound
    /// ticket only gets tickets for that same session.
    ///
    /// ```
    /// use agent_sdk::server::auth::{AuthConfig, Authenticator, Principal};
    /// use axum::http::Request;
    ///
    /// let auth = Authenticator::new(AuthConfig::new().token("s3cret"))?;
    /// let ticket = auth.issue_ticket(&Principal::service(), Some("s1"));
    /// assert!(!ticket.ticket.contains("s3cret"));
    /// let uri = format!("/v1/sessions/s1/events?ticket={}", ticket.ticket);
    /// let (parts, ()) = Request::get(uri).body(()).unwrap().into_parts();
    /// assert_eq!(auth.authenticate(&parts).unwrap().session_scope.as_deref(), Some("s1"));
    /// # Ok::<(), agent_sdk::server::auth::AuthError>(())
    /// ```
    pub fn issue_ticket(&self, principal: &Principal, scope_session: Option<&str>) -> Ticket {
        let mut nonce = [0u8; 12];
        // A failing random source only weakens uniqueness, not the signature.
        let _ = getrandom::fill(&mut nonce);
        let expires_at = now_millis().saturating_add(self.ticket_ttl.as_millis() as Millis);
        let claims = TicketClaims {
            principal: Principal {
                // A principal already bound to a session stays bound to it.
                session_scope: principal
                    .session_scope
                    .clone()
                    .or_else(|| scope_session.map(str::to_owned)),
                ..principal.clone()
            },
            expires_at,
            nonce: URL_SAFE_NO_PAD.encode(nonce),
        };
        let payload =
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).expect("ticket claims serialize"));
        let signature = URL_SAFE_NO_PAD.encode(self.sign(payload.as_bytes()));
        Ticket {
            ticket: format!("{payload}.{signature}"),
            expires_at,
        }
    }

    fn sign(&self, payload: &[u8]) -> [u8; 32] {
        let mut mac =
            HmacSha256::new_from_slice(&self.ticket_secret).expect("HMAC takes any key length");
        mac.update(payload);
        mac.finalize().into_bytes().into()
    }

    fn check_ticket(&self, ticket: &str) -> Result<Principal, ApiError> {
        let bad = || unauthorized("invalid ticket", true);
        let (payload, signature) = ticket.split_once('.').ok_or_else(bad)?;
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| bad())?;
        let mut mac =
            HmacSha256::new_from_slice(&self.ticket_secret).expect("HMAC takes any key length");
        mac.update(payload.as_bytes());
        // verify_slice compares in constant time.
        mac.verify_slice(&signature).map_err(|_| bad())?;
        let bytes = URL_SAFE_NO_PAD.decode(payload).map_err(|_| bad())?;
        let claims: TicketClaims = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        if claims.expires_at <= now_millis() {
            return Err(unauthorized(
                "the ticket has expired: ask for a new one",
                true,
            ));
        }
        Ok(claims.principal)
    }
}

/// Axum middleware: authenticates every request or answers 401 with
/// `WWW-Authenticate: Bearer`; puts the [`Principal`] in the extensions.
///
/// ```
/// use std::sync::Arc;
/// use agent_sdk::server::auth::{AuthConfig, Authenticator, Principal, require_auth};
/// use axum::{Router, middleware, routing::get};
///
/// let auth = Arc::new(Authenticator::new(AuthConfig::new().token("s3cret"))?);
/// let app: Router = Router::new()
///     .route("/v1/me", get(|p: Principal| async move { p.key() }))
///     .layer(middleware::from_fn_with_state(auth, require_auth));
/// # Ok::<(), agent_sdk::server::auth::AuthError>(())
/// ```
pub async fn require_auth(
    State(auth): State<Arc<Authenticator>>,
    request: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    match auth.authenticate(&parts) {
        Ok(principal) => {
            parts.extensions.insert(principal);
            next.run(Request::from_parts(parts, body)).await
        }
        Err(error) => error.into_response(),
    }
}

/// Compares a presented token with the expected one's SHA-256 in constant
/// time: hashing first makes the comparison independent of both the length
/// and the content of the secret.
fn tokens_match(expected_digest: &[u8; 32], presented: &str) -> bool {
    digest(presented).ct_eq(expected_digest).into()
}

fn digest(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

fn query_ticket(parts: &Parts) -> Option<String> {
    let Query(query) = Query::<HashMap<String, String>>::try_from_uri(&parts.uri).ok()?;
    query.get("ticket").cloned()
}

/// Whether `path` is the session's own route or below it: a `sessions`
/// segment followed by the id (wherever the router is mounted).
fn path_targets_session(path: &str, session: &str) -> bool {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    segments
        .windows(2)
        .any(|pair| pair[0] == "sessions" && pair[1] == session)
}

fn unauthorized(message: impl Into<String>, invalid_token: bool) -> ApiError {
    let challenge = if invalid_token {
        "Bearer realm=\"agent-server\", error=\"invalid_token\""
    } else {
        "Bearer realm=\"agent-server\""
    };
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message).with_header(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(challenge),
    )
}

fn now_millis() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as Millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_comparison_hashes_then_compares_in_constant_time() {
        let expected = digest("s3cret");
        assert!(tokens_match(&expected, "s3cret"));
        assert!(!tokens_match(&expected, "s3cre"));
        assert!(!tokens_match(&expected, "s3cret "));
        assert!(!tokens_match(&expected, ""));
    }

    #[test]
    fn session_paths_match_whole_segments() {
        assert!(path_targets_session("/v1/sessions/s1/events", "s1"));
        assert!(path_targets_session("/api/v1/sessions/s1", "s1"));
        assert!(!path_targets_session("/v1/sessions/s10/events", "s1"));
        assert!(!path_targets_session("/v1/sessions", "s1"));
        assert!(!path_targets_session("/v1/usage", "s1"));
    }

    #[test]
    fn a_session_bound_principal_cannot_widen_its_tickets() {
        let auth = Authenticator::new(AuthConfig::new().token("t")).unwrap();
        let bound = Principal {
            session_scope: Some("s1".into()),
            ..Principal::service()
        };
        for asked in [None, Some("s2")] {
            let ticket = auth.issue_ticket(&bound, asked);
            let principal = auth.check_ticket(&ticket.ticket).unwrap();
            assert_eq!(principal.session_scope.as_deref(), Some("s1"));
        }
    }

    #[test]
    fn configuration_errors_are_typed() {
        assert!(matches!(
            Authenticator::new(AuthConfig::new().token("")),
            Err(AuthError::EmptyToken)
        ));
        assert!(matches!(
            Authenticator::new(AuthConfig::new().ticket_secret(vec![1; 8])),
            Err(AuthError::ShortTicketSecret(8))
        ));
    }
}
