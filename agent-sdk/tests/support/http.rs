//! An HTTP client of the agent server's API for tests: JSON calls with an
//! optional bearer token, and a Server-Sent Events reader. Shared by the
//! server tests of `agent-sdk` and of the end-to-end crate.

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

/// How long a test waits for the next event before it fails.
pub const PATIENCE: Duration = Duration::from_secs(90);

/// An event as SSE and WebSocket clients get it: `(id, type, data)`.
pub type Event = (Option<u64>, String, Value);

/// The API at `base` (`http://127.0.0.1:<port>`).
#[derive(Clone)]
pub struct ApiClient {
    /// `http://host:port`.
    pub base: String,
    /// The bearer token every call sends, if any.
    pub bearer: Option<String>,
    /// The shared HTTP client.
    pub http: reqwest::Client,
    /// When set, every JSON answer is checked against the schema the
    /// server's OpenAPI document gives for its route and status.
    pub schemas: Option<std::sync::Arc<Schemas>>,
}

impl ApiClient {
    /// A client of the API at `base`, without a token.
    pub fn new(base: impl Into<String>) -> ApiClient {
        ApiClient {
            base: base.into(),
            bearer: None,
            http: reqwest::Client::new(),
            schemas: None,
        }
    }

    /// Checks every answer against `document`'s schemas from now on.
    pub fn checked_against(mut self, document: Value) -> ApiClient {
        self.schemas = Some(std::sync::Arc::new(Schemas::new(document)));
        self
    }

    /// Sends a request: status, headers and the body as JSON (a string if it
    /// is not JSON), checked against the document's schema when there is one.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> (u16, HeaderMap, Value) {
        let request = request.build().unwrap();
        let (method, path) = (
            request.method().to_string(),
            request.url().path().to_owned(),
        );
        let answer = read(self.http.execute(request).await.unwrap()).await;
        if let Some(schemas) = &self.schemas {
            schemas
                .check(&method, &path, answer.0, &answer.2)
                .unwrap_or_else(|err| panic!("{method} {path}: {err}"));
        }
        answer
    }

    /// Sends `bearer` with every request from now on.
    pub fn with_bearer(mut self, bearer: &str) -> ApiClient {
        self.bearer = Some(bearer.to_owned());
        self
    }

    /// `base + path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request with the client's bearer.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let request = self.http.request(method, self.url(path));
        match &self.bearer {
            Some(bearer) => request.bearer_auth(bearer),
            None => request,
        }
    }

    /// One request with another bearer (or none): status, headers and the body.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<Value>,
    ) -> (u16, HeaderMap, Value) {
        let mut request = self.http.request(method, self.url(path));
        if let Some(bearer) = bearer {
            request = request.bearer_auth(bearer);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.send(request).await
    }

    /// `POST` a JSON body.
    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let (status, _, body) = self
            .send(self.request(reqwest::Method::POST, path).json(&body))
            .await;
        (status, body)
    }

    /// `GET`.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let (status, _, body) = self.send(self.request(reqwest::Method::GET, path)).await;
        (status, body)
    }

    /// `DELETE`.
    pub async fn delete(&self, path: &str) -> (u16, Value) {
        let (status, _, body) = self.send(self.request(reqwest::Method::DELETE, path)).await;
        (status, body)
    }

    /// Creates a session; its id.
    pub async fn create(&self, body: Value) -> String {
        let (status, created) = self.post("/v1/sessions", body).await;
        assert_eq!(status, 201, "{created}");
        created["id"].as_str().unwrap().to_owned()
    }

    /// The session's events after `after` (`None`: only new ones).
    pub async fn events(&self, id: &str, after: Option<u64>) -> Sse {
        let after = after.map_or_else(String::new, |seq| format!("?after={seq}"));
        Sse::open(self.request(
            reqwest::Method::GET,
            &format!("/v1/sessions/{id}/events{after}"),
        ))
        .await
    }

    /// Queues a message; its turn number.
    pub async fn message(&self, id: &str, text: &str) -> u64 {
        let (status, accepted) = self
            .post(
                &format!("/v1/sessions/{id}/messages"),
                json!({"text": text}),
            )
            .await;
        assert_eq!(status, 202, "{accepted}");
        accepted["turn"].as_u64().unwrap()
    }

    /// Sends a message and reads the events up to its `turn_complete`; that event's data.
    pub async fn turn(&self, id: &str, text: &str) -> Value {
        let mut events = self.events(id, None).await;
        let turn = self.message(id, text).await;
        let seen = events.until_turn(turn).await;
        seen.last().unwrap().2.clone()
    }
}

/// Status, headers and the body as JSON (a string if it is not JSON).
pub async fn read(response: reqwest::Response) -> (u16, HeaderMap, Value) {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, headers, body)
}

/// The answer schemas of an OpenAPI document.
pub struct Schemas {
    document: Value,
}

impl Schemas {
    /// The schemas of `document` (an OpenAPI 3.1 document with `components/schemas`).
    pub fn new(document: Value) -> Schemas {
        Schemas { document }
    }

