//! [`FakeApi`]: the HTTP server that plays the Messages API from a [`Script`].

use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::{oneshot, watch};

use super::TestingError;
use super::record::{Answer, RecordedRequest, RequestKind};
use super::script::{Block, Script, Turn, TurnKind};
use super::wire::{WireBlock, WireMessage, error_body};

/// The text answered to a main-loop request once the script is exhausted.
pub const SCRIPT_EXHAUSTED_TEXT: &str = "[fake api: script exhausted]";

/// The text answered to side requests (titles, quota and model probes).
pub const SIDE_REQUEST_TEXT: &str = "OK";

/// A scripted fake of the Anthropic Messages API on `127.0.0.1:<random port>`.
///
/// It answers `POST /v1/messages` (streamed as SSE when the body has
/// `"stream": true`, plain JSON otherwise) and `POST /v1/messages/count_tokens`;
/// anything else gets a 404 error body. Main-loop requests (with a `tools`
/// key and `max_tokens` > 1) take the next [`Turn`] of the [`Script`]; side
/// requests get [`SIDE_REQUEST_TEXT`]; once the script is exhausted main-loop
/// requests get [`SCRIPT_EXHAUSTED_TEXT`]. Every request is recorded.
///
/// The server stops when the `FakeApi` is dropped.
///
/// ```no_run
/// use agent_sdk::testing::{FakeApi, Script, Turn};
///
/// # async fn demo() -> std::io::Result<()> {
/// let api = FakeApi::start(Script::new().then(Turn::text("hello"))).await?;
/// println!("point ANTHROPIC_BASE_URL at {}", api.base_url());
/// # Ok(())
/// # }
/// ```
pub struct FakeApi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    requests_seen: watch::Receiver<usize>,
    shutdown: Option<oneshot::Sender<()>>,
}

struct Shared {
    state: Mutex<ScriptState>,
    requests_seen: watch::Sender<usize>,
}

struct ScriptState {
    turns: VecDeque<Turn>,
    turns_taken: usize,
    tool_ids: usize,
    message_ids: usize,
    requests: Vec<RecordedRequest>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, ScriptState> {
        // A panic inside a Turn::from_fn poisons nothing we cannot keep using.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl std::fmt::Debug for FakeApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.shared.lock();
        f.debug_struct("FakeApi")
            .field("addr", &self.addr)
            .field("turns_left", &state.turns.len())
            .field("requests", &state.requests.len())
            .finish()
    }
}

