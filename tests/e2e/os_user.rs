//! The `user` option: the real CLI run as another OS user, and an unknown
//! account refused with a typed error when connecting.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::Path;

use agent_sdk::testing::{Script, Turn};
use agent_sdk::{Client, Error, query};
use agent_sdk_e2e::{World, assistant_text, collect, last_result};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_user_is_a_typed_error_at_connect() {
    let world = World::start(Script::new().then(Turn::text("never asked"))).await;
    let options = world
        .options()
        .user("no-such-user-agent-sdk")
        .build()
        .unwrap();
    match Client::connect(options).await {
        Err(Error::UnknownUser { name }) => assert_eq!(name, "no-such-user-agent-sdk"),
        Err(other) => panic!("expected UnknownUser, got {other:?}"),
        Ok(_) => panic!("connected as a user that does not exist"),
    }
    assert!(world.env.api().requests().is_empty(), "no CLI ever ran");
}

/// Gives `path` and everything under it to `uid`/`gid`.
fn chown_tree(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap();
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            chown_tree(&entry.unwrap().path(), uid, gid);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_runs_as_the_configured_user() {
    // SAFETY: geteuid(2) is always safe.
    if unsafe { libc::geteuid() } != 0 {
        skip_or_fail("switching users needs root, and this test runs as another user");
        return;
    }
    // The CLI must be reachable by `nobody`: one under a private directory (a
    // 0700 home) is not, so then a copy in a world-readable directory runs.
    let installed = agent_sdk::testing::ensure_cli().await.unwrap();
    let (cli, _copy) = if nobody_can_run(&installed) {
        (installed, None)
    } else {
        let copy = tempfile::Builder::new()
            .prefix("agent-sdk-cli-")
            .tempdir()
            .unwrap();
        std::fs::set_permissions(copy.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let cli = copy.path().join("claude");
        std::fs::copy(std::fs::canonicalize(&installed).unwrap(), &cli).unwrap();
        std::fs::set_permissions(&cli, std::fs::Permissions::from_mode(0o755)).unwrap();
        (cli, Some(copy))
    };
    if !nobody_can_run(&cli) {
        skip_or_fail(&format!(
            "user nobody cannot run the CLI at {} (nor a copy in the temporary directory)",
            cli.display()
        ));
        return;
    }
    let world = World::start(
        Script::new()
            .then(Turn::tool_use(
                "Bash",
                serde_json::json!({"command": "id -un > whoami.txt; id -u >> whoami.txt", "description": "who am I"}),
            ))
            .then(Turn::text("Ran as someone else.")),
    )
    .await;
    // `nobody` must reach its scratch HOME and working directory.
    let (uid, gid) = (65534, 65534);
    let scratch = world.env.home().parent().unwrap();
    std::fs::set_permissions(scratch, std::fs::Permissions::from_mode(0o755)).unwrap();
    chown_tree(world.env.home(), uid, gid);
    chown_tree(world.env.cwd(), uid, gid);

    let options = world
        .options()
        .cli_path(&cli)
        .user("nobody")
        .allowed_tools(["Bash"])
        .build()
        .unwrap();
    let messages = collect(query("who are you?", options)).await;
    assert_eq!(last_result(&messages).subtype, "success", "{messages:#?}");
    assert_eq!(assistant_text(&messages), "Ran as someone else.");

    // The tool the CLI ran, ran as nobody.
    let whoami = std::fs::read_to_string(world.env.cwd().join("whoami.txt")).unwrap();
    assert_eq!(whoami, format!("nobody\n{uid}\n"));
    // And so did the CLI: its transcript belongs to nobody.
    let projects = world.env.home().join(".claude").join("projects");
    let transcript = walk(&projects)
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .unwrap_or_else(|| panic!("a transcript under {}", projects.display()));
    assert_eq!(std::fs::metadata(&transcript).unwrap().uid(), uid);
}

/// Whether `nobody` can start the CLI at `cli`.
fn nobody_can_run(cli: &Path) -> bool {
    std::process::Command::new(cli)
        .arg("--version")
        .uid(65534)
        .gid(65534)
        .output()
        .is_ok_and(|out| out.status.success())
}

/// On a developer machine a test that cannot run here says why and passes;
/// under CI (`CI` set) it fails, so a skipped test is never taken for a pass.
fn skip_or_fail(reason: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "cannot run under CI: {reason}"
    );
    eprintln!("skipped: {reason}");
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}
