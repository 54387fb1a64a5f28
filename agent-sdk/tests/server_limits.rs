//! Tiers from JSON and in code, and the per-caller rate limit over real HTTP
//! on loopback (429 with a correct `Retry-After`, then recovery).

use std::sync::Arc;
use std::time::{Duration, Instant};

use agent_sdk::server::auth::{AuthConfig, Authenticator, JwtKey, Principal, require_auth};
use agent_sdk::server::limits::{LimitsError, RateLimiter, Tier, Tiers, rate_limit};
use axum::routing;
use axum::{Router, middleware};
use reqwest::StatusCode;
use serde_json::{Value, json};

mod support;

const TOKEN: &str = "service-token";
const SECRET: &[u8] = b"idp secret";

async fn serve(limiter: RateLimiter) -> String {
    let auth = Arc::new(
        Authenticator::new(
            AuthConfig::new()
                .token(TOKEN)
                .jwt_key(JwtKey::hs256(SECRET)),
        )
        .unwrap(),
    );
    let app = Router::new()
        .route(
            "/v1/me",
            routing::get(|p: Principal| async move { p.key() }),
        )
        .layer(middleware::from_fn_with_state(
            Arc::new(limiter),
            rate_limit,
        ))
        .layer(middleware::from_fn_with_state(auth, require_auth));
    format!("{}/v1/me", support::serve(app).await)
}

fn user_jwt(user: &str) -> String {
    support::hs256_jwt(SECRET, json!({"sub": user}))
}

