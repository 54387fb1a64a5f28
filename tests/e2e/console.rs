//! The web console in a real browser: headless Chromium driven over WebDriver
//! (chromedriver) against the agent server on loopback, its sessions running
//! the real CLI against the scripted fake Messages API. Screenshots of the
//! main views land in `target/console-screenshots/`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use agent_sdk::server::ServerConfig;
use agent_sdk::server::auth::AuthConfig;
use agent_sdk::testing::{Script, Turn};
use agent_sdk_e2e::World;
use agent_sdk_e2e::server::TestServer;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

const TOKEN: &str = "console-test-token-0123456789";
/// WebDriver's code for the Enter key.
const ENTER: &str = "\u{E007}";
const PATIENCE: Duration = Duration::from_secs(90);

/// The first of `names` found on `PATH`.
fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// chromedriver and the browser, or `None` (with the reason printed) on a
/// developer machine without them; under `CI` their absence is a failure.
fn browser_tools() -> Option<(PathBuf, PathBuf)> {
    let driver = on_path(&["chromedriver"]);
    let browser = on_path(&["chromium", "chromium-browser", "google-chrome"]);
    match (driver, browser) {
        (Some(driver), Some(browser)) => Some((driver, browser)),
        (driver, browser) => {
            let reason = format!(
                "the console's browser test needs chromium and chromedriver on PATH \
                 (found driver: {driver:?}, browser: {browser:?}); \
                 install them with `apt-get install -y chromium chromium-driver`"
            );
            if std::env::var_os("CI").is_some() {
                panic!("{reason}");
            }
            eprintln!("skipping: {reason}");
            None
        }
    }
}

/// A chromedriver child on a free loopback port and a headless browser session on it.
struct Browser {
    client: Client,
    _driver: tokio::process::Child,
}

async fn start_browser(driver: &Path, browser: &Path) -> Browser {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = tokio::process::Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("chromedriver starts");
    let started = Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "chromedriver did not listen"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let capabilities = json!({
        "goog:chromeOptions": {
            "binary": browser,
            // Root in a container needs --no-sandbox; a small /dev/shm needs the last one.
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1280,900"],
        }
    });
    let capabilities = capabilities.as_object().unwrap().clone();
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a WebDriver session");
    Browser {
        client,
        _driver: child,
    }
}