    /// The documented route a concrete path matches: `/v1/tasks/t1` -> `/v1/tasks/{id}`.
    pub fn route(&self, path: &str) -> Option<&str> {
        let wanted: Vec<&str> = path.split('/').collect();
        self.document["paths"]
            .as_object()?
            .keys()
            .find(|route| {
                let segments: Vec<&str> = route.split('/').collect();
                segments.len() == wanted.len()
                    && segments
                        .iter()
                        .zip(&wanted)
                        .all(|(s, w)| s == w || (s.starts_with('{') && s.ends_with('}')))
            })
            .map(String::as_str)
    }

    /// Checks a JSON answer against the schema documented for its route,
    /// method and status (`default` for an undocumented error status). A
    /// path the document does not have (the console) is not checked.
    pub fn check(&self, method: &str, path: &str, status: u16, body: &Value) -> Result<(), String> {
        let Some(route) = self.route(path) else {
            return Ok(());
        };
        let operation = &self.document["paths"][route][method.to_lowercase()];
        if operation.is_null() {
            return Ok(()); // a 405: the answer is still checked as an error below
        }
        let responses = &operation["responses"];
        let answer = match &responses[status.to_string()] {
            Value::Null if status >= 400 => &responses["default"],
            Value::Null => return Err(format!("status {status} is not documented")),
            answer => answer,
        };
        let Some(schema) = answer["content"]["application/json"].get("schema") else {
            return match body {
                Value::String(text) if text.is_empty() => Ok(()),
                _ if !answer["content"].is_null() => Ok(()), // a stream, not JSON
                other => Err(format!("a body where none is documented: {other}")),
            };
        };
        let Some(schema_fields) = schema.as_object() else {
            return match schema {
                Value::Bool(true) => Ok(()), // any JSON
                other => Err(format!("the documented schema is {other}")),
            };
        };
        let mut root = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "components": self.document["components"],
        });
        for (key, value) in schema_fields {
            root[key] = value.clone();
        }
        let validator = jsonschema::validator_for(&root).map_err(|e| e.to_string())?;
        let errors: Vec<String> = validator
            .iter_errors(body)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{status} {body} does not match {schema}: {errors:?}"
            ))
        }
    }
}

/// A Server-Sent Events reader.
pub struct Sse {
    body: std::pin::Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<Vec<u8>>> + Send>>,
    buffer: String,
}

/// One SSE block as an event; `None` for a comment (a keep-alive).
pub fn parse_block(block: &str) -> Option<Event> {
    let (mut id, mut kind, mut data) = (None, String::new(), String::new());
    for line in block.lines() {
        if let Some(v) = line.strip_prefix("id:") {
            id = v.trim().parse().ok();
        } else if let Some(v) = line.strip_prefix("event:") {
            kind = v.trim().to_owned();
        } else if let Some(v) = line.strip_prefix("data:") {
            data.push_str(v.trim_start());
        }
    }
    (!kind.is_empty()).then(|| (id, kind, serde_json::from_str(&data).unwrap()))
}

impl Sse {
    /// Sends the request; a 200 is required.
    pub async fn open(request: reqwest::RequestBuilder) -> Sse {
        let response = request.send().await.unwrap();
        let url = response.url().to_string();
        assert_eq!(response.status(), 200, "{url}");
        Sse {
            body: Box::pin(response.bytes_stream().map(|r| r.map(|b| b.to_vec()))),
            buffer: String::new(),
        }
    }

    /// The next event (keep-alive comments skipped).
    pub async fn next(&mut self) -> Event {
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                if let Some(event) = parse_block(&block) {
                    return event;
                }
            }
            let chunk = tokio::time::timeout(PATIENCE, self.body.next())
                .await
                .expect("an event in time")
                .expect("the stream goes on")
                .unwrap();
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// Events until (and including) the first `done` accepts.
    pub async fn until_event(&mut self, done: impl Fn(&Event) -> bool) -> Vec<Event> {
        let mut seen = Vec::new();
        loop {
            let event = self.next().await;
            let last = done(&event);
            seen.push(event);
            if last {
                return seen;
            }
        }
    }

    /// Events until (and including) the first of `kind`.
    pub async fn until(&mut self, kind: &str) -> Vec<Event> {
        self.until_event(|e| e.1 == kind).await
    }

    /// Events until (and including) turn `turn`'s `turn_complete`.
    pub async fn until_turn(&mut self, turn: u64) -> Vec<Event> {
        self.until_event(turn_complete(turn)).await
    }
}

/// Whether an event is turn `turn`'s `turn_complete`.
pub fn turn_complete(turn: u64) -> impl Fn(&Event) -> bool {
    move |e| e.1 == "turn_complete" && e.2["turn"] == turn
}

/// The data of the events of one type.
pub fn of_kind<'a>(events: &'a [Event], kind: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e.1 == kind)
        .map(|e| &e.2)
        .collect()
}

/// An HS256 JWT of `claims` signed with `secret`, valid ten minutes unless `claims` has an `exp`.
pub fn hs256_jwt(secret: &[u8], mut claims: Value) -> String {
    if claims.get("exp").is_none() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        claims["exp"] = json!(now + 600);
    }
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .unwrap()
}