async fn get(url: &str, bearer: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(url)
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn past_the_rate_a_caller_gets_429_with_retry_after_then_recovers() {
    // One request a second, bursts of two.
    let url = serve(RateLimiter::per_minute(60).with_burst(2)).await;
    let ann = user_jwt("ann");

    assert_eq!(get(&url, &ann).await.status(), StatusCode::OK);
    assert_eq!(get(&url, &ann).await.status(), StatusCode::OK);
    let limited = get(&url, &ann).await;
    let limited_at = Instant::now();
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        retry_after, 1,
        "one token a second: the next in at most 1 s"
    );
    let body: Value = limited.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");

    // Other callers have buckets of their own.
    assert_eq!(get(&url, &user_jwt("bob")).await.status(), StatusCode::OK);
    assert_eq!(get(&url, TOKEN).await.status(), StatusCode::OK);

    // Waiting Retry-After seconds is enough.
    tokio::time::sleep(Duration::from_secs(retry_after).saturating_sub(limited_at.elapsed())).await;
    assert_eq!(get(&url, &ann).await.status(), StatusCode::OK);
    // ... for one request: the bucket refills at the rate, not at once.
    assert_eq!(
        get(&url, &ann).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn retry_after_rounds_up_to_whole_seconds() {
    // One request every 6 s: a second request right away must wait 6 s.
    let url = serve(RateLimiter::per_minute(10).with_burst(1)).await;
    assert_eq!(get(&url, TOKEN).await.status(), StatusCode::OK);
    let limited = get(&url, TOKEN).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.headers()["retry-after"], "6");
}

#[tokio::test]
async fn unauthenticated_requests_are_refused_before_they_count() {
    let url = serve(RateLimiter::per_minute(60).with_burst(1)).await;
    for _ in 0..3 {
        assert_eq!(get(&url, "wrong").await.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(get(&url, TOKEN).await.status(), StatusCode::OK);
}

const TIERS: &str = r#"{
    "default": "free",
    "tiers": {
        "free": {"max_sessions": 1, "max_turns": 5, "max_thinking_tokens": 1024, "budget_usd": 0.5},
        "pro": {"max_sessions": 10, "max_turns": 50, "budget_usd": 20},
        "enterprise": {}
    }
}"#;

#[test]
fn tiers_parse_from_json_and_resolve_by_principal() {
    let tiers = Tiers::from_json(TIERS).unwrap();
    assert_eq!(tiers.default_name(), "free");
    let (name, free) = tiers.resolve(None).unwrap();
    assert_eq!(name, "free");
    assert_eq!(
        *free,
        Tier {
            max_sessions: Some(1),
            max_turns: Some(5),
            max_thinking_tokens: Some(1024),
            budget_usd: Some(0.5),
        }
    );
    let pro = Principal::user("ann", None, Some("pro".into()));
    assert_eq!(tiers.for_principal(&pro).unwrap().1.budget_usd, Some(20.0));
    assert_eq!(
        tiers.resolve(Some("enterprise")).unwrap().1,
        &Tier::default()
    );
    assert_eq!(tiers.iter().count(), 3);

    let unknown = tiers.resolve(Some("platinum")).unwrap_err();
    assert!(matches!(unknown, LimitsError::UnknownTier(ref t) if t == "platinum"));
    let api: agent_sdk::server::ApiError = unknown.into();
    assert_eq!(api.status(), StatusCode::FORBIDDEN);
    assert_eq!(api.code(), "unknown_tier");
}

#[test]
fn tier_files_are_read_and_their_errors_say_where() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiers.json");
    std::fs::write(&path, TIERS).unwrap();
    assert_eq!(
        Tiers::from_file(&path).unwrap(),
        Tiers::from_json(TIERS).unwrap()
    );
    let missing = Tiers::from_file(dir.path().join("nope.json")).unwrap_err();
    assert!(matches!(missing, LimitsError::Read { .. }), "{missing}");

    let cases = [
        (
            r#"{"default": "free", "tiers": {"free": {"max_session": 1}}}"#,
            "tiers.free.max_session",
            "unknown field `max_session`",
        ),
        (
            r#"{"default": "free", "tiers": {"free": {"max_turns": "ten"}}}"#,
            "tiers.free.max_turns",
            "invalid type",
        ),
        (
            r#"{"default": "free", "tiers": {"free": {"max_sessions": -1}}}"#,
            "tiers.free.max_sessions",
            "invalid value",
        ),
        (
            r#"{"tiers": {}}"#,
            "the document",
            "missing field `default`",
        ),
        (
            r#"{"default": "free", "tiers": {"free": {}}"#,
            "the document",
            "EOF",
        ),
    ];
    for (text, path, words) in cases {
        let error = Tiers::from_json(text).unwrap_err();
        let LimitsError::Json { path: at, .. } = &error else {
            panic!("{text}: {error:?}");
        };
        assert_eq!(at, path, "{text}: {error}");
        assert!(error.to_string().contains(words), "{text}: {error}");
    }

    let invalid = [
        (
            r#"{"default": "gold", "tiers": {"free": {}}}"#,
            "\"gold\" is not among the tiers (free)",
        ),
        (
            r#"{"default": "free", "tiers": {"free": {"budget_usd": -1}}}"#,
            "budget_usd must be",
        ),
        (r#"{"default": " ", "tiers": {" ": {}}}"#, "empty name"),
    ];
    for (text, words) in invalid {
        let error = Tiers::from_json(text).unwrap_err();
        assert!(
            matches!(error, LimitsError::Invalid(_)),
            "{text}: {error:?}"
        );
        assert!(error.to_string().contains(words), "{text}: {error}");
    }
}

#[test]
fn tiers_build_in_code_with_the_same_checks() {
    let tiers = Tiers::builder()
        .tier(
            "solo",
            Tier {
                max_sessions: Some(3),
                ..Tier::default()
            },
        )
        .build()
        .unwrap();
    assert_eq!(tiers.default_name(), "solo");
    let two = Tiers::builder()
        .tier("a", Tier::default())
        .tier("b", Tier::default());
    assert!(matches!(two.build(), Err(LimitsError::Invalid(_))));
    let bad_budget = Tiers::builder()
        .tier(
            "a",
            Tier {
                budget_usd: Some(f64::NAN),
                ..Tier::default()
            },
        )
        .build();
    assert!(matches!(bad_budget, Err(LimitsError::Invalid(_))));
    assert_eq!(Tiers::default().resolve(None).unwrap().1, &Tier::default());
}
