//! The agent server's WebSocket on loopback with the real CLI: the same
//! events as SSE as `{"id","type","data"}` frames, messages, permission
//! answers and interrupts sent over the socket, `?after=<seq>` on reconnect,
//! and a malformed client frame answered with an `error` frame.

use std::time::Duration;

use agent_sdk::server::ServerConfig;
use agent_sdk::testing::{Script, Turn};
use agent_sdk_e2e::World;
use agent_sdk_e2e::server::{Event, PATIENCE, TestServer, turn_complete};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as Frame;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(addr: &str, id: &str, after: u64) -> Socket {
    let url = format!("ws://{addr}/v1/sessions/{id}/ws?after={after}");
    let (socket, response) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    assert_eq!(response.status(), 101);
    socket
}

async fn send(socket: &mut Socket, frame: Value) {
    socket
        .send(Frame::Text(frame.to_string().into()))
        .await
        .unwrap();
}

/// The next event frame (pings and pongs skipped).
async fn next(socket: &mut Socket) -> Event {
    loop {
        let frame = tokio::time::timeout(PATIENCE, socket.next())
            .await
            .expect("a frame within 90 s")
            .expect("the socket stays open")
            .unwrap();
        if let Frame::Text(text) = frame {
            let frame: Value = serde_json::from_str(text.as_str()).unwrap();
            return (
                frame["id"].as_u64(),
                frame["type"].as_str().unwrap().to_owned(),
                frame["data"].clone(),
            );
        }
    }
}

/// Frames until (and including) the first `done` accepts.
async fn until(socket: &mut Socket, done: impl Fn(&Event) -> bool) -> Vec<Event> {
    let mut seen = Vec::new();
    loop {
        let event = next(socket).await;
        let last = done(&event);
        seen.push(event);
        if last {
            return seen;
        }
    }
}

#[tokio::test]
async fn a_websocket_client_drives_a_session_and_resumes_after_a_seq() {
    let script = Script::new()
        .then(Turn::text("Hello over the socket."))
        .then(Turn::tool_use(
            "Bash",
            json!({"command": "touch ws.txt && echo permitted"}),
        ))
        .then(Turn::from_fn(|request| {
            let output = request.tool_results().last().map(|r| r.text.clone());
            Turn::text(format!("tool said {}", output.unwrap_or_default().trim()))
        }))
        .then(Turn::text("too late").with_delay(Duration::from_secs(60)));
    let world = World::start(script).await;
    let server = TestServer::start(&world, ServerConfig::default()).await;
    let addr = server.addr.clone();
    let created = server.create(json!({"permission_mode": "default"})).await;
    let id = created;
    let mut socket = connect(&addr, &id, 0).await;

    // A malformed frame: an error frame (no id), and the socket goes on.
    send(&mut socket, json!({"type": "shout", "text": "hi"})).await;
    let seen = until(&mut socket, |e| e.1 == "error").await;
    let error = seen.last().unwrap();
    assert_eq!(error.0, None, "{error:?}");
    assert_eq!(error.2["code"], "invalid_frame", "{error:?}");

    // A message over the socket: the same events, in the same order, as SSE.
    send(&mut socket, json!({"type": "message", "text": "hello"})).await;
    let mut first: Vec<Event> = seen.into_iter().filter(|e| e.0.is_some()).collect();
    first.extend(until(&mut socket, turn_complete(1)).await);
    let ids: Vec<u64> = first.iter().map(|e| e.0.unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[1] == w[0] + 1), "{ids:?}");
    assert!(
        first
            .iter()
            .any(|e| e.1 == "user_message" && e.2["text"] == "hello")
    );
    assert!(
        first
            .iter()
            .any(|e| e.1 == "assistant_text" && e.2["text"] == "Hello over the socket."),
        "{first:?}"
    );
    assert_eq!(server.events(&id, Some(0)).await.until_turn(1).await, first);
    let after_first = ids[ids.len() - 1];

    // A permission request answered over the socket.
    send(&mut socket, json!({"type": "message", "text": "run it"})).await;
    let seen = until(&mut socket, |e| e.1 == "permission_request").await;
    let request = &seen.last().unwrap().2;
    assert_eq!(request["tool_name"], "Bash");
    send(
        &mut socket,
        json!({"type": "permission", "correlation_id": request["correlation_id"], "behavior": "allow"}),
    )
    .await;
    let seen = until(&mut socket, turn_complete(2)).await;
    let resolved = seen.iter().find(|e| e.1 == "permission_resolved").unwrap();
    assert_eq!(resolved.2["behavior"], "allow", "{resolved:?}");
    assert_eq!(seen.last().unwrap().2["result"], "tool said permitted");

    // An interrupt over the socket ends a turn the model would answer in a minute.
    send(&mut socket, json!({"type": "message", "text": "slow"})).await;
    until(&mut socket, |e| e.1 == "user_message" && e.2["turn"] == 3).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    send(&mut socket, json!({"type": "interrupt"})).await;
    let interrupted = tokio::time::timeout(
        Duration::from_secs(30),
        until(&mut socket, turn_complete(3)),
    )
    .await
    .expect("the interrupt ends the turn well before the model answers");
    let complete = &interrupted.last().unwrap().2;
    assert_ne!(complete["result"], "too late", "{complete}");
    assert!(
        !interrupted
            .iter()
            .any(|e| e.1 == "assistant_text" && e.2["text"] == "too late")
    );
    drop(socket);

    // Reconnected after the first turn: only later events, from the next seq.
    let mut socket = connect(&addr, &id, after_first).await;
    let replayed = until(&mut socket, turn_complete(2)).await;
    assert_eq!(replayed[0].0, Some(after_first + 1), "{replayed:?}");
    assert!(replayed.iter().all(|e| e.0.unwrap() > after_first));
    assert!(replayed.iter().any(|e| e.1 == "permission_request"));
}
