//! Mirroring: the CLI's `transcript_mirror` frames, peeled off the message
//! stream and appended to a [`SessionStore`] in batches.
//!
//! Two tasks per session. The *forwarder* sits between the router and the
//! reader of the messages: it keeps mirror frames back, passes every other
//! message on, and before it passes a `result` on it waits until the store has
//! this turn (so a caller who saw the result can resume elsewhere). The
//! *appender* calls the store, one batch at a time in arrival order, with
//! retries.
//!
//! Memory stays bounded: the forwarder receives within the reader's budget
//! (`protocol::inbox`: what it passes on holds its units until the reader
//! takes it), the frames it keeps back are flushed past
//! [`MAX_PENDING_ENTRIES`] / [`MAX_PENDING_BYTES`], and at most
//! [`APPEND_QUEUE`] batches wait for the store: a store that falls behind
//! holds back the forwarder, then the router, then the CLI.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::{SessionKey, SessionStore, StoreEntry, StoreFlush};
use crate::message::{Message, SystemMessage};
use crate::options::AgentOptions;
use crate::protocol::inbox::{InboxSender, Relay};

/// Pending entries past which a batched mirror flushes without waiting for the turn's end.
pub(crate) const MAX_PENDING_ENTRIES: usize = 500;
/// Pending bytes (of the entries as JSON) past which a batched mirror flushes.
pub(crate) const MAX_PENDING_BYTES: usize = 1 << 20;
/// Attempts per batch, and the pauses between them (the official SDKs' values).
const APPEND_BACKOFF: [Duration; 2] = [Duration::from_millis(200), Duration::from_millis(800)];
/// How long one `append` may take; a timed-out call is not retried (it may still land).
const APPEND_TIMEOUT: Duration = Duration::from_secs(60);
/// Batches (and barriers) waiting for the appender; the forwarder waits past this.
const APPEND_QUEUE: usize = 2;

/// The mirror's own reports (failed appends) to the reader's queue.
type Messages = crate::protocol::inbox::MessageTx;

/// The end of a session's mirroring: await it to know the last batch was handed to the store.
#[derive(Default)]
pub(crate) struct MirrorDone(Option<JoinHandle<()>>);

impl MirrorDone {
    /// Waits until the forwarder has passed everything on and the store has the last batch.
    pub(crate) async fn finished(self) {
        if let Some(forwarder) = self.0 {
            let _ = forwarder.await;
        }
    }
}

/// Puts a mirror between the router's sender and the reader of the messages
/// when the options have a session store.
pub(crate) fn attach(options: &AgentOptions, messages: &mut InboxSender) -> MirrorDone {
    let Some(store) = options.session_store.clone() else {
        return MirrorDone::default();
    };
    let relay = messages.relay();
    let projects_dir = options.cli_config_dir().map(|dir| dir.join("projects"));
    let (appender_tx, appender_rx) = mpsc::channel(APPEND_QUEUE);
    let appender = crate::task::spawn(append_loop(
        store,
        projects_dir,
        appender_rx,
        relay.unbudgeted(),
    ));
    let forwarder = Forwarder {
        flush: options.session_store_flush,
        pending: Pending::default(),
        appender: appender_tx,
    };
    let handle = crate::task::spawn(forwarder.run(relay, appender));
    MirrorDone(Some(handle))
}

/// One `transcript_mirror` frame: the file the CLI wrote and the lines it added.
struct Frame {
    file_path: String,
    entries: Vec<StoreEntry>,
}

impl Frame {
    /// The frame in a message, if the message is one.
    fn from_message(message: &Message) -> Option<Frame> {
        let Message::Unknown(value) = message else {
            return None;
        };
        if value.get("type").and_then(Value::as_str) != Some("transcript_mirror") {
            return None;
        }
        let file_path = value.get("filePath")?.as_str()?.to_owned();
        let entries = value
            .get("entries")?
            .as_array()?
            .iter()
            .filter_map(|entry| entry.as_object().cloned())
            .collect();
        Some(Frame { file_path, entries })
    }
}

#[derive(Default)]
struct Pending {
    frames: Vec<Frame>,
    entries: usize,
    bytes: usize,
}

impl Pending {
    fn push(&mut self, frame: Frame) {
        self.entries += frame.entries.len();
        self.bytes += frame
            .entries
            .iter()
            .map(|entry| serde_json::to_string(entry).map_or(0, |text| text.len()))
            .sum::<usize>();
        self.frames.push(frame);
    }

    fn over_limits(&self) -> bool {
        self.entries > MAX_PENDING_ENTRIES || self.bytes > MAX_PENDING_BYTES
    }

    fn take(&mut self) -> Vec<Frame> {
        std::mem::take(self).frames
    }
}

enum Command {
    Append(Vec<Frame>),
    /// Answered once every batch sent before it was handed to the store.
    Barrier(oneshot::Sender<()>),
}

