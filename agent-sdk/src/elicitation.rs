//! Elicitation: an MCP server asks the user for input in the middle of a tool call.
//!
//! An MCP server connected to the CLI sends `elicitation/create`; the CLI (2.1.330,
//! stream-json mode) forwards it to the SDK as an `elicitation` control request and
//! relays the answer to the server. Register an [`ElicitationHandler`] with
//! [`AgentOptionsBuilder::on_elicitation`](crate::AgentOptionsBuilder::on_elicitation)
//! to answer it; without one the SDK declines, as the TypeScript SDK does (the CLI
//! would read an error answer as `cancel`).
//!
//! ```
//! use agent_sdk::AgentOptions;
//! use agent_sdk::elicitation::{ElicitationRequest, ElicitationResponse};
//!
//! let options = AgentOptions::builder()
//!     .on_elicitation(|request: ElicitationRequest| async move {
//!         if request.message.contains("How many") {
//!             ElicitationResponse::accept(serde_json::json!({"party_size": 4}))
//!         } else {
//!             ElicitationResponse::Decline
//!         }
//!     })
//!     .build()?;
//! # let _ = options;
//! # Ok::<(), agent_sdk::Error>(())
//! ```

use std::future::Future;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::handler::BoxFuture;

/// How the server wants the user asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ElicitationMode {
    /// A form described by [`ElicitationRequest::requested_schema`].
    #[default]
    Form,
    /// A page to open ([`ElicitationRequest::url`]); the answer carries no content.
    Url,
}

/// One `elicitation` request: an MCP server asking the user for input.
///
/// ```
/// use agent_sdk::elicitation::{ElicitationMode, ElicitationRequest};
/// let request: ElicitationRequest = serde_json::from_value(serde_json::json!({
///     "mcp_server_name": "concierge",
///     "message": "How many people?",
///     "mode": "form",
///     "requested_schema": {"type": "object", "properties": {"party_size": {"type": "integer"}}},
///     "property_order": ["party_size"]
/// }))?;
/// assert_eq!(request.server_name, "concierge");
/// assert_eq!(request.mode, ElicitationMode::Form);
/// assert_eq!(request.property_order, ["party_size"]);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct ElicitationRequest {
    /// The MCP server that asks (its name in the session's configuration).
    #[serde(rename = "mcp_server_name")]
    pub server_name: String,
    /// The question, for the user.
    pub message: String,
    /// Form or URL.
    #[serde(default)]
    pub mode: ElicitationMode,
    /// The page to open, in [`ElicitationMode::Url`].
    #[serde(default)]
    pub url: Option<String>,
    /// The server's id for this elicitation (URL mode).
    #[serde(default)]
    pub elicitation_id: Option<String>,
    /// The JSON Schema of the content to accept with (form mode): an object of flat properties.
    #[serde(default)]
    pub requested_schema: Option<Value>,
    /// The order in which to show the schema's properties.
    #[serde(default)]
    pub property_order: Vec<String>,
    /// A title for the prompt.
    #[serde(default)]
    pub title: Option<String>,
    /// The server's display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// A longer description.
    #[serde(default)]
    pub description: Option<String>,
}

/// The user's answer to an [`ElicitationRequest`] (an MCP `ElicitResult`).
///
/// ```
/// use agent_sdk::elicitation::ElicitationResponse;
/// let accepted = ElicitationResponse::accept(serde_json::json!({"party_size": 4}));
/// assert_eq!(accepted.to_wire(), serde_json::json!({"action": "accept", "content": {"party_size": 4}}));
/// assert_eq!(ElicitationResponse::Decline.to_wire(), serde_json::json!({"action": "decline"}));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ElicitationResponse {
    /// The user answered: the content fits the requested schema (empty in URL mode).
    Accept(Map<String, Value>),
    /// The user said no.
    Decline,
    /// The user dismissed the question.
    Cancel,
}

