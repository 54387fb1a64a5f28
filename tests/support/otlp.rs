//! A small OTLP/HTTP collector of ours on loopback: it decodes the protobuf
//! `ExportTraceServiceRequest`s that exporters POST to `/v1/traces` and keeps
//! the spans for a test to look at.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::status;
use prost::Message as _;
use serde_json::Value;

/// One exported span, with ids as lowercase hex.
#[derive(Debug, Clone)]
pub struct ExportedSpan {
    /// `service.name` of the exporting process.
    pub service: String,
    pub trace_id: String,
    pub span_id: String,
    /// Empty for a root span.
    pub parent_span_id: String,
    pub name: String,
    pub attributes: BTreeMap<String, Value>,
    /// Trace ids of the spans this one links to.
    pub linked_traces: Vec<String>,
    /// Whether its status is ERROR.
    pub failed: bool,
    /// When it ended, in nanoseconds since the Unix epoch.
    pub end_unix_nano: u64,
}

impl ExportedSpan {
    /// An attribute as text (numbers and booleans too), if present.
    pub fn attr(&self, key: &str) -> Option<String> {
        self.attributes.get(key).map(|value| match value {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        })
    }

    /// An integer attribute.
    pub fn int(&self, key: &str) -> Option<i64> {
        self.attributes.get(key)?.as_i64()
    }
}

/// The collector: its address and the spans received so far.
#[derive(Clone)]
pub struct Collector {
    addr: SocketAddr,
    spans: Arc<Mutex<Vec<ExportedSpan>>>,
}

impl Collector {
    /// Serves on 127.0.0.1 (a free port) from a thread of its own, so it outlives
    /// every test runtime of the process.
    pub fn start() -> Collector {
        let spans = Arc::new(Mutex::new(Vec::new()));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the collector");
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let addr = listener.local_addr().expect("collector address");
        let state = spans.clone();
        std::thread::Builder::new()
            .name("otlp-collector".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("collector runtime");
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                    let app = axum::Router::new()
                        .route("/v1/traces", axum::routing::post(receive))
                        // Metrics and logs, should an exporter send them: accepted, ignored.
                        .fallback(|| async { StatusCode::OK })
                        .with_state(state);
                    axum::serve(listener, app).await.expect("collector serves");
                });
            })
            .expect("collector thread");
        Collector { addr, spans }
    }

    /// The base URL, as `OTEL_EXPORTER_OTLP_ENDPOINT` takes it.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<ExportedSpan> {
        self.spans.lock().unwrap().clone()
    }

    /// The spans of one trace.
    pub fn trace(&self, trace_id: &str) -> Vec<ExportedSpan> {
        self.spans()
            .into_iter()
            .filter(|span| span.trace_id == trace_id)
            .collect()
    }
}

async fn receive(
    State(spans): State<Arc<Mutex<Vec<ExportedSpan>>>>,
    body: Bytes,
) -> impl IntoResponse {
    let Ok(request) = ExportTraceServiceRequest::decode(body) else {
        return (StatusCode::BAD_REQUEST, "not an ExportTraceServiceRequest").into_response();
    };
    let mut received = Vec::new();
    for resource_spans in request.resource_spans {
        let service = resource_spans
            .resource
            .iter()
            .flat_map(|resource| &resource.attributes)
            .find(|kv| kv.key == "service.name")
            .and_then(|kv| kv.value.as_ref().map(any_value_json))
            .and_then(|value| value.as_str().map(str::to_owned))
            .unwrap_or_default();
        for scope in resource_spans.scope_spans {
            for span in scope.spans {
                received.push(ExportedSpan {
                    service: service.clone(),
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_span_id: hex(&span.parent_span_id),
                    name: span.name,
                    attributes: attributes(&span.attributes),
                    linked_traces: span.links.iter().map(|link| hex(&link.trace_id)).collect(),
                    end_unix_nano: span.end_time_unix_nano,
                    failed: span
                        .status
                        .as_ref()
                        .is_some_and(|status| status.code == status::StatusCode::Error as i32),
                });
            }
        }
    }
    spans.lock().unwrap().extend(received);
    // An empty ExportTraceServiceResponse: zero bytes of protobuf.
    (
        [(header::CONTENT_TYPE, "application/x-protobuf")],
        Vec::new(),
    )
        .into_response()
}

fn attributes(pairs: &[KeyValue]) -> BTreeMap<String, Value> {
    pairs
        .iter()
        .filter_map(|kv| Some((kv.key.clone(), any_value_json(kv.value.as_ref()?))))
        .collect()
}

fn any_value_json(value: &AnyValue) -> Value {
    match &value.value {
        Some(any_value::Value::StringValue(text)) => Value::String(text.clone()),
        Some(any_value::Value::BoolValue(flag)) => Value::Bool(*flag),
        Some(any_value::Value::IntValue(n)) => Value::from(*n),
        Some(any_value::Value::DoubleValue(x)) => Value::from(*x),
        Some(any_value::Value::ArrayValue(array)) => {
            Value::Array(array.values.iter().map(any_value_json).collect())
        }
        Some(any_value::Value::KvlistValue(list)) => {
            Value::Object(attributes(&list.values).into_iter().collect())
        }
        Some(any_value::Value::BytesValue(bytes)) => Value::String(hex(bytes)),
        _ => Value::Null,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
