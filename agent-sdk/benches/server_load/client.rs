//! The HTTP side: the API's calls and a small Server-Sent Events reader.

use futures_util::StreamExt;
use serde_json::{Value, json};

#[derive(Clone)]
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
}

impl Api {
    pub fn new(base: &str) -> Api {
        Api {
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(256)
                .build()
                .expect("an HTTP client"),
            base: base.to_owned(),
        }
    }

    async fn call(&self, request: reqwest::RequestBuilder, expected: u16) -> Value {
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!(status, expected, "unexpected answer: {body}");
        body
    }

    /// `POST /v1/sessions`; the new session's id.
    pub async fn create(&self) -> String {
        let body = self
            .call(
                self.http
                    .post(format!("{}/v1/sessions", self.base))
                    .json(&json!({})),
                201,
            )
            .await;
        body["id"].as_str().expect("a session id").to_owned()
    }

    /// `POST /v1/sessions/{id}/messages`; the turn's number.
    pub async fn message(&self, id: &str, text: &str) -> u64 {
        let body = self
            .call(
                self.http
                    .post(format!("{}/v1/sessions/{id}/messages", self.base))
                    .json(&json!({"text": text})),
                202,
            )
            .await;
        body["turn"].as_u64().expect("a turn number")
    }

    /// `GET /v1/sessions/{id}`.
    pub async fn get(&self, id: &str) -> Value {
        self.call(
            self.http.get(format!("{}/v1/sessions/{id}", self.base)),
            200,
        )
        .await
    }

    /// `DELETE /v1/sessions/{id}`.
    pub async fn close(&self, id: &str) {
        self.call(
            self.http.delete(format!("{}/v1/sessions/{id}", self.base)),
            204,
        )
        .await;
    }

    /// Subscribes to the session's new events (the response's head has arrived:
    /// the server has registered the subscriber).
    pub async fn events(&self, id: &str) -> Sse {
        let response = self
            .http
            .get(format!("{}/v1/sessions/{id}/events", self.base))
            .send()
            .await
            .expect("the server answers");
        assert_eq!(response.status().as_u16(), 200, "SSE subscription refused");
        Sse {
            body: Box::pin(response.bytes_stream()),
            buffer: Vec::new(),
        }
    }
}

type ByteStream =
    std::pin::Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<axum::body::Bytes>> + Send>>;

/// One SSE connection, read event by event.
pub struct Sse {
    body: ByteStream,
    buffer: Vec<u8>,
}

impl Sse {
    /// The next event's type and data (comments and ids skipped); `None` at the end.
    pub async fn next(&mut self) -> Option<(String, String)> {
        loop {
            if let Some(end) = self.buffer.windows(2).position(|w| w == b"\n\n") {
                let block: Vec<u8> = self.buffer.drain(..end + 2).collect();
                let text = String::from_utf8_lossy(&block);
                let mut kind = String::from("message");
                let mut data = String::new();
                for line in text.lines() {
                    if let Some(value) = line.strip_prefix("event:") {
                        kind = value.trim_start().to_owned();
                    } else if let Some(value) = line.strip_prefix("data:") {
                        data.push_str(value.strip_prefix(' ').unwrap_or(value));
                    }
                }
                if !data.is_empty() {
                    return Some((kind, data));
                }
                continue;
            }
            let chunk = self.body.next().await?.ok()?;
            self.buffer.extend_from_slice(&chunk);
        }
    }
}
