//! The agent server on a loopback port for end-to-end tests, its sessions'
//! CLIs pointed at a [`World`]'s fake API; the API client and SSE reader are
//! the ones the `agent-sdk` server tests use.

use agent_sdk::server::{AgentServer, AgentServerBuilder, ServerConfig, db};

use crate::World;
pub use crate::http::*;

/// A server serving on `127.0.0.1:<port>`, with a client of its API (`Deref`).
pub struct TestServer {
    /// The client (its `base` is this server).
    pub api: ApiClient,
    /// `127.0.0.1:<port>` (for `ws://` URLs).
    pub addr: String,
    /// The server (to drain it or read its metrics).
    pub server: AgentServer,
}

impl std::ops::Deref for TestServer {
    type Target = ApiClient;

    fn deref(&self) -> &ApiClient {
        &self.api
    }
}

/// The base settings of a test server: the real CLI and the world's fake API and cwd.
pub async fn test_config(world: &World, config: ServerConfig) -> ServerConfig {
    let cli = agent_sdk::testing::ensure_cli().await.expect("the CLI");
    config
        .cli_path(cli)
        .cli_env(world.env.cli_env())
        .default_cwd(world.env.cwd())
}

impl TestServer {
    /// A server on a memory database without authentication.
    pub async fn start(world: &World, config: ServerConfig) -> TestServer {
        Self::start_with(world, config, |builder| builder).await
    }

    /// A server on a memory database with what `build` adds to the builder (auth, metrics...).
    pub async fn start_with(
        world: &World,
        config: ServerConfig,
        build: impl FnOnce(AgentServerBuilder) -> AgentServerBuilder,
    ) -> TestServer {
        let builder = AgentServer::builder()
            .db(db::open("memory://").await.expect("memory db"))
            .config(test_config(world, config).await);
        let server = build(builder).build().await.expect("server builds");
        Self::serve(server).await
    }

    /// Serves a built server's router on a loopback port.
    pub async fn serve(server: AgentServer) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let router = server.router();
        tokio::spawn(async move { axum::serve(listener, router).await });
        TestServer {
            api: ApiClient::new(format!("http://{addr}")).checked_against(AgentServer::openapi()),
            addr,
            server,
        }
    }

    /// Sends `bearer` with every request from now on.
    pub fn with_bearer(mut self, bearer: &str) -> TestServer {
        self.api.bearer = Some(bearer.to_owned());
        self
    }
}
