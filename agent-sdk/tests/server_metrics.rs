//! The server's metrics over real HTTP on loopback: `/metrics` parses as the
//! Prometheus text format, counters and histograms move, HTTP requests are
//! counted by route pattern, and label values are escaped.

use std::collections::BTreeMap;
use std::time::Duration;

use agent_sdk::server::db::Usage;
use agent_sdk::server::metrics::{CONTENT_TYPE, ServerMetrics, serve_metrics, track_http};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Router, middleware};

/// One sample: metric name, labels, value.
mod support;

#[derive(Debug, Clone, PartialEq)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A strict parser of the exposition format's sample lines and `# TYPE`
/// lines; panics on anything malformed.
fn parse(text: &str) -> (Vec<Sample>, BTreeMap<String, String>) {
    let mut samples = Vec::new();
    let mut types = BTreeMap::new();
    assert!(
        text.ends_with("# EOF\n"),
        "OpenMetrics text ends with # EOF"
    );
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("# TYPE name kind");
            types.insert(name.to_owned(), kind.to_owned());
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let name_end = line
            .find(['{', ' '])
            .unwrap_or_else(|| panic!("no value: {line}"));
        let name = &line[..name_end];
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "metric name {name:?}"
        );
        let mut labels = BTreeMap::new();
        let mut rest = &line[name_end..];
        if let Some(body) = rest.strip_prefix('{') {
            let (parsed, after) = parse_labels(body, line);
            labels = parsed;
            rest = after;
        }
        let value: f64 = rest
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("value of {line}: {e}"));
        samples.push(Sample {
            name: name.to_owned(),
            labels,
            value,
        });
    }
    (samples, types)
}

/// `key="value",...}` -> the labels (escapes undone) and the text after `}`.
fn parse_labels<'a>(body: &'a str, line: &str) -> (BTreeMap<String, String>, &'a str) {
    let mut labels = BTreeMap::new();
    let mut at = 0;
    loop {
        if let Some(after) = body[at..].strip_prefix('}') {
            return (labels, after);
        }
        let eq = body[at..]
            .find("=\"")
            .unwrap_or_else(|| panic!("label=\" in {line}"))
            + at;
        let key = body[at..eq].to_owned();
        assert!(
            !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "label name {key:?} in {line}"
        );
        let mut chars = body[eq + 2..].chars();
        let mut value = String::new();
        let mut used = 0;
        loop {
            let c = chars
                .next()
                .unwrap_or_else(|| panic!("unclosed value in {line}"));
            used += c.len_utf8();
            match c {
                '"' => break,
                '\\' => {
                    let escaped = chars.next().expect("escape");
                    used += escaped.len_utf8();
                    value.push(match escaped {
                        'n' => '\n',
                        '\\' => '\\',
                        '"' => '"',
                        other => panic!("bad escape \\{other} in {line}"),
                    });
                }
                c => value.push(c),
            }
        }
        labels.insert(key, value);
        at = eq + 2 + used;
        if body[at..].starts_with(',') {
            at += 1;
        }
    }
}

fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
}

async fn serve() -> (String, std::sync::Arc<ServerMetrics>) {
    let metrics = ServerMetrics::new();
    let app = Router::new()
        .route("/v1/sessions/{id}", get(|| async { "a session" }))
        .route(
            "/v1/missing/{id}",
            get(|| async { (StatusCode::NOT_FOUND, "no such thing") }),
        )
        .route("/metrics", get(serve_metrics))
        .layer(middleware::from_fn_with_state(metrics.clone(), track_http))
        .with_state(metrics.clone());
    (support::serve(app).await, metrics)
}

async fn scrape(base: &str) -> (Vec<Sample>, BTreeMap<String, String>) {
    let response = reqwest::get(format!("{base}/metrics")).await.unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    assert_eq!(response.headers()["content-type"], CONTENT_TYPE);
    parse(&response.text().await.unwrap())
}

