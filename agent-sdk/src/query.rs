//! [`query()`]: one prompt in, a stream of messages out.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use futures_util::StreamExt;
use serde_json::Value;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::message::{Message, UserInput};
use crate::options::AgentOptions;
use crate::protocol::{InputMode, Session};
use crate::structured::{OutputSchema, StructuredOutputError};
use crate::transport::{SubprocessTransport, Transport};

/// What a one-shot [`query()`] sends.
#[non_exhaustive]
pub enum Prompt {
    /// One text prompt.
    Text(String),
    /// A stream of raw `user` frames, written as they come.
    Frames(Pin<Box<dyn Stream<Item = Value> + Send>>),
}

impl From<&str> for Prompt {
    fn from(text: &str) -> Self {
        Prompt::Text(text.to_owned())
    }
}

impl From<String> for Prompt {
    fn from(text: String) -> Self {
        Prompt::Text(text)
    }
}

impl Prompt {
    /// A prompt made of a stream of `user` frames.
    ///
    /// ```
    /// let frames = futures_util::stream::iter([serde_json::json!({
    ///     "type": "user", "message": {"role": "user", "content": "hi"}, "parent_tool_use_id": null
    /// })]);
    /// let prompt = agent_sdk::Prompt::frames(frames);
    /// # let _ = prompt;
    /// ```
    pub fn frames(frames: impl Stream<Item = Value> + Send + 'static) -> Self {
        Prompt::Frames(Box::pin(frames))
    }
}

/// Runs one prompt and streams every message of the run.
///
/// The stream ends after the run is over. If the run ends in an error
/// `result` (for example `error_max_turns`), the [`Message::Result`] is
/// yielded first and an [`Error::Result`](crate::Error::Result) follows.
/// Every `Err` item ends the run (the CLI exited with an error, or cleanly but
/// without a `result`: [`Error::TurnIncomplete`](crate::Error::TurnIncomplete));
/// a line that cannot be read is a [`Message::Malformed`] and the run goes on.
/// See [`Client::receive_messages`](crate::Client::receive_messages), "Errors in the stream".
///
/// ```no_run
/// use agent_sdk::prelude::*;
/// # async fn run() -> agent_sdk::Result<()> {
/// let options = agent_sdk::AgentOptions::builder().build()?;
/// let mut stream = agent_sdk::query("Say hello", options);
/// while let Some(message) = stream.next().await {
///     println!("{:?}", message?);
/// }
/// # Ok(())
/// # }
/// ```
pub fn query(prompt: impl Into<Prompt>, options: AgentOptions) -> Query {
    let prompt = prompt.into();
    Query::start(prompt, options, None)
}

/// Runs one prompt with `T`'s schema as the output schema and returns the
/// model's answer as `T`.
///
/// The schema of `T` replaces any output schema set on `options`. Errors:
/// [`Error::StructuredOutput`] with a [`StructuredOutputError`] saying whether
/// the model never complied, the value did not fit, or the session ended in an
/// error result; any other [`Error`] when the CLI could not run.
///
/// ```no_run
/// use agent_sdk::AgentOptions;
///
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct Capital {
///     city: String,
///     /// Inhabitants, if known.
///     population: Option<u64>,
/// }
///
/// # async fn run() -> agent_sdk::Result<()> {
/// let capital: Capital =
///     agent_sdk::query_as("What is the capital of France?", AgentOptions::builder().build()?).await?;
/// println!("{}", capital.city);
/// # Ok(())
/// # }
/// ```
pub async fn query_as<T: DeserializeOwned + JsonSchema + 'static>(
    prompt: impl Into<Prompt>,
    mut options: AgentOptions,
) -> Result<T> {
    let schema = OutputSchema::of::<T>().map_err(StructuredOutputError::from)?;
    options.output_schema = Some(schema.schema().clone());
    options.output_schema_error = None;

    let mut messages = query(prompt, options);
    let mut last_result = None;
    while let Some(message) = messages.next().await {
        match message {
            Ok(Message::Result(result)) => last_result = Some(result),
            Ok(_) => {}
            // The error result was already yielded as a message: report it from there.
            Err(Error::Result { .. }) if last_result.is_some() => {}
            Err(error) => return Err(error),
        }
    }
    let result = last_result.ok_or(StructuredOutputError::NoResult)?;
    Ok(schema.decode(result.structured_value()?)?)
}

/// Like [`query()`], over a transport of your own.
pub fn query_with_transport(
    prompt: impl Into<Prompt>,
    options: AgentOptions,
    transport: impl Transport,
) -> Query {
    Query::start(prompt.into(), options, Some(Box::new(transport)))
}

/// The stream returned by [`query()`]. Dropping it stops the CLI.
#[must_use = "a query does nothing until its stream is polled"]
pub struct Query {
    inner: Pin<Box<dyn Stream<Item = Result<Message>> + Send>>,
}

impl std::fmt::Debug for Query {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Query").finish_non_exhaustive()
    }
}

/// What a query needs before it has started.
type Pending = (Prompt, AgentOptions, Option<Box<dyn Transport>>);

enum State {
    Start(Box<Pending>),
    Running(Session),
    Done,
}

impl Query {
    fn start(
        prompt: Prompt,
        options: AgentOptions,
        transport: Option<Box<dyn Transport>>,
    ) -> Query {
        let stream = futures_util::stream::unfold(
            State::Start(Box::new((prompt, options, transport))),
            |state| async move {
                match state {
                    State::Start(start) => {
                        let (prompt, options, transport) = *start;
                        // A resume through a session store needs the transcript on disk first.
                        let options = match crate::store::wiring::prepare(options).await {
                            Ok(options) => options,
                            Err(err) => return Some((Err(err), State::Done)),
                        };
                        match begin(prompt, &options, transport).await {
                            Ok(session) => next(session).await,
                            Err(err) => Some((Err(err), State::Done)),
                        }
                    }
                    State::Running(session) => next(session).await,
                    State::Done => None,
                }
            },
        );
        Query {
            inner: Box::pin(stream),
        }
    }
}

async fn begin(
    prompt: Prompt,
    options: &AgentOptions,
    transport: Option<Box<dyn Transport>>,
) -> Result<Session> {
    let transport = match transport {
        Some(transport) => transport,
        None => Box::new(SubprocessTransport::new(options)?),
    };
    let session = Session::start(options, transport, InputMode::OneShot).await?;
    let bidirectional = options.has_bidirectional_needs();
    match prompt {
        Prompt::Text(text) => {
            // query() tags its prompt with an empty session id, like the official SDKs.
            session
                .send_frame(&UserInput::text(text).to_frame(""))
                .await?;
            session.end_input_when_done(bidirectional);
        }
        Prompt::Frames(mut frames) => {
            // Written inline: the CLI answers nothing before it has the prompt.
            while let Some(mut frame) = frames.next().await {
                if let Some(object) = frame.as_object_mut() {
                    object
                        .entry("session_id")
                        .or_insert_with(|| Value::String(String::new()));
                }
                session.send_frame(&frame).await?;
            }
            session.end_input_when_done(bidirectional);
        }
    }
    Ok(session)
}

async fn next(session: Session) -> Option<(Result<Message>, State)> {
    match session.next_message().await {
        Some(item) => Some((item, State::Running(session))),
        None => {
            session.shutdown().await;
            None
        }
    }
}

impl Stream for Query {
    type Item = Result<Message>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}