impl FakeApi {
    /// Binds `127.0.0.1:0` and starts serving `script` on the current tokio runtime.
    ///
    /// ```no_run
    /// # async fn demo() -> std::io::Result<()> {
    /// let api = agent_sdk::testing::FakeApi::start(agent_sdk::testing::Script::new()).await?;
    /// # let _ = api;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn start(script: Script) -> io::Result<FakeApi> {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let (requests_tx, requests_rx) = watch::channel(0);
        let shared = Arc::new(Shared {
            state: Mutex::new(ScriptState {
                turns: script.turns,
                turns_taken: 0,
                tool_ids: 0,
                message_ids: 0,
                requests: Vec::new(),
            }),
            requests_seen: requests_tx,
        });
        let router = Router::new()
            .fallback(handle)
            // The CLI's requests carry the whole conversation and tool schemas.
            .layer(DefaultBodyLimit::disable())
            .with_state(shared.clone());
        let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let serve = axum::serve(listener, router).with_graceful_shutdown(async {
                let _ = shutdown_rx.await;
            });
            if let Err(error) = serve.await {
                tracing::warn!(%error, "fake API server stopped");
            }
        });
        Ok(FakeApi {
            addr,
            shared,
            requests_seen: requests_rx,
            shutdown: Some(shutdown_tx),
        })
    }

    /// `http://127.0.0.1:<port>`: the value for `ANTHROPIC_BASE_URL`.
    ///
    /// ```no_run
    /// # fn demo(api: &agent_sdk::testing::FakeApi) {
    /// assert!(api.base_url().starts_with("http://127.0.0.1:"));
    /// # }
    /// ```
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    ///
    /// ```no_run
    /// # fn demo(api: &agent_sdk::testing::FakeApi) {
    /// assert!(api.addr().ip().is_loopback());
    /// # }
    /// ```
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Appends a turn to the script while the server runs (e.g. before the
    /// next query of a long session).
    ///
    /// ```no_run
    /// # fn demo(api: &agent_sdk::testing::FakeApi) {
    /// api.push(agent_sdk::testing::Turn::text("second answer"));
    /// # }
    /// ```
    pub fn push(&self, turn: Turn) {
        self.shared.lock().turns.push_back(turn);
    }

    /// Number of turns not yet taken.
    ///
    /// ```no_run
    /// # fn demo(api: &agent_sdk::testing::FakeApi) {
    /// assert_eq!(api.turns_left(), 0, "every scripted turn was used");
    /// # }
    /// ```
    pub fn turns_left(&self) -> usize {
        self.shared.lock().turns.len()
    }

    /// Every request so far, in arrival order.
    ///
    /// ```no_run
    /// # fn demo(api: &agent_sdk::testing::FakeApi) {
    /// for request in api.requests() {
    ///     println!("{} {} {:?}", request.method, request.path, request.kind);
    /// }
    /// # }
    /// ```
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// The main-loop requests so far, in arrival order.
    ///
    /// ```no_run
    /// # fn demo(api: &agent_sdk::testing::FakeApi) {
    /// let second = &api.main_loop_requests()[1];
    /// assert_eq!(second.tool_results()[0].text, "hi");
    /// # }
    /// ```
    pub fn main_loop_requests(&self) -> Vec<RecordedRequest> {
        self.requests_of(RequestKind::MainLoop)
    }

    /// The side requests so far (titles, probes: not the main loop).
    ///
    /// ```no_run
    /// # fn demo(api: &agent_sdk::testing::FakeApi) {
    /// println!("{} side requests", api.side_requests().len());
    /// # }
    /// ```
    pub fn side_requests(&self) -> Vec<RecordedRequest> {
        self.requests_of(RequestKind::Side)
    }

    fn requests_of(&self, kind: RequestKind) -> Vec<RecordedRequest> {
        let state = self.shared.lock();
        state
            .requests
            .iter()
            .filter(|r| r.kind == kind)
            .cloned()
            .collect()
    }

    /// The last main-loop request, if any.
    ///
    /// ```no_run
    /// # fn demo(api: &agent_sdk::testing::FakeApi) {
    /// let last = api.last_main_loop_request().expect("the model was asked");
    /// # let _ = last;
    /// # }
    /// ```
    pub fn last_main_loop_request(&self) -> Option<RecordedRequest> {
        let state = self.shared.lock();
        state
            .requests
            .iter()
            .rev()
            .find(|r| r.is_main_loop())
            .cloned()
    }

    /// The `tool_result` blocks of the last main-loop request's last message.
    ///
    /// ```no_run
    /// # fn demo(api: &agent_sdk::testing::FakeApi) {
    /// let results = api.last_tool_results();
    /// assert!(results.iter().all(|r| !r.is_error));
    /// # }
    /// ```
    pub fn last_tool_results(&self) -> Vec<super::RecordedToolResult> {
        self.last_main_loop_request()
            .map(|r| r.tool_results())
            .unwrap_or_default()
    }

    /// Waits until at least `count` requests (of any kind) have arrived, and
    /// returns them all; a [`TestingError::Timeout`] after `timeout`.
    ///
    /// ```no_run
    /// # async fn demo(api: &agent_sdk::testing::FakeApi) -> Result<(), agent_sdk::testing::TestingError> {
    /// let requests = api.wait_for_requests(1, std::time::Duration::from_secs(10)).await?;
    /// # let _ = requests;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn wait_for_requests(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<RecordedRequest>, TestingError> {
        self.wait_until(count, timeout, |_| true, "requests").await
    }

    /// Waits until at least `count` main-loop requests have arrived, and returns them.
    ///
    /// ```no_run
    /// # async fn demo(api: &agent_sdk::testing::FakeApi) -> Result<(), agent_sdk::testing::TestingError> {
    /// let requests = api.wait_for_main_loop_requests(2, std::time::Duration::from_secs(30)).await?;
    /// # let _ = requests;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn wait_for_main_loop_requests(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<RecordedRequest>, TestingError> {
        self.wait_until(
            count,
            timeout,
            RecordedRequest::is_main_loop,
            "main-loop requests",
        )
        .await
    }

    async fn wait_until(
        &self,
        count: usize,
        timeout: Duration,
        keep: fn(&RecordedRequest) -> bool,
        what: &'static str,
    ) -> Result<Vec<RecordedRequest>, TestingError> {
        let matching = || -> Vec<RecordedRequest> {
            let state = self.shared.lock();
            state.requests.iter().filter(|r| keep(r)).cloned().collect()
        };
        let mut seen = self.requests_seen.clone();
        let wait = async {
            loop {
                let found = matching();
                if found.len() >= count {
                    return found;
                }
                if seen.changed().await.is_err() {
                    // The server is gone: nothing more will arrive.
                    std::future::pending::<()>().await;
                }
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .map_err(|_| TestingError::Timeout {
                what,
                expected: count,
                seen: matching().len(),
                waited: timeout,
            })
    }
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// What the handler decided under the lock; sent after it (and after any delay).
enum Reply {
    /// The message, whether to stream it, and the pause between events.
    Message(WireMessage, bool, Duration),
    Error(u16, String),
    Json(Value),
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header_map: BTreeMap<String, String> = headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let parsed: Result<Value, _> = if body.is_empty() {
        Ok(Value::Null)
    } else {
        serde_json::from_slice(&body)
    };
    let path = uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| uri.path().to_owned());

    let (reply, delay, request_id) = {
        let mut state = shared.lock();
        let seq = state.requests.len();
        let request_id = format!("req_fake_{:04}", seq + 1);
        let mut request = RecordedRequest::new(
            seq,
            method.as_str().to_owned(),
            path,
            header_map,
            parsed.as_ref().cloned().unwrap_or(Value::Null),
        );
        let (reply, answer, delay) = match (&parsed, request.kind) {
            (Err(error), RequestKind::MainLoop | RequestKind::Side | RequestKind::CountTokens) => (
                Reply::Error(400, format!("[fake api] request body is not JSON: {error}")),
                Answer::Error { status: 400 },
                Duration::ZERO,
            ),
            (_, RequestKind::Unknown) => (
                Reply::Error(
                    404,
                    format!(
                        "[fake api] no route for {} {}: only POST /v1/messages and POST /v1/messages/count_tokens",
                        request.method, request.path
                    ),
                ),
                Answer::Error { status: 404 },
                Duration::ZERO,
            ),
            (Ok(_), RequestKind::CountTokens) => (
                Reply::Json(json!({"input_tokens": estimate_tokens(body.len())})),
                Answer::TokenCount,
                Duration::ZERO,
            ),
            (Ok(_), RequestKind::Side) => {
                let message = state.message(
                    &request,
                    vec![Block::Text(SIDE_REQUEST_TEXT.into())],
                    body.len(),
                );
                (
                    Reply::Message(message, request.is_streaming(), Duration::ZERO),
                    Answer::SideText,
                    Duration::ZERO,
                )
            }
            (Ok(_), RequestKind::MainLoop) => match state.turns.pop_front() {
                Some(turn) => {
                    let index = state.turns_taken;
                    state.turns_taken += 1;
                    let turn = turn.resolve(&request);
                    let delay = turn.delay;
                    let reply = match turn.kind {
                        TurnKind::Message(blocks) => Reply::Message(
                            state.message(&request, blocks, body.len()),
                            request.is_streaming(),
                            turn.event_interval,
                        ),
                        TurnKind::Refusal(text) => {
                            let mut message =
                                state.message(&request, vec![Block::Text(text)], body.len());
                            message.refusal = true;
                            Reply::Message(message, request.is_streaming(), turn.event_interval)
                        }
                        TurnKind::HttpError { status, message } => Reply::Error(status, message),
                        TurnKind::FromFn(_) => unreachable!("Turn::resolve removes from_fn turns"),
                    };
                    (reply, Answer::Turn { index }, delay)
                }
                None => {
                    tracing::warn!(
                        "fake API script exhausted; answering {SCRIPT_EXHAUSTED_TEXT:?}"
                    );
                    let message = state.message(
                        &request,
                        vec![Block::Text(SCRIPT_EXHAUSTED_TEXT.into())],
                        body.len(),
                    );
                    (
                        Reply::Message(message, request.is_streaming(), Duration::ZERO),
                        Answer::ScriptExhausted,
                        Duration::ZERO,
                    )
                }
            },
        };
        request.answer = Some(answer);
        state.requests.push(request);
        let total = state.requests.len();
        shared.requests_seen.send_replace(total);
        (reply, delay, request_id)
    };

    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }

    let mut response = match reply {
        Reply::Message(message, true, interval) => (
            [
                (header::CONTENT_TYPE, "text/event-stream; charset=utf-8"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            sse_body(&message, interval),
        )
            .into_response(),
        Reply::Message(message, false, _) => axum::Json(message.to_json()).into_response(),
        Reply::Json(value) => axum::Json(value).into_response(),
        Reply::Error(status, message) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (
                status,
                axum::Json(error_body(status.as_u16(), &message, &request_id)),
            )
                .into_response()
        }
    };
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("request-id", value);
    }
    response
}