struct Forwarder {
    flush: StoreFlush,
    pending: Pending,
    appender: mpsc::Sender<Command>,
}

impl Forwarder {
    async fn run(mut self, mut relay: Relay, appender: JoinHandle<()>) {
        while let Some(queued) = relay.recv().await {
            // Conversation lines (left to the reader to parse) are neither.
            if let Some(Ok(message)) = queued.item() {
                if let Some(frame) = Frame::from_message(message) {
                    // Kept back: its budget goes back, `pending` has limits of its own.
                    relay.keep(queued);
                    self.pending.push(frame);
                    if self.flush == StoreFlush::Eager || self.pending.over_limits() {
                        self.send_pending().await;
                    }
                    continue;
                }
                if matches!(message, Message::Result(_)) {
                    self.flush().await;
                }
            }
            relay.pass(queued);
        }
        // The session is over: the last frames (the CLI writes some after its result) go too.
        self.flush().await;
        drop(self.appender);
        let _ = appender.await;
    }

    /// Hands the pending frames to the appender; waits while it has
    /// [`APPEND_QUEUE`] batches already.
    async fn send_pending(&mut self) {
        let frames = self.pending.take();
        if !frames.is_empty() {
            let _ = self.appender.send(Command::Append(frames)).await;
        }
    }

    async fn flush(&mut self) {
        self.send_pending().await;
        let (done, wait) = oneshot::channel();
        if self.appender.send(Command::Barrier(done)).await.is_ok() {
            let _ = wait.await;
        }
    }
}

async fn append_loop(
    store: Arc<dyn SessionStore>,
    projects_dir: Option<PathBuf>,
    mut commands: mpsc::Receiver<Command>,
    out: Messages,
) {
    let mut next = None;
    loop {
        let command = match next.take() {
            Some(command) => command,
            None => match commands.recv().await {
                Some(command) => command,
                None => break,
            },
        };
        match command {
            Command::Barrier(done) => {
                let _ = done.send(());
            }
            Command::Append(mut frames) => {
                // Batches that queued up while the store was busy go in one call.
                while let Ok(queued) = commands.try_recv() {
                    match queued {
                        Command::Append(more) => frames.extend(more),
                        barrier => {
                            next = Some(barrier);
                            break;
                        }
                    }
                }
                for (key, entries) in by_key(frames, projects_dir.as_deref()) {
                    if let Err(error) = append_with_retries(store.as_ref(), &key, entries).await {
                        let _ = out.send(Ok(mirror_error(&key, &error)));
                    }
                }
            }
        }
    }
}

/// Frames grouped by the transcript they belong to, in order of first appearance.
fn by_key(frames: Vec<Frame>, projects_dir: Option<&Path>) -> Vec<(SessionKey, Vec<StoreEntry>)> {
    let mut groups: Vec<(String, Vec<StoreEntry>)> = Vec::new();
    for frame in frames {
        match groups.iter_mut().find(|(path, _)| *path == frame.file_path) {
            Some((_, entries)) => entries.extend(frame.entries),
            None => groups.push((frame.file_path, frame.entries)),
        }
    }
    groups
        .into_iter()
        .filter(|(_, entries)| !entries.is_empty())
        .filter_map(|(path, entries)| {
            let key = projects_dir.and_then(|dir| key_for_file(Path::new(&path), dir));
            if key.is_none() {
                tracing::warn!(
                    file = %path,
                    "dropping a transcript_mirror frame: its file is not under the CLI's projects directory \
                     (does the CLI run with another CLAUDE_CONFIG_DIR?)"
                );
            }
            Some((key?, entries))
        })
        .collect()
}

/// The store key of a transcript file: `<project>/<session>.jsonl` is a main
/// transcript, `<project>/<session>/subagents/.../agent-<id>.jsonl` a sub-key.
pub(crate) fn key_for_file(file: &Path, projects_dir: &Path) -> Option<SessionKey> {
    let relative = file.strip_prefix(projects_dir).ok().or_else(|| {
        let canonical = projects_dir.canonicalize().ok()?;
        file.strip_prefix(canonical).ok()
    })?;
    let parts: Vec<&str> = relative
        .components()
        .map(|part| part.as_os_str().to_str())
        .collect::<Option<_>>()?;
    match parts.as_slice() {
        [project, file] => Some(SessionKey::new(*project, file.strip_suffix(".jsonl")?)),
        [project, session, rest @ ..] if rest.len() >= 2 => {
            let mut subpath = rest.join("/");
            if subpath.ends_with(".jsonl") {
                subpath.truncate(subpath.len() - ".jsonl".len());
            }
            Some(SessionKey::new(*project, *session).subkey(subpath))
        }
        _ => None,
    }
}

