//! What the agent server's tests share: the API client and SSE reader,
//! loopback servers and a webhook receiver, database URLs. (Each test binary
//! uses part of it.)
#![allow(dead_code, unused_imports)]

pub mod binary;
pub mod http;
pub mod loopback;

pub use binary::*;
pub use http::*;
pub use loopback::*;

/// `sqlite://<dir>/server.db`.
pub fn sqlite_url(dir: &std::path::Path) -> String {
    format!("sqlite://{}", dir.join("server.db").display())
}

/// The test server's URL with a schema no other test or run uses, so every
/// database starts empty.
pub async fn fresh_postgres_url(url: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let schema = format!(
        "srv{}_{nanos}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("the test PostgreSQL at {url} is unreachable: {e}"));
    tokio::spawn(connection);
    client
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .await
        .unwrap();
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}options=-c%20search_path%3D{schema}")
}