impl ElicitationResponse {
    /// Accepts with this content: a JSON object (anything else is sent as no content).
    pub fn accept(content: Value) -> Self {
        match content {
            Value::Object(map) => ElicitationResponse::Accept(map),
            _ => ElicitationResponse::Accept(Map::new()),
        }
    }

    /// The answer on the wire: `{"action": ..., "content"?: ...}`.
    pub fn to_wire(&self) -> Value {
        match self {
            ElicitationResponse::Accept(content) => {
                json!({"action": "accept", "content": content})
            }
            ElicitationResponse::Decline => json!({"action": "decline"}),
            ElicitationResponse::Cancel => json!({"action": "cancel"}),
        }
    }
}

/// Answers elicitation requests. Any `Fn(ElicitationRequest) -> impl Future<Output =
/// ElicitationResponse>` is one; implement it on a type to keep state.
///
/// ```
/// use agent_sdk::elicitation::{ElicitationHandler, ElicitationRequest, ElicitationResponse};
///
/// struct AlwaysTwo;
///
/// impl ElicitationHandler for AlwaysTwo {
///     async fn elicit(&self, _request: ElicitationRequest) -> ElicitationResponse {
///         ElicitationResponse::accept(serde_json::json!({"party_size": 2}))
///     }
/// }
/// let options = agent_sdk::AgentOptions::builder().on_elicitation(AlwaysTwo).build()?;
/// # let _ = options;
/// # Ok::<(), agent_sdk::Error>(())
/// ```
pub trait ElicitationHandler: Send + Sync + 'static {
    /// The user's answer to one request.
    fn elicit(
        &self,
        request: ElicitationRequest,
    ) -> impl Future<Output = ElicitationResponse> + Send;
}

impl<F, Fut> ElicitationHandler for F
where
    F: Fn(ElicitationRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ElicitationResponse> + Send,
{
    fn elicit(
        &self,
        request: ElicitationRequest,
    ) -> impl Future<Output = ElicitationResponse> + Send {
        self(request)
    }
}

/// A type-erased handler, as the options keep it.
pub(crate) type DynElicitationHandler =
    Arc<dyn Fn(ElicitationRequest) -> BoxFuture<'static, ElicitationResponse> + Send + Sync>;

pub(crate) fn erase<H: ElicitationHandler>(handler: H) -> DynElicitationHandler {
    let handler = Arc::new(handler);
    Arc::new(move |request| {
        let handler = handler.clone();
        Box::pin(async move { handler.elicit(request).await })
    })
}

/// The answer to the CLI's `elicitation` request: the handler's, or `decline` without one.
pub(crate) async fn answer(
    handler: Option<&DynElicitationHandler>,
    request: Value,
) -> Result<Value, String> {
    let request = ElicitationRequest::deserialize(&request)
        .map_err(|error| format!("malformed elicitation request: {error}"))?;
    let response = match handler {
        Some(handler) => handler(request).await,
        None => ElicitationResponse::Decline,
    };
    Ok(response.to_wire())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> Value {
        json!({"subtype": "elicitation", "mcp_server_name": "s", "message": "Name?"})
    }

    #[tokio::test]
    async fn without_a_handler_the_answer_is_decline() {
        assert_eq!(
            answer(None, request()).await.unwrap(),
            json!({"action": "decline"})
        );
    }

    #[tokio::test]
    async fn the_handler_sees_the_request_and_its_answer_is_sent() {
        let handler = erase(|request: ElicitationRequest| async move {
            assert_eq!(request.mode, ElicitationMode::Form);
            ElicitationResponse::accept(json!({"name": request.message}))
        });
        assert_eq!(
            answer(Some(&handler), request()).await.unwrap(),
            json!({"action": "accept", "content": {"name": "Name?"}})
        );
    }

    #[tokio::test]
    async fn a_request_without_a_message_is_a_clear_error() {
        let error = answer(None, json!({"mcp_server_name": "s"}))
            .await
            .unwrap_err();
        assert!(error.contains("message"), "{error}");
    }
}