async fn append_with_retries(
    store: &dyn SessionStore,
    key: &SessionKey,
    entries: Vec<StoreEntry>,
) -> std::result::Result<(), String> {
    let mut attempt = 0;
    loop {
        match tokio::time::timeout(APPEND_TIMEOUT, store.append(key, entries.clone())).await {
            Ok(Ok(())) => return Ok(()),
            Err(_) => {
                return Err(format!(
                    "append timed out after {} s (not retried: it may still land)",
                    APPEND_TIMEOUT.as_secs()
                ));
            }
            Ok(Err(error)) => {
                tracing::debug!(%error, attempt, "session store append failed");
                let Some(pause) = APPEND_BACKOFF.get(attempt) else {
                    return Err(error.to_string());
                };
                tokio::time::sleep(*pause).await;
                attempt += 1;
            }
        }
    }
}

fn mirror_error(key: &SessionKey, error: &str) -> Message {
    let frame = json!({
        "type": "system",
        "subtype": "mirror_error",
        "error": error,
        "key": {
            "project_key": key.project_key,
            "session_id": key.session_id,
            "subpath": key.subpath,
        },
        "uuid": fresh_uuid(),
        "session_id": key.session_id,
    });
    match SystemMessage::from_value(frame.clone()) {
        Ok(system) => Message::System(system),
        Err(_) => Message::Unknown(frame),
    }
}