/// The SSE body: all at once, or one event every `interval`.
fn sse_body(message: &WireMessage, interval: Duration) -> Body {
    if interval.is_zero() {
        return Body::from(message.to_sse());
    }
    let frames: VecDeque<String> = message.to_sse_frames().into();
    let stream =
        futures_util::stream::unfold((frames, true), move |(mut frames, first)| async move {
            let frame = frames.pop_front()?;
            if !first {
                tokio::time::sleep(interval).await;
            }
            Some((Ok::<_, std::convert::Infallible>(frame), (frames, false)))
        });
    Body::from_stream(stream)
}

fn estimate_tokens(body_len: usize) -> u64 {
    (body_len as u64).div_ceil(4).max(1)
}

impl ScriptState {
    /// Resolves blocks into a wire message, assigning `toolu_NNNN` / `msg_NNNN` ids in order.
    fn message(
        &mut self,
        request: &RecordedRequest,
        blocks: Vec<Block>,
        body_len: usize,
    ) -> WireMessage {
        self.message_ids += 1;
        let blocks = blocks
            .into_iter()
            .map(|block| match block {
                Block::Text(text) => WireBlock::Text(text),
                Block::ToolUse { name, input } => {
                    self.tool_ids += 1;
                    WireBlock::ToolUse {
                        id: format!("toolu_{:04}", self.tool_ids),
                        name,
                        input,
                    }
                }
            })
            .collect();
        WireMessage {
            id: format!("msg_fake_{:04}", self.message_ids),
            model: request.body["model"]
                .as_str()
                .unwrap_or("claude-fake")
                .to_owned(),
            blocks,
            input_tokens: estimate_tokens(body_len),
            refusal: false,
        }
    }
}
