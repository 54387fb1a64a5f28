//! The session store conformance suite: the official SDKs' 14 contracts of
//! [`SessionStore`], for proving a store of your own.

use std::collections::BTreeSet;
use std::future::Future;

use serde_json::{Value, json};

use crate::store::{SessionKey, SessionStore, StoreEntry, StoreError, fold_session_summary};

/// An optional [`SessionStore`] method the suite can leave out.
///
/// ```
/// use agent_sdk::store::InMemorySessionStore;
/// use agent_sdk::testing::{OptionalMethod, session_store_conformance};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// // Contracts 9-11 (delete) are not run.
/// session_store_conformance(|| async { Ok(InMemorySessionStore::new()) }, &[OptionalMethod::Delete]).await?;
/// # Ok::<(), agent_sdk::store::StoreError>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionalMethod {
    /// [`SessionStore::list_sessions`].
    ListSessions,
    /// [`SessionStore::list_session_summaries`].
    ListSessionSummaries,
    /// [`SessionStore::delete`].
    Delete,
    /// [`SessionStore::list_subkeys`].
    ListSubkeys,
}

/// Asserts the 14 contracts of [`SessionStore`] (those of the official
/// SDKs' conformance suite) against stores made by `make_store`.
///
/// `make_store` is called once per contract and must return an empty store
/// each time (a new temporary file, a fresh schema, ...). Contracts of an
/// optional method are skipped when it is named in `skip` or when the store
/// answers it with [`StoreError::Unsupported`]. A broken contract panics with
/// its number and what differed (this is a test assertion); a store error is
/// returned.
///
/// ```
/// use agent_sdk::store::InMemorySessionStore;
/// use agent_sdk::testing::session_store_conformance;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// session_store_conformance(|| async { Ok(InMemorySessionStore::new()) }, &[]).await?;
/// # Ok::<(), agent_sdk::store::StoreError>(())
/// # }).unwrap();
/// ```
pub async fn session_store_conformance<S, F, Fut>(
    mut make_store: F,
    skip: &[OptionalMethod],
) -> Result<(), StoreError>
where
    S: SessionStore,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<S, StoreError>>,
{
    let probe = make_store().await?;
    let main = key("proj", "sess");
    let supported = |method: OptionalMethod, answer: Result<(), StoreError>| match answer {
        _ if skip.contains(&method) => Ok(false),
        Err(StoreError::Unsupported { .. }) => Ok(false),
        Err(other) => Err(other),
        Ok(()) => Ok(true),
    };
    let has_list = supported(
        OptionalMethod::ListSessions,
        probe.list_sessions("proj").await.map(drop),
    )?;
    let has_summaries = supported(
        OptionalMethod::ListSessionSummaries,
        probe.list_session_summaries("proj").await.map(drop),
    )?;
    let has_delete = supported(
        OptionalMethod::Delete,
        probe.delete(&key("proj", "probe")).await,
    )?;
    let has_subkeys = supported(
        OptionalMethod::ListSubkeys,
        probe.list_subkeys(&main).await.map(drop),
    )?;
    drop(probe);

    // 1. Append then load gives the same entries in the same order.
    let store = make_store().await?;
    store
        .append(
            &main,
            vec![
                e(json!({"uuid": "b", "n": 1})),
                e(json!({"uuid": "a", "n": 2})),
            ],
        )
        .await?;
    assert_eq!(
        store.load(&main).await?,
        Some(vec![
            e(json!({"uuid": "b", "n": 1})),
            e(json!({"uuid": "a", "n": 2}))
        ]),
        "contract 1: append then load returns the entries in order"
    );

    // 2. An unknown key loads as None.
    let store = make_store().await?;
    assert_eq!(
        store.load(&key("proj", "nope")).await?,
        None,
        "contract 2: unknown session"
    );
    store
        .append(&main, vec![e(json!({"uuid": "x", "n": 1}))])
        .await?;
    assert_eq!(
        store.load(&main.subkey("nope")).await?,
        None,
        "contract 2: unknown subpath"
    );

    // 3. Several appends keep call order.
    let store = make_store().await?;
    store
        .append(&main, vec![e(json!({"uuid": "z", "n": 1}))])
        .await?;
    store
        .append(
            &main,
            vec![
                e(json!({"uuid": "a", "n": 2})),
                e(json!({"uuid": "m", "n": 3})),
            ],
        )
        .await?;
    store
        .append(&main, vec![e(json!({"uuid": "b", "n": 4}))])
        .await?;
    let expected =
        [("z", 1), ("a", 2), ("m", 3), ("b", 4)].map(|(u, n)| e(json!({"uuid": u, "n": n})));
    assert_eq!(
        store.load(&main).await?,
        Some(expected.to_vec()),
        "contract 3: call order"
    );

    // 4. An empty append changes nothing.
    let store = make_store().await?;
    store
        .append(&main, vec![e(json!({"uuid": "a", "n": 1}))])
        .await?;
    store.append(&main, Vec::new()).await?;
    assert_eq!(
        store.load(&main).await?,
        Some(vec![e(json!({"uuid": "a", "n": 1}))]),
        "contract 4: empty append"
    );

    // 5. A subpath is stored apart from the main transcript.
    let store = make_store().await?;
    let agent1 = main.subkey("subagents/agent-1");
    store
        .append(&main, vec![e(json!({"uuid": "m", "n": 1}))])
        .await?;
    store
        .append(&agent1, vec![e(json!({"uuid": "s", "n": 1}))])
        .await?;
    assert_eq!(
        store.load(&main).await?,
        Some(vec![e(json!({"uuid": "m", "n": 1}))]),
        "contract 5: main"
    );
    assert_eq!(
        store.load(&agent1).await?,
        Some(vec![e(json!({"uuid": "s", "n": 1}))]),
        "contract 5: subpath"
    );

    // 6. Projects are isolated.
    let store = make_store().await?;
    store
        .append(&key("A", "s1"), vec![e(json!({"from": "A"}))])
        .await?;
    store
        .append(&key("B", "s1"), vec![e(json!({"from": "B"}))])
        .await?;
    assert_eq!(
        store.load(&key("A", "s1")).await?,
        Some(vec![e(json!({"from": "A"}))]),
        "contract 6: A"
    );
    assert_eq!(
        store.load(&key("B", "s1")).await?,
        Some(vec![e(json!({"from": "B"}))]),
        "contract 6: B"
    );
    if has_list {
        assert_eq!(
            store.list_sessions("A").await?.len(),
            1,
            "contract 6: list A"
        );
        assert_eq!(
            store.list_sessions("B").await?.len(),
            1,
            "contract 6: list B"
        );
    }

    if has_list {
        // 7. list_sessions gives a project's sessions with epoch-millisecond mtimes.
        let store = make_store().await?;
        for (project, id) in [("proj", "a"), ("proj", "b"), ("other", "c")] {
            store
                .append(&key(project, id), vec![e(json!({"n": 1}))])
                .await?;
        }
        let sessions = store.list_sessions("proj").await?;
        let ids: BTreeSet<_> = sessions.iter().map(|s| s.session_id.as_str()).collect();
        assert_eq!(
            ids,
            BTreeSet::from(["a", "b"]),
            "contract 7: the project's sessions"
        );
        assert!(
            sessions.iter().all(|s| s.mtime > 1_000_000_000_000),
            "contract 7: mtime in epoch ms: {sessions:?}"
        );
        assert!(
            store
                .list_sessions("never-appended-project")
                .await?
                .is_empty(),
            "contract 7: empty project"
        );

        // 8. list_sessions leaves subagent transcripts out.
        let store = make_store().await?;
        store
            .append(&key("proj", "main"), vec![e(json!({"n": 1}))])
            .await?;
        store
            .append(
                &key("proj", "main").subkey("subagents/agent-1"),
                vec![e(json!({"n": 1}))],
            )
            .await?;
        let ids: Vec<_> = store
            .list_sessions("proj")
            .await?
            .into_iter()
            .map(|s| s.session_id)
            .collect();
        assert_eq!(ids, ["main"], "contract 8: subpaths are not sessions");
    }

    if has_summaries {
        // 14. Summaries are the fold's output, kept verbatim, stamped with the store's clock.
        let store = make_store().await?;
        let session = key("proj", "summ-sess");
        store
            .append(
                &session,
                vec![
                    e(json!({"timestamp": "2024-01-01T00:00:00.000Z", "customTitle": "first"})),
                    e(json!({"timestamp": "2024-01-01T00:00:01.000Z"})),
                ],
            )
            .await?;
        store
            .append(
                &session,
                vec![e(
                    json!({"timestamp": "2024-01-01T00:00:02.000Z", "customTitle": "second"}),
                )],
            )
            .await?;
        store
            .append(
                &key("other", "elsewhere"),
                vec![e(json!({"timestamp": "2024-01-01T00:00:00.000Z"}))],
            )
            .await?;
        let summaries = store.list_session_summaries("proj").await?;
        assert_eq!(
            summaries.len(),
            1,
            "contract 14: one summary in the project: {summaries:?}"
        );
        let summary = &summaries[0];
        assert_eq!(summary.session_id, "summ-sess", "contract 14: session id");
        assert!(
            summary.mtime > 1_000_000_000_000,
            "contract 14: mtime in epoch ms"
        );
        assert_eq!(
            summary.data.get("custom_title"),
            Some(&json!("second")),
            "contract 14: data is the fold's"
        );
        if has_list {
            let listed = store.list_sessions("proj").await?;
            let listed = listed
                .iter()
                .find(|s| s.session_id == "summ-sess")
                .map(|s| s.mtime);
            assert!(
                listed.is_some_and(|mtime| summary.mtime >= mtime),
                "contract 14: the summary's mtime ({}) is not older than the session's ({listed:?})",
                summary.mtime
            );
        }
        let refolded = fold_session_summary(
            Some(summary),
            &session,
            &[e(json!({"timestamp": "2024-01-01T00:00:03.000Z"}))],
        );
        assert_eq!(
            refolded.session_id, "summ-sess",
            "contract 14: refold keeps the id"
        );
        assert_eq!(
            refolded.mtime, summary.mtime,
            "contract 14: refold keeps the mtime"
        );
        store
            .append(
                &session.subkey("subagents/agent-1"),
                vec![e(
                    json!({"timestamp": "2024-01-01T00:00:09.000Z", "customTitle": "subagent"}),
                )],
            )
            .await?;
        let after = store.list_session_summaries("proj").await?;
        assert_eq!(after.len(), 1, "contract 14: a subagent is not a session");
        assert_eq!(
            after[0].data, summary.data,
            "contract 14: a subagent's entries leave the summary alone"
        );
        assert!(
            store
                .list_session_summaries("never-appended-project")
                .await?
                .is_empty(),
            "contract 14: empty project"
        );
        if has_delete {
            store.delete(&session).await?;
            assert!(
                store.list_session_summaries("proj").await?.is_empty(),
                "contract 14: delete removes the summary"
            );
        }
    }

    if has_delete {
        // 9. A deleted session loads as None; deleting a session never written is fine.
        let store = make_store().await?;
        store.delete(&key("proj", "never-written")).await?;
        store.append(&main, vec![e(json!({"n": 1}))]).await?;
        store.delete(&main).await?;
        assert_eq!(store.load(&main).await?, None, "contract 9: deleted");

        // 10. Deleting a main transcript deletes its subkeys, nothing else.
        let store = make_store().await?;
        let agent2 = main.subkey("subagents/agent-2");
        let (other, other_project) = (key("proj", "sess2"), key("other-proj", "sess"));
        for k in [&main, &agent1, &agent2, &other, &other_project] {
            store.append(k, vec![e(json!({"n": 1}))]).await?;
        }
        store.delete(&main).await?;
        for k in [&main, &agent1, &agent2] {
            assert_eq!(
                store.load(k).await?,
                None,
                "contract 10: {k:?} deleted with its session"
            );
        }
        for k in [&other, &other_project] {
            assert_eq!(
                store.load(k).await?.map(|v| v.len()),
                Some(1),
                "contract 10: {k:?} kept"
            );
        }
        if has_subkeys {
            assert!(
                store.list_subkeys(&main).await?.is_empty(),
                "contract 10: no subkeys left"
            );
        }
        if has_list {
            let listed = store.list_sessions("proj").await?;
            assert!(
                listed.iter().all(|s| s.session_id != "sess"),
                "contract 10: not listed"
            );
        }

        // 11. Deleting a subkey deletes only it.
        let store = make_store().await?;
        for k in [&main, &agent1, &agent2] {
            store.append(k, vec![e(json!({"n": 1}))]).await?;
        }
        store.delete(&agent1).await?;
        assert_eq!(
            store.load(&agent1).await?,
            None,
            "contract 11: the subkey is deleted"
        );
        assert_eq!(
            store.load(&agent2).await?.map(|v| v.len()),
            Some(1),
            "contract 11: its sibling stays"
        );
        assert_eq!(
            store.load(&main).await?.map(|v| v.len()),
            Some(1),
            "contract 11: the session stays"
        );
        if has_subkeys {
            assert_eq!(
                store.list_subkeys(&main).await?,
                ["subagents/agent-2"],
                "contract 11: subkeys"
            );
        }
    }

    if has_subkeys {
        // 12. list_subkeys gives a session's subpaths.
        let store = make_store().await?;
        store.append(&main, vec![e(json!({"n": 1}))]).await?;
        store.append(&agent1, vec![e(json!({"n": 1}))]).await?;
        store
            .append(&main.subkey("subagents/agent-2"), vec![e(json!({"n": 1}))])
            .await?;
        store
            .append(
                &key("proj", "other-sess").subkey("subagents/agent-x"),
                vec![e(json!({"n": 1}))],
            )
            .await?;
        let subkeys: BTreeSet<_> = store.list_subkeys(&main).await?.into_iter().collect();
        let expected: BTreeSet<_> = ["subagents/agent-1", "subagents/agent-2"]
            .map(String::from)
            .into();
        assert_eq!(
            subkeys, expected,
            "contract 12: the session's subpaths only"
        );

        // 13. list_subkeys leaves the main transcript out.
        let store = make_store().await?;
        store.append(&main, vec![e(json!({"n": 1}))]).await?;
        assert!(
            store.list_subkeys(&main).await?.is_empty(),
            "contract 13: main is not a subkey"
        );
        assert!(
            store
                .list_subkeys(&key("proj", "never-appended"))
                .await?
                .is_empty(),
            "contract 13: unknown session"
        );
    }
    Ok(())
}