/// A random (version 4) UUID for the SDK's own frames.
fn fresh_uuid() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut bytes = [0u8; 16];
    for chunk in bytes.chunks_mut(8) {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos(),
        );
        chunk.copy_from_slice(&hasher.finish().to_le_bytes());
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::sync::Mutex;

    use crate::error::Result;

    use crate::store::StoreError;

    /// Records every append; fails them all when `fail` is set.
    #[derive(Default)]
    struct Recorder {
        appends: Mutex<Vec<(SessionKey, usize)>>,
        attempts: std::sync::atomic::AtomicUsize,
        fail: bool,
    }

    impl SessionStore for Recorder {
        fn append<'a>(
            &'a self,
            key: &'a SessionKey,
            entries: Vec<StoreEntry>,
        ) -> crate::BoxFuture<'a, std::result::Result<(), StoreError>> {
            Box::pin(async move {
                self.attempts
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if self.fail {
                    return Err(StoreError::backend("recorder", "refused"));
                }
                self.appends
                    .lock()
                    .unwrap()
                    .push((key.clone(), entries.len()));
                Ok(())
            })
        }

        fn load<'a>(
            &'a self,
            _: &'a SessionKey,
        ) -> crate::BoxFuture<'a, std::result::Result<Option<Vec<StoreEntry>>, StoreError>>
        {
            Box::pin(async { Ok(None) })
        }
    }

    fn mirror_frame(file: &str, n: usize) -> Result<Message> {
        let entries: Vec<Value> = (0..n)
            .map(|i| json!({"type": "user", "uuid": format!("u{i}")}))
            .collect();
        Ok(
            message_of(json!({"type": "transcript_mirror", "filePath": file, "entries": entries}))
                .unwrap(),
        )
    }

    fn message_of(frame: Value) -> std::result::Result<Message, serde_json::Error> {
        Message::from_slice(frame.to_string().as_bytes())
    }

    fn result_frame() -> Result<Message> {
        Ok(message_of(json!({
            "type": "result", "subtype": "success", "is_error": false, "duration_ms": 1,
            "duration_api_ms": 1, "num_turns": 1, "session_id": "s1", "total_cost_usd": 0.0,
            "usage": {}, "result": "ok", "uuid": "r1",
        }))
        .unwrap())
    }

    /// The router's end of the queue, as the router uses it.
    struct Router(InboxSender);

    impl Router {
        fn send(&mut self, item: Result<Message>) {
            self.0.push(item, 100);
            assert!(self.0.flush(), "within the budget");
        }
    }

    fn start(
        store: Arc<Recorder>,
        flush: StoreFlush,
    ) -> (Router, crate::protocol::inbox::Inbox, MirrorDone) {
        let options = AgentOptions::builder()
            .env("CLAUDE_CONFIG_DIR", "/h/.claude")
            .session_store(store)
            .session_store_flush(flush)
            .build()
            .unwrap();
        let (mut router, out_rx) = crate::protocol::inbox::channel();
        let done = attach(&options, &mut router);
        assert!(done.0.is_some(), "a store is configured");
        (Router(router), out_rx, done)
    }

    const FILE: &str = "/h/.claude/projects/-w/s1.jsonl";

    #[tokio::test]
    async fn batched_frames_reach_the_store_at_the_result_in_one_append() {
        let store = Arc::new(Recorder::default());
        let (mut inbox, mut out, done) = start(store.clone(), StoreFlush::Batched);
        inbox.send(mirror_frame(FILE, 2));
        inbox.send(mirror_frame(FILE, 3));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            store.appends.lock().unwrap().is_empty(),
            "batched waits for the turn's end"
        );
        inbox.send(result_frame());
        let first = out.recv().await.unwrap().unwrap();
        assert!(
            matches!(first, Message::Result(_)),
            "mirror frames are not passed on"
        );
        // The result is passed on once the store has the turn.
        assert_eq!(
            *store.appends.lock().unwrap(),
            [(SessionKey::new("-w", "s1"), 5)]
        );
        // Frames after the result go at the end of the session.
        inbox.send(mirror_frame(FILE, 1));
        drop(inbox);
        done.finished().await;
        assert_eq!(store.appends.lock().unwrap().len(), 2);
        assert!(out.recv().await.is_none());
    }

    #[tokio::test]
    async fn eager_frames_reach_the_store_before_the_result() {
        let store = Arc::new(Recorder::default());
        let (mut inbox, _out, done) = start(store.clone(), StoreFlush::Eager);
        inbox.send(mirror_frame(FILE, 2));
        tokio::time::timeout(Duration::from_secs(5), async {
            while store.appends.lock().unwrap().is_empty() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("an eager append without a result");
        drop(inbox);
        done.finished().await;
    }

    #[tokio::test]
    async fn over_500_pending_entries_flush_without_a_result() {
        let store = Arc::new(Recorder::default());
        let (mut inbox, _out, done) = start(store.clone(), StoreFlush::Batched);
        inbox.send(mirror_frame(FILE, MAX_PENDING_ENTRIES + 1));
        tokio::time::timeout(Duration::from_secs(5), async {
            while store.appends.lock().unwrap().is_empty() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("a flush past the entry limit");
        drop(inbox);
        done.finished().await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_failing_store_is_retried_then_reported_before_the_result() {
        let store = Arc::new(Recorder {
            fail: true,
            ..Recorder::default()
        });
        let (mut inbox, mut out, done) = start(store.clone(), StoreFlush::Batched);
        inbox.send(mirror_frame(FILE, 1));
        inbox.send(mirror_frame("/elsewhere/-w/s1.jsonl", 1));
        inbox.send(result_frame());
        drop(inbox);
        let Message::System(SystemMessage::MirrorError(error)) = out.recv().await.unwrap().unwrap()
        else {
            panic!("the mirror error comes first");
        };
        assert_eq!(error.error, "session store `recorder` failed: refused");
        assert!(matches!(
            out.recv().await.unwrap().unwrap(),
            Message::Result(_)
        ));
        done.finished().await;
        // The frame from outside the projects directory was dropped, not reported.
        assert!(out.recv().await.is_none());
        assert_eq!(store.attempts.load(std::sync::atomic::Ordering::SeqCst), 3);
    }

    #[test]
    fn file_paths_become_keys() {
        let projects = Path::new("/h/.claude/projects");
        let main = key_for_file(Path::new("/h/.claude/projects/-w/s1.jsonl"), projects).unwrap();
        assert_eq!(main, SessionKey::new("-w", "s1"));
        let agent = key_for_file(
            Path::new("/h/.claude/projects/-w/s1/subagents/agent-a1.jsonl"),
            projects,
        )
        .unwrap();
        assert_eq!(
            agent,
            SessionKey::new("-w", "s1").subkey("subagents/agent-a1")
        );
        assert_eq!(
            key_for_file(Path::new("/elsewhere/-w/s1.jsonl"), projects),
            None
        );
        assert_eq!(
            key_for_file(Path::new("/h/.claude/projects/-w/s1/x.jsonl"), projects),
            None
        );
    }

    #[test]
    fn the_captured_cli_frames_are_mirror_frames() {
        let capture = include_str!("../../tests/data/transcript_mirror.jsonl");
        let frames: Vec<Frame> = capture
            .lines()
            .filter_map(|line| Message::from_slice(line.as_bytes()).ok())
            .filter_map(|message| Frame::from_message(&message))
            .collect();
        assert!(frames.len() >= 3);
        assert!(frames.iter().all(|f| f.file_path.ends_with(".jsonl")));
        let types: Vec<&str> = frames
            .iter()
            .flat_map(|f| &f.entries)
            .filter_map(|e| e.get("type").and_then(Value::as_str))
            .collect();
        assert!(
            types.contains(&"user") && types.contains(&"assistant"),
            "{types:?}"
        );
    }

    #[test]
    fn mirror_errors_are_typed() {
        let message = mirror_error(&SessionKey::new("p", "s"), "boom");
        let Message::System(SystemMessage::MirrorError(frame)) = message else {
            panic!("not typed: {message:?}");
        };
        assert_eq!(frame.error, "boom");
        assert_eq!(frame.key.as_ref().unwrap().project_key, "p");
        assert_eq!(fresh_uuid().len(), 36);
    }
}
