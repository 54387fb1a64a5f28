//! The agent server's auth over real HTTP on loopback: the service token,
//! tickets in `?ticket=`, end-user JWTs (HS256, RS256), and `check_listen`.
//! Each test serves a small router of its own behind `require_auth`.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use agent_sdk::server::auth::{
    AuthConfig, AuthError, Authenticator, ClaimNames, JwtKey, Principal, check_listen, require_auth,
};
use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router, middleware};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};

mod support;

const TOKEN: &str = "service-token-0123456789";
const HS_SECRET: &[u8] = b"the identity provider's shared secret";

fn key_file(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/jwt/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Serves: `GET /v1/me` (who am I), `POST /v1/tickets` (a ticket, optionally
/// for `{"session": id}`), `GET /v1/sessions/{id}/events` (who, for which
/// session), `POST /v1/sessions/{id}/messages`. Returns the base URL.
async fn serve(config: AuthConfig) -> String {
    let auth = Arc::new(Authenticator::new(config).expect("valid auth config"));
    async fn me(principal: Principal) -> Json<Principal> {
        Json(principal)
    }
    async fn ticket(
        State(auth): State<Arc<Authenticator>>,
        principal: Principal,
        Json(body): Json<Value>,
    ) -> Json<Value> {
        let ticket = auth.issue_ticket(&principal, body["session"].as_str());
        Json(serde_json::to_value(ticket).unwrap())
    }
    async fn events(Path(id): Path<String>, principal: Principal) -> Json<Value> {
        Json(json!({"session": id, "principal": principal}))
    }
    let app = Router::new()
        .route("/v1/me", get(me))
        .route("/v1/tickets", post(ticket))
        .route("/v1/sessions/{id}/events", get(events))
        .route("/v1/sessions/{id}/messages", post(events))
        .layer(middleware::from_fn_with_state(auth.clone(), require_auth))
        .with_state(auth);
    support::serve(app).await
}

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

async fn get_as(url: &str, bearer: Option<&str>) -> reqwest::Response {
    let mut request = client().get(url);
    if let Some(bearer) = bearer {
        request = request.bearer_auth(bearer);
    }
    request.send().await.unwrap()
}

/// Asserts a 401 in the one error shape, with a Bearer challenge.
async fn assert_unauthorized(response: reqwest::Response, invalid_token: bool) -> String {
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(challenge.starts_with("Bearer realm="), "{challenge}");
    assert_eq!(challenge.contains("error=\"invalid_token\""), invalid_token);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");
    body["error"]["message"].as_str().unwrap().to_owned()
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn jwt(algorithm: Algorithm, key: &EncodingKey, claims: Value) -> String {
    jsonwebtoken::encode(&Header::new(algorithm), &claims, key).unwrap()
}

fn user_claims(exp_offset: i64) -> Value {
    json!({
        "sub": "ann",
        "tenant": "acme",
        "tier": "pro",
        "exp": unix_now() as i64 + exp_offset,
    })
}

#[tokio::test]
async fn the_service_token_is_required_and_checked() {
    let base = serve(AuthConfig::new().token(TOKEN)).await;
    let url = format!("{base}/v1/me");

    let message = assert_unauthorized(get_as(&url, None).await, false).await;
    assert!(message.contains("Bearer"), "{message}");
    assert_unauthorized(get_as(&url, Some("wrong")).await, true).await;
    // A prefix or an extension of the token is no better than a wrong one.
    assert_unauthorized(get_as(&url, Some(&TOKEN[..TOKEN.len() - 1])).await, true).await;
    assert_unauthorized(get_as(&url, Some(&format!("{TOKEN}x"))).await, true).await;
    let basic = client()
        .get(&url)
        .header("authorization", format!("Basic {TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_unauthorized(basic, true).await;
    // The raw token is not a ticket.
    assert_unauthorized(get_as(&format!("{url}?ticket={TOKEN}"), None).await, true).await;

    let ok = get_as(&url, Some(TOKEN)).await;
    assert_eq!(ok.status(), StatusCode::OK);
    let principal: Value = ok.json().await.unwrap();
    assert_eq!(principal["kind"], "service");
}

#[tokio::test]
async fn without_a_token_or_key_everyone_is_the_anonymous_service() {
    let base = serve(AuthConfig::new()).await;
    let response = get_as(&format!("{base}/v1/me"), None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let principal: Value = response.json().await.unwrap();
    assert_eq!(principal["kind"], "anonymous");
}

async fn issue(base: &str, bearer: &str, session: Option<&str>) -> (String, i64) {
    let response = client()
        .post(format!("{base}/v1/tickets"))
        .bearer_auth(bearer)
        .json(&json!({"session": session}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    (
        body["ticket"].as_str().unwrap().to_owned(),
        body["expires_at"].as_i64().unwrap(),
    )
}

#[tokio::test]
async fn tickets_open_event_streams_of_their_session_until_they_expire() {
    let base = serve(
        AuthConfig::new()
            .token(TOKEN)
            .ticket_ttl(Duration::from_millis(1500)),
    )
    .await;
    let events = |session: &str, ticket: &str| {
        format!("{base}/v1/sessions/{session}/events?after=3&ticket={ticket}")
    };

    let (ticket, expires_at) = issue(&base, TOKEN, Some("s1")).await;
    assert!(
        !ticket.contains(TOKEN),
        "a ticket never carries the raw token"
    );
    let now_ms = (unix_now() * 1000) as i64;
    assert!(
        expires_at > now_ms - 1000 && expires_at <= now_ms + 2500,
        "{expires_at}"
    );

    // Accepted in ?ticket= for its session, as the principal that asked for it.
    let ok = get_as(&events("s1", &ticket), None).await;
    assert_eq!(ok.status(), StatusCode::OK);
    let body: Value = ok.json().await.unwrap();
    assert_eq!(body["principal"]["kind"], "service");
    assert_eq!(body["principal"]["session_scope"], "s1");

    // Scoped to s1: refused for s2 and for routes of no session.
    let other = get_as(&events("s2", &ticket), None).await;
    assert_eq!(other.status(), StatusCode::FORBIDDEN);
    let body: Value = other.json().await.unwrap();
    assert_eq!(body["error"]["code"], "ticket_scope");
    let me = get_as(&format!("{base}/v1/me?ticket={ticket}"), None).await;
    assert_eq!(me.status(), StatusCode::FORBIDDEN);

    // Only for reading streams: a POST with a ticket is refused.
    let post = client()
        .post(format!("{base}/v1/sessions/s1/messages?ticket={ticket}"))
        .send()
        .await
        .unwrap();
    assert_unauthorized(post, true).await;

    // Tampered: a changed payload or a changed signature.
    let (payload, signature) = ticket.split_once('.').unwrap();
    let flip = |text: &str| {
        let mut chars: Vec<char> = text.chars().collect();
        chars[3] = if chars[3] == 'A' { 'B' } else { 'A' };
        chars.into_iter().collect::<String>()
    };
    for tampered in [
        format!("{}.{signature}", flip(payload)),
        format!("{payload}.{}", flip(signature)),
        payload.to_owned(),
        format!("{payload}."),
    ] {
        assert_unauthorized(get_as(&events("s1", &tampered), None).await, true).await;
    }
    // A payload re-scoped by hand (its signature then no longer matches).
    let forged_payload = {
        use base64::Engine;
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut claims: Value = serde_json::from_slice(&engine.decode(payload).unwrap()).unwrap();
        claims["p"]["session_scope"] = json!("s2");
        engine.encode(serde_json::to_vec(&claims).unwrap())
    };
    assert_unauthorized(
        get_as(
            &events("s2", &format!("{forged_payload}.{signature}")),
            None,
        )
        .await,
        true,
    )
    .await;

    // An unscoped ticket reaches any session.
    let (unscoped, _) = issue(&base, TOKEN, None).await;
    assert_eq!(
        get_as(&events("s2", &unscoped), None).await.status(),
        StatusCode::OK
    );

    // Expired.
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let message = assert_unauthorized(get_as(&events("s1", &ticket), None).await, true).await;
    assert!(message.contains("expired"), "{message}");
}

#[tokio::test]
async fn a_ticket_of_another_server_is_refused() {
    let base_a = serve(AuthConfig::new().token(TOKEN)).await;
    let base_b = serve(AuthConfig::new().token(TOKEN)).await;
    let (ticket, _) = issue(&base_a, TOKEN, None).await;
    let url = |base: &str| format!("{base}/v1/sessions/s1/events?ticket={ticket}");
    assert_eq!(get_as(&url(&base_a), None).await.status(), StatusCode::OK);
    // Each process draws its own ticket secret unless one is configured.
    assert_unauthorized(get_as(&url(&base_b), None).await, true).await;

    // With a shared secret, both accept each other's tickets.
    let secret = vec![7u8; 32];
    let base_c = serve(AuthConfig::new().token(TOKEN).ticket_secret(secret.clone())).await;
    let base_d = serve(AuthConfig::new().token(TOKEN).ticket_secret(secret)).await;
    let (ticket, _) = issue(&base_c, TOKEN, None).await;
    let shared = get_as(
        &format!("{base_d}/v1/sessions/s1/events?ticket={ticket}"),
        None,
    )
    .await;
    assert_eq!(shared.status(), StatusCode::OK);
}

#[tokio::test]
async fn hs256_jwts_carry_user_tenant_and_tier() {
    let base = serve(
        AuthConfig::new()
            .token(TOKEN)
            .jwt_key(JwtKey::hs256(HS_SECRET)),
    )
    .await;
    let url = format!("{base}/v1/me");
    let key = EncodingKey::from_secret(HS_SECRET);

    let ok = get_as(&url, Some(&jwt(Algorithm::HS256, &key, user_claims(600)))).await;
    assert_eq!(ok.status(), StatusCode::OK);
    let principal: Principal = ok.json().await.unwrap();
    assert_eq!(
        principal,
        Principal::user("ann", Some("acme".into()), Some("pro".into()))
    );

    // Expired (past the 30 s leeway).
    let expired = jwt(Algorithm::HS256, &key, user_claims(-120));
    let message = assert_unauthorized(get_as(&url, Some(&expired)).await, true).await;
    assert!(message.to_lowercase().contains("expired"), "{message}");
    // No exp at all.
    let no_exp = jwt(Algorithm::HS256, &key, json!({"sub": "ann"}));
    assert_unauthorized(get_as(&url, Some(&no_exp)).await, true).await;
    // Signed with another secret.
    let wrong = jwt(
        Algorithm::HS256,
        &EncodingKey::from_secret(b"another secret"),
        user_claims(600),
    );
    assert_unauthorized(get_as(&url, Some(&wrong)).await, true).await;
    // No user claim.
    let anonymous = jwt(
        Algorithm::HS256,
        &key,
        json!({"tenant": "acme", "exp": unix_now() + 600}),
    );
    let message = assert_unauthorized(get_as(&url, Some(&anonymous)).await, true).await;
    assert!(message.contains("\"sub\""), "{message}");

    // Not valid yet (nbf an hour ahead).
    let mut early = user_claims(7200);
    early["nbf"] = json!(unix_now() + 3600);
    let early = jwt(Algorithm::HS256, &key, early);
    assert_unauthorized(get_as(&url, Some(&early)).await, true).await;

    // A ticket issued to a JWT user keeps user, tenant and tier.
    let bearer = jwt(Algorithm::HS256, &key, user_claims(600));
    let (ticket, _) = issue(&base, &bearer, Some("s9")).await;
    let body: Value = get_as(
        &format!("{base}/v1/sessions/s9/events?ticket={ticket}"),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(body["principal"]["user"], "ann");
    assert_eq!(body["principal"]["tenant"], "acme");
    assert_eq!(body["principal"]["tier"], "pro");
}

#[tokio::test]
async fn claim_names_audience_and_issuer_are_configurable() {
    let base = serve(
        AuthConfig::new()
            .jwt_key(JwtKey::hs256(HS_SECRET))
            .claim_names(ClaimNames {
                user: "email".into(),
                tenant: "org".into(),
                tier: "plan".into(),
            })
            .jwt_audience("agent-server")
            .jwt_issuer("https://idp.example"),
    )
    .await;
    let url = format!("{base}/v1/me");
    let key = EncodingKey::from_secret(HS_SECRET);
    let claims = |aud: &str, iss: &str| {
        json!({"email": "ann@acme.example", "org": "acme", "plan": "free",
               "aud": aud, "iss": iss, "exp": unix_now() + 600})
    };
    let ok = get_as(
        &url,
        Some(&jwt(
            Algorithm::HS256,
            &key,
            claims("agent-server", "https://idp.example"),
        )),
    )
    .await;
    assert_eq!(ok.status(), StatusCode::OK);
    let principal: Principal = ok.json().await.unwrap();
    assert_eq!(principal.user.as_deref(), Some("ann@acme.example"));
    assert_eq!(principal.tenant.as_deref(), Some("acme"));
    assert_eq!(principal.tier.as_deref(), Some("free"));

    for wrong in [
        claims("other-app", "https://idp.example"),
        claims("agent-server", "https://evil.example"),
    ] {
        assert_unauthorized(
            get_as(&url, Some(&jwt(Algorithm::HS256, &key, wrong))).await,
            true,
        )
        .await;
    }
    // With only a JWT key, a plain bearer string is not a token.
    assert_unauthorized(get_as(&url, Some(TOKEN)).await, true).await;
    assert_unauthorized(get_as(&url, None).await, false).await;
}

#[tokio::test]
async fn rs256_jwts_are_verified_with_the_public_key() {
    let public = key_file("jwt-rs256-a.pub");
    let base = serve(AuthConfig::new().jwt_key(JwtKey::rs256_pem(&public).unwrap())).await;
    let url = format!("{base}/v1/me");
    let signing = EncodingKey::from_rsa_pem(&key_file("jwt-rs256-a.key")).unwrap();

    let ok = get_as(
        &url,
        Some(&jwt(Algorithm::RS256, &signing, user_claims(600))),
    )
    .await;
    assert_eq!(ok.status(), StatusCode::OK);
    let principal: Principal = ok.json().await.unwrap();
    assert_eq!(principal.key(), "user:acme/ann");
    assert_eq!(principal.tier.as_deref(), Some("pro"));

    let expired = jwt(Algorithm::RS256, &signing, user_claims(-120));
    assert_unauthorized(get_as(&url, Some(&expired)).await, true).await;
    // Another key pair's signature.
    let stranger = EncodingKey::from_rsa_pem(&key_file("jwt-rs256-b.key")).unwrap();
    let wrong = jwt(Algorithm::RS256, &stranger, user_claims(600));
    assert_unauthorized(get_as(&url, Some(&wrong)).await, true).await;
    // Algorithm confusion: HS256 "signed" with the public key as the secret.
    let confused = jwt(
        Algorithm::HS256,
        &EncodingKey::from_secret(&public),
        user_claims(600),
    );
    assert_unauthorized(get_as(&url, Some(&confused)).await, true).await;
}

#[test]
fn bad_keys_and_secrets_are_typed_errors() {
    assert!(matches!(
        JwtKey::rs256_pem(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"),
        Err(AuthError::InvalidKey(_))
    ));
    assert!(matches!(
        Authenticator::new(AuthConfig::new().token("")),
        Err(AuthError::EmptyToken)
    ));
    assert!(matches!(
        Authenticator::new(
            AuthConfig::new()
                .token(TOKEN)
                .ticket_secret(b"short".to_vec())
        ),
        Err(AuthError::ShortTicketSecret(5))
    ));
}

#[test]
fn public_addresses_need_a_token_or_a_jwt_key() {
    let open = AuthConfig::new();
    for public in ["0.0.0.0:8080", "[::]:8080", "192.168.1.10:80"] {
        let error = check_listen(public.parse().unwrap(), &open).unwrap_err();
        assert!(matches!(error, AuthError::PublicListenWithoutAuth { .. }));
        assert!(error.to_string().contains("AGENT_SERVER_TOKEN"), "{error}");
    }
    for loopback in ["127.0.0.1:8080", "[::1]:8080", "127.0.0.2:9"] {
        check_listen(loopback.parse().unwrap(), &open).unwrap();
    }
    check_listen(
        "0.0.0.0:8080".parse().unwrap(),
        &AuthConfig::new().token(TOKEN),
    )
    .unwrap();
    check_listen(
        "0.0.0.0:8080".parse().unwrap(),
        &AuthConfig::new().jwt_key(JwtKey::hs256(HS_SECRET)),
    )
    .unwrap();
}