/// Runs `script` in the page until it returns something truthy.
async fn until(client: &Client, script: &str, what: &str) -> Value {
    let started = Instant::now();
    loop {
        let value = client.execute(script, vec![]).await.unwrap();
        let truthy = !matches!(&value, Value::Null | Value::Bool(false))
            && value != json!(0)
            && value != json!("");
        if truthy {
            return value;
        }
        assert!(started.elapsed() < PATIENCE, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn screenshot(client: &Client, name: &str) {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
        .join("console-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let png = client.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

/// The events of a session as the server holds them: `(seq, type)` up to seq `last`.
async fn server_events(server: &TestServer, id: &str, last: u64) -> Vec<(u64, String)> {
    let mut events = server.events(id, Some(0)).await;
    let seen = events
        .until_event(|e| e.0.is_some_and(|seq| seq >= last))
        .await;
    seen.into_iter()
        .filter_map(|(seq, kind, _)| Some((seq?, kind)))
        .collect()
}

/// The events the page shows: `(seq, type)` in order.
async fn page_events(client: &Client) -> Vec<(u64, String)> {
    let shown = client
        .execute(
            "return [...document.querySelectorAll('#events li')].map(li => [Number(li.dataset.seq), li.dataset.kind]);",
            vec![],
        )
        .await
        .unwrap();
    serde_json::from_value(shown).unwrap()
}

#[tokio::test]
async fn the_console_drives_a_session_answers_a_permission_and_resumes_its_stream() {
    let Some((driver, browser)) = browser_tools() else {
        return;
    };
    let script = Script::new()
        .then(Turn::tool_use(
            "Bash",
            json!({"command": "touch console-made.txt && echo permitted"}),
        ))
        .then(Turn::from_fn(|request| {
            let output = request.tool_results().last().map(|r| r.text.clone());
            Turn::text(format!("tool said {}", output.unwrap_or_default().trim()))
        }))
        .then(Turn::text("Back after the drop."))
        .then(Turn::text("task done"))
        .then(Turn::text("api task done"));
    let world = World::start(script).await;
    let server = TestServer::start_with(&world, ServerConfig::default(), |builder| {
        builder.auth(AuthConfig::new().token(TOKEN))
    })
    .await
    .with_bearer(TOKEN);
    let base = server.base.clone();

    let Browser { client, _driver } = start_browser(&driver, &browser).await;
    client.goto(&format!("{base}/")).await.unwrap();
    assert_eq!(client.title().await.unwrap(), "Agent server console");

    // Without the token the API refuses and the page asks for it; typed once, the tab keeps it.
    until(
        &client,
        "return document.getElementById('token-state').textContent.includes('wants a token');",
        "the page to ask for a token",
    )
    .await;
    client
        .find(Locator::Id("token"))
        .await
        .unwrap()
        .send_keys(TOKEN)
        .await
        .unwrap();
    client
        .find(Locator::Css("#token-form button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let kept = client
        .execute(
            "return sessionStorage.getItem('agent-console-token');",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(kept, TOKEN);

    // Every form field has a label (a screen reader and the keyboard can find it).
    let unlabeled = client
        .execute(
            "return [...document.querySelectorAll('input, textarea, select')].filter(e => !e.labels.length).map(e => e.id);",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(unlabeled, json!([]), "fields without a label");

    // A new session from the page, in the permission mode that asks here.
    let mode = client.find(Locator::Id("permission-mode")).await.unwrap();
    assert_eq!(
        mode.prop("value").await.unwrap().as_deref(),
        Some("default")
    );
    client
        .find(Locator::Id("create-session"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let id = until(
        &client,
        "return window.agentConsole.connected && window.agentConsole.sessionId;",
        "the new session's stream",
    )
    .await;
    let id = id.as_str().unwrap().to_owned();
    until(
        &client,
        &format!("return !!document.querySelector('#sessions button[data-session=\"{id}\"]');"),
        "the session in the list",
    )
    .await;

    // Enter sends the message; the model asks for Bash and the page asks the person.
    client
        .find(Locator::Id("message"))
        .await
        .unwrap()
        .send_keys(&format!("run it{ENTER}"))
        .await
        .unwrap();
    until(
        &client,
        "return !!document.querySelector('.ev-permission_request button.allow');",
        "the permission request",
    )
    .await;
    let card = client
        .find(Locator::Css(".ev-permission_request"))
        .await
        .unwrap();
    assert!(
        card.text()
            .await
            .unwrap()
            .contains("Permission request · Bash")
    );
    let input = card.find(Locator::Css("textarea")).await.unwrap();
    let shown: Value = serde_json::from_str(&input.prop("value").await.unwrap().unwrap()).unwrap();
    assert_eq!(shown["command"], "touch console-made.txt && echo permitted");
    let user_text = client
        .find(Locator::Css(".ev-user_message"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(user_text.contains("run it"), "{user_text}");
    screenshot(&client, "permission-request").await;

    // Allow it: the tool runs, its result and the answer stream in, the cost updates.
    card.find(Locator::Css("button.allow"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until(
        &client,
        "return !!document.querySelector('.ev-turn_complete');",
        "the turn to complete",
    )
    .await;
    let text_of = |css: &'static str| {
        let client = client.clone();
        async move {
            client
                .find(Locator::Css(css))
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    assert!(
        text_of(".ev-permission_request .resolution")
            .await
            .starts_with("Allowed")
    );
    assert!(text_of(".ev-tool_use").await.contains("Tool call · Bash"));
    assert!(text_of(".ev-tool_result").await.contains("permitted"));
    assert!(
        text_of(".ev-assistant_text")
            .await
            .contains("tool said permitted")
    );
    assert!(world.env.cwd().join("console-made.txt").exists());

    let (_, session) = server.get(&format!("/v1/sessions/{id}")).await;
    assert_eq!(session["turns"], 1, "{session}");
    assert!(session["usage"]["output_tokens"].as_u64().unwrap() > 0);
    let cost = format!("${:.4}", session["usage"]["cost_usd"].as_f64().unwrap());
    let usage_shown = until(
        &client,
        &format!(
            "const t = document.getElementById('chat-usage').textContent; \
             return t.includes('1 turns') && t.includes('{cost}') && t;"
        ),
        "the session's updated usage and cost in the chat header",
    )
    .await;
    assert!(
        usage_shown
            .as_str()
            .unwrap()
            .contains(&format!("{} out", session["usage"]["output_tokens"])),
        "{usage_shown}"
    );
    screenshot(&client, "chat-tool-result").await;

    // The stream drops (as on a network failure); the next turn runs meanwhile,
    // and the page resumes after the last event it showed, with nothing twice.
    let last_before = until(&client, "return window.agentConsole.lastSeq;", "a last seq").await;
    client
        .execute("window.agentConsole.dropConnection();", vec![])
        .await
        .unwrap();
    assert!(
        text_of("#stream-state").await.contains("connection lost"),
        "the page says the stream is down"
    );
    client
        .find(Locator::Id("message"))
        .await
        .unwrap()
        .send_keys(&format!("again{ENTER}"))
        .await
        .unwrap();
    until(
        &client,
        "return document.querySelectorAll('.ev-turn_complete').length === 2 && window.agentConsole.connected;",
        "the second turn after the reconnect",
    )
    .await;
    let connections = client
        .execute("return window.agentConsole.connections;", vec![])
        .await
        .unwrap();
    assert_eq!(
        connections,
        json!([
            format!("/v1/sessions/{id}/events?after=0"),
            format!("/v1/sessions/{id}/events?after={last_before}"),
        ])
    );
    // Once the session is idle, the page has caught up with the whole log.
    let session_is_idle = || async {
        let (_, session) = server.get(&format!("/v1/sessions/{id}")).await;
        session["status"] == "idle" && session["turns"] == 2
    };
    let started = Instant::now();
    while !session_is_idle().await {
        assert!(started.elapsed() < PATIENCE, "the session goes idle");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let shown = page_events(&client).await;
    let last = shown.last().unwrap().0;
    let held = server_events(&server, &id, last).await;
    assert_eq!(shown, held, "the page shows the log exactly once, in order");
    let answers = client
        .execute(
            "return [...document.querySelectorAll('.ev-assistant_text .text')].map(e => e.textContent);",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        answers,
        json!(["tool said permitted", "Back after the drop."])
    );
    screenshot(&client, "chat-resumed").await;

    // A task from the page: it runs in a new session, which the page opens and lists.
    client
        .find(Locator::Id("task-prompt"))
        .await
        .unwrap()
        .send_keys("do the task")
        .await
        .unwrap();
    client
        .find(Locator::Css("#new-task button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until(
        &client,
        "return [...document.querySelectorAll('#tasks button')].some(b => b.textContent.includes('completed') && b.textContent.includes('task done'));",
        "the task to complete in the list",
    )
    .await;
    assert_ne!(
        until(
            &client,
            "return window.agentConsole.sessionId;",
            "a session"
        )
        .await,
        json!(id),
        "the task's session is open"
    );
    // A task started elsewhere (through the API) is listed too.
    let (status, created) = server
        .post(
            "/v1/tasks",
            json!({"task_id": "from-the-api", "prompt": "elsewhere"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    until(
        &client,
        "return [...document.querySelectorAll('#tasks button')].some(b => b.dataset.task === 'from-the-api' && b.textContent.includes('completed') && b.textContent.includes('api task done'));",
        "the API's task in the list",
    )
    .await;
    screenshot(&client, "sessions-and-tasks").await;

    // A phone-sized window: one column, nothing wider than the screen.
    client.set_window_size(390, 844).await.unwrap();
    let started = Instant::now();
    loop {
        let (width, scroll, widest) = serde_json::from_value::<(u64, u64, Value)>(
            client
                .execute(
                    "return [window.innerWidth, document.documentElement.scrollWidth, \
                     [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1).map(e => e.tagName + '#' + e.id + '.' + e.className).slice(0, 5)];",
                    vec![],
                )
                .await
                .unwrap(),
        )
        .unwrap();
        if width <= 400 && scroll <= width {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the narrow page scrolls sideways: {width} px wide, {scroll} px of content; too wide: {widest}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    screenshot(&client, "narrow").await;

    client.close().await.unwrap();
}
