//! The exporter's HTTP client: our reqwest (0.12, blocking), so the exporter
//! needs no HTTP stack of its own.
//!
//! It runs on the batch span processor's own thread, never on an async runtime:
//! the client is built there on first use (a blocking reqwest client must not be
//! built or dropped inside a runtime).

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::time::Duration;

use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};

/// How long one export may take before it counts as failed.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Default)]
pub(super) struct BlockingClient {
    client: OnceLock<reqwest::blocking::Client>,
}

impl BlockingClient {
    fn send(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let client = self.client.get_or_init(|| {
            reqwest::blocking::Client::builder()
                .timeout(EXPORT_TIMEOUT)
                .build()
                .unwrap_or_default()
        });
        let (parts, body) = request.into_parts();
        let mut outgoing = client
            .request(parts.method, parts.uri.to_string())
            .body(body.to_vec());
        for (name, value) in &parts.headers {
            outgoing = outgoing.header(name, value);
        }
        let answer = outgoing.send()?;
        let mut response = Response::builder().status(answer.status());
        for (name, value) in answer.headers() {
            response = response.header(name, value);
        }
        Ok(response.body(answer.bytes()?)?)
    }
}

// What `#[async_trait]` would write: the trait is declared with it.
impl HttpClient for BlockingClient {
    fn send_bytes<'life0, 'async_trait>(
        &'life0 self,
        request: Request<Bytes>,
    ) -> Pin<Box<dyn Future<Output = Result<Response<Bytes>, HttpError>> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move { self.send(request) })
    }
}