#[tokio::test]
async fn metrics_render_valid_text_and_every_counter_moves() {
    let (base, metrics) = serve().await;
    let (before, _) = scrape(&base).await;
    assert_eq!(
        value(&before, "agent_server_sessions_created_total", &[]),
        Some(0.0)
    );
    assert_eq!(value(&before, "agent_server_turns_total", &[]), Some(0.0));
    metrics.session_created();
    metrics.session_created();
    metrics.set_live_sessions(7);
    metrics.set_running_turns(2);
    metrics.set_running_tasks(1);
    metrics.task_finished("completed", Duration::from_millis(1500));
    metrics.task_finished("failed", Duration::from_millis(250));
    let usage = Usage {
        input_tokens: 120,
        output_tokens: 30,
        cost_usd: 0.25,
    };
    metrics.turn_completed(&usage, Duration::from_millis(800));
    metrics.turn_completed(&usage, Duration::from_millis(1200));
    metrics.tool_call("ok");
    metrics.tool_call("ok");
    metrics.tool_call("denied");
    metrics.permission("allow");
    metrics.permission("timeout");
    metrics.sse_replay();
    metrics.sse_gone();
    metrics.takeover();

    // A labelled family shows once it has a series; by now every one has.
    // (Evictions are counted by the server itself as the supervisor evicts:
    // `an_idle_eviction_pauses_the_session_counts_it_and_the_next_message_resumes`
    // in the e2e tests reads them from a real server's `/metrics`.)
    let (after, types) = scrape(&base).await;
    for (name, kind) in [
        ("agent_server_sessions_created", "counter"),
        ("agent_server_live_sessions", "gauge"),
        ("agent_server_running_turns", "gauge"),
        ("agent_server_running_tasks", "gauge"),
        ("agent_server_tasks_finished", "counter"),
        ("agent_server_task_duration_seconds", "histogram"),
        ("agent_server_turn_duration_seconds", "histogram"),
        ("agent_server_tokens", "counter"),
        ("agent_server_cost_usd", "counter"),
        ("agent_server_tool_calls", "counter"),
        ("agent_server_permission_requests", "counter"),
        ("agent_server_sse_replays", "counter"),
        ("agent_server_sse_gone", "counter"),
        ("agent_server_takeovers", "counter"),
        ("agent_server_http_requests", "counter"),
        ("agent_server_http_request_duration_seconds", "histogram"),
    ] {
        assert_eq!(types.get(name).map(String::as_str), Some(kind), "{name}");
    }

    let at = |name: &str, labels: &[(&str, &str)]| {
        value(&after, name, labels).unwrap_or_else(|| panic!("{name} {labels:?} in {after:#?}"))
    };
    assert_eq!(at("agent_server_sessions_created_total", &[]), 2.0);
    assert_eq!(at("agent_server_live_sessions", &[]), 7.0);
    assert_eq!(at("agent_server_running_turns", &[]), 2.0);
    assert_eq!(at("agent_server_running_tasks", &[]), 1.0);
    assert_eq!(
        at(
            "agent_server_tasks_finished_total",
            &[("status", "completed")]
        ),
        1.0
    );
    assert_eq!(
        at("agent_server_tasks_finished_total", &[("status", "failed")]),
        1.0
    );
    assert_eq!(at("agent_server_turns_total", &[]), 2.0);
    assert_eq!(at("agent_server_tokens_total", &[("kind", "input")]), 240.0);
    assert_eq!(at("agent_server_tokens_total", &[("kind", "output")]), 60.0);
    assert!((at("agent_server_cost_usd_total", &[]) - 0.5).abs() < 1e-12);
    assert_eq!(
        at("agent_server_tool_calls_total", &[("outcome", "ok")]),
        2.0
    );
    assert_eq!(
        at("agent_server_tool_calls_total", &[("outcome", "denied")]),
        1.0
    );
    assert_eq!(
        at(
            "agent_server_permission_requests_total",
            &[("outcome", "timeout")]
        ),
        1.0
    );
    assert_eq!(at("agent_server_sse_replays_total", &[]), 1.0);
    assert_eq!(at("agent_server_sse_gone_total", &[]), 1.0);
    assert_eq!(at("agent_server_takeovers_total", &[]), 1.0);

    // Histograms: count, sum, and cumulative buckets ending at +Inf = count.
    assert_eq!(at("agent_server_turn_duration_seconds_count", &[]), 2.0);
    assert!((at("agent_server_turn_duration_seconds_sum", &[]) - 2.0).abs() < 1e-9);
    assert_eq!(
        at(
            "agent_server_turn_duration_seconds_bucket",
            &[("le", "0.8")]
        ),
        1.0
    );
    assert_buckets_are_cumulative(&after, "agent_server_turn_duration_seconds", &[]);
    assert_eq!(
        at(
            "agent_server_task_duration_seconds_count",
            &[("status", "completed")]
        ),
        1.0
    );
    assert_buckets_are_cumulative(
        &after,
        "agent_server_task_duration_seconds",
        &[("status", "failed")],
    );
}

