//! Loopback servers for tests: a router on a free port, and a webhook
//! receiver that records what it gets and fails its first attempts on request.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};

/// Serves `router` on `127.0.0.1:<free port>`; returns `http://127.0.0.1:<port>`.
pub async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    base
}

/// Waits until `done` says so, polling every 20 ms; fails after `within`.
pub async fn eventually(what: &str, within: Duration, mut done: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + within;
    while !done().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One request the receiver got, and what it answered.
#[derive(Debug, Clone)]
pub struct Received {
    /// The request's headers.
    pub headers: HeaderMap,
    /// The body as sent (what the signature covers).
    pub body: String,
    /// What the receiver answered.
    pub status: StatusCode,
}

impl Received {
    /// A header's value (it must be there).
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header"))
            .to_str()
            .unwrap()
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// A webhook receiver on loopback (`POST /hook`) answering 500 to its first
/// `fail_first` requests, 200 after.
pub struct Receiver {
    /// `http://127.0.0.1:<port>/hook`.
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    /// Starts one.
    pub async fn start(fail_first: usize) -> Self {
        let received = Arc::new(Mutex::new(Vec::<Received>::new()));
        let log = Arc::clone(&received);
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let log = Arc::clone(&log);
                async move {
                    let mut log = log.lock().unwrap();
                    let status = if log.len() < fail_first {
                        StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        StatusCode::OK
                    };
                    log.push(Received {
                        headers,
                        body,
                        status,
                    });
                    status
                }
            }),
        );
        let base = serve(app).await;
        Self {
            url: format!("{base}/hook"),
            received,
        }
    }

    /// Every request so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// The requests it answered 200.
    pub fn accepted(&self) -> Vec<Received> {
        let mut accepted = self.received();
        accepted.retain(|r| r.status == StatusCode::OK);
        accepted
    }

    /// The `X-Agent-Event` of each accepted delivery, in order.
    pub fn events(&self) -> Vec<String> {
        self.accepted()
            .iter()
            .map(|r| r.header("x-agent-event").to_owned())
            .collect()
    }
}

/// A TCP proxy on loopback to `upstream` that can be cut: the server behind
/// it then looks stopped to its clients (connections closed, new ones refused).
pub struct TcpProxy {
    /// Where it listens.
    pub addr: std::net::SocketAddr,
    tasks: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl TcpProxy {
    /// Starts forwarding to `upstream` (`host:port`).
    pub async fn start(upstream: String) -> TcpProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let tasks = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let held = tasks.clone();
        let accepting = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let forwarding = tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                held.lock().unwrap().push(forwarding);
            }
        });
        tasks.lock().unwrap().push(accepting);
        TcpProxy { addr, tasks }
    }

    /// Stops listening and closes every connection.
    pub fn cut(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.cut();
    }
}