fn key(project: &str, session: &str) -> SessionKey {
    SessionKey::new(project, session)
}

/// A test entry: opaque to the store, `type` set as every real entry has.
fn e(fields: Value) -> StoreEntry {
    let mut entry = StoreEntry::new();
    entry.insert("type".into(), "x".into());
    if let Value::Object(fields) = fields {
        entry.extend(fields);
    }
    entry
}

/// The URL of the PostgreSQL server for tests, from `AGENT_SDK_TEST_POSTGRES_URL`
/// (`source .ci/postgres` starts a throwaway one and sets it).
///
/// `None`, with the reason printed, on a machine without one, so a developer's
/// `cargo test` skips the Postgres tests; with `CI` set a missing URL panics
/// instead: in CI a Postgres test never passes by skipping.
///
/// ```
/// if let Some(url) = agent_sdk::testing::test_postgres_url() {
///     assert!(url.starts_with("postgres"));
/// }
/// ```
pub fn test_postgres_url() -> Option<String> {
    match std::env::var("AGENT_SDK_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!("CI is set but AGENT_SDK_TEST_POSTGRES_URL is not: source .ci/postgres")
        }
        _ => {
            eprintln!(
                "skipped: no PostgreSQL (set AGENT_SDK_TEST_POSTGRES_URL, or `source .ci/postgres`)"
            );
            None
        }
    }
}