fn assert_buckets_are_cumulative(samples: &[Sample], name: &str, labels: &[(&str, &str)]) {
    let bucket_name = format!("{name}_bucket");
    let buckets: Vec<&Sample> = samples
        .iter()
        .filter(|s| {
            s.name == bucket_name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .collect();
    assert!(buckets.len() > 2, "{name} has buckets");
    let mut last = (f64::NEG_INFINITY, 0.0);
    for bucket in &buckets {
        let le: f64 = match bucket.labels["le"].as_str() {
            "+Inf" => f64::INFINITY,
            le => le.parse().unwrap(),
        };
        assert!(le > last.0 && bucket.value >= last.1, "{name}: {buckets:?}");
        last = (le, bucket.value);
    }
    assert_eq!(last.0, f64::INFINITY);
    assert_eq!(
        Some(last.1),
        value(samples, &format!("{name}_count"), labels),
        "+Inf bucket = count"
    );
}

#[tokio::test]
async fn http_requests_are_counted_by_route_pattern_method_and_status() {
    let (base, _metrics) = serve().await;
    let client = reqwest::Client::new();
    for id in ["s1", "s2", "s3"] {
        let response = client
            .get(format!("{base}/v1/sessions/{id}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::OK);
    }
    client
        .get(format!("{base}/v1/missing/x"))
        .send()
        .await
        .unwrap();
    client
        .get(format!("{base}/no/route/at/all"))
        .send()
        .await
        .unwrap();
    client
        .post(format!("{base}/v1/sessions/s1"))
        .send()
        .await
        .unwrap();

    let (samples, _) = scrape(&base).await;
    let requests = "agent_server_http_requests_total";
    let session = [
        ("route", "/v1/sessions/{id}"),
        ("method", "GET"),
        ("status", "200"),
    ];
    // Three ids, one series: the pattern, not the path.
    assert_eq!(value(&samples, requests, &session), Some(3.0));
    assert_eq!(
        value(
            &samples,
            "agent_server_http_request_duration_seconds_count",
            &session
        ),
        Some(3.0)
    );
    assert_buckets_are_cumulative(
        &samples,
        "agent_server_http_request_duration_seconds",
        &session,
    );
    assert_eq!(
        value(
            &samples,
            requests,
            &[("route", "/v1/missing/{id}"), ("status", "404")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &samples,
            requests,
            &[
                ("route", "/v1/sessions/{id}"),
                ("method", "POST"),
                ("status", "405")
            ]
        ),
        Some(1.0)
    );
    // No route: one label for every unknown path (no series per path).
    assert!(
        samples.iter().all(|s| !s
            .labels
            .get("route")
            .is_some_and(|r| r.contains("no/route"))),
        "unmatched paths never become labels"
    );
    // The scrape itself is counted by the time of the next one.
    let (again, _) = scrape(&base).await;
    assert_eq!(
        value(
            &again,
            requests,
            &[("route", "/metrics"), ("status", "200")]
        ),
        Some(1.0)
    );
}

#[tokio::test]
async fn label_values_are_escaped_and_parse_back() {
    let (base, metrics) = serve().await;
    let odd = "crash: \"exit 1\"\nstderr C:\\tmp {a=b},";
    metrics.tool_call(odd);
    let (samples, _) = scrape(&base).await;
    assert_eq!(
        value(
            &samples,
            "agent_server_tool_calls_total",
            &[("outcome", odd)]
        ),
        Some(1.0)
    );
}
