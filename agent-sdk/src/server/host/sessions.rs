//! Sessions: create, load (after a restart), start their CLI, list, close.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::permissions::Permissions;
use super::{
    Host, LeaseState, LiveSession, SessionSpec, db_error, draining, lock, new_id, not_found,
    supervisor_error,
};
use crate::options::AgentOptions;
use crate::server::auth::Principal;
use crate::server::db::{SessionFilter, SessionRecord, SessionStatus, Usage};
use crate::server::error::ApiError;
use crate::server::events::{EventKind, EventLog, now_millis};
use crate::server::workdir::tenant_workdir;
use crate::store::SessionKey;

/// The stored spec: the request and the caller, enough to start the session again.
fn stored_spec(spec: &SessionSpec, principal: &Principal) -> Value {
    json!({"request": spec, "principal": principal})
}

/// The working directory a session's CLI ran in (stored when it first started).
fn stored_cwd(record: &SessionRecord) -> Option<std::path::PathBuf> {
    record
        .spec
        .get("cwd")
        .and_then(Value::as_str)
        .map(std::path::PathBuf::from)
}

/// The session store's key of a working directory (as the CLI names its project directory).
fn project_key(cwd: &std::path::Path) -> String {
    let files = crate::sessions::SessionFiles::new(std::path::PathBuf::new());
    crate::store::resume::project_key_of(&files.project_dir(cwd))
}

fn workdir_error(message: String) -> ApiError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "workdir_error", message)
}

fn status_name(status: SessionStatus) -> Value {
    serde_json::to_value(status).unwrap_or(Value::Null)
}

impl Host {
    /// Creates a session record, its log, and starts its CLI.
    pub(crate) async fn create_session(
        &self,
        principal: &Principal,
        mut spec: SessionSpec,
    ) -> Result<SessionRecord, ApiError> {
        if self.is_draining() {
            return Err(draining());
        }
        // A user's token decides who the session belongs to, not the body.
        if principal.user.is_some() {
            spec.user = principal.user.clone();
            spec.tenant = principal.tenant.clone();
        }
        self.check_user_sessions(principal, &spec).await?;
        let now = now_millis();
        let record = SessionRecord {
            id: new_id("ses"),
            user: spec.user.clone(),
            tenant: spec.tenant.clone(),
            status: SessionStatus::Starting,
            spec: stored_spec(&spec, principal),
            metadata: spec.metadata.clone().unwrap_or(Value::Null),
            claude_session_id: None,
            turns: 0,
            usage: Usage::default(),
            cli_cost: Default::default(),
            created_at: now,
            last_activity: now,
        };
        self.db.insert_session(&record).await.map_err(db_error)?;
        let (until, expires_at) = self.lease_deadline();
        let lease = self
            .db
            .take_lease(&record.id, 0, &self.host_id, &self.address, expires_at)
            .await
            .map_err(db_error)?
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::CONFLICT,
                    "session_exists",
                    "a session with this id is owned already",
                )
            })?;
        let live = self.register(
            record.clone(),
            principal.clone(),
            spec,
            0,
            (lease.epoch, until),
        );
        live.log.emit(
            EventKind::Status,
            json!({"status": status_name(SessionStatus::Starting)}),
        );
        if let Err(err) = self.start_cli(&live).await {
            self.forget(&live.id);
            let _ = self.db.delete_session(&live.id).await;
            return Err(err);
        }
        self.metrics.session_created();
        tracing::info!(session_id = %record.id, "session created");
        self.webhook(
            record.tenant.as_deref(),
            "session.created",
            json!({"session_id": record.id, "user": record.user, "tenant": record.tenant}),
        )
        .await;
        Ok(record)
    }

    /// 429 when the session's user already holds their tier's `max_sessions`
    /// open (not closed, not failed) sessions.
    async fn check_user_sessions(
        &self,
        principal: &Principal,
        spec: &SessionSpec,
    ) -> Result<(), ApiError> {
        let tier = self.tier(principal)?;
        let (Some(max), Some(user)) = (tier.max_sessions, spec.user.as_ref()) else {
            return Ok(());
        };
        // Users are named per tenant: the same name in another tenant (or in
        // none) is another user, so the tenant must match exactly.
        let filter = SessionFilter {
            user: Some(user.clone()),
            tenant: spec.tenant.clone(),
            ..SessionFilter::default()
        };
        let open = self
            .list_sessions(&filter)
            .await?
            .iter()
            .filter(|r| r.tenant == spec.tenant)
            .filter(|r| !matches!(r.status, SessionStatus::Closed | SessionStatus::Failed))
            .count();
        if open >= max as usize {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_sessions",
                format!(
                    "user {user:?} holds {open} sessions, the most their tier allows; close one first"
                ),
            ));
        }
        Ok(())
    }

    /// Makes a session live in this process under its lease `(epoch, until)`.
    pub(super) fn register(
        &self,
        record: SessionRecord,
        principal: Principal,
        spec: SessionSpec,
        last_seq: u64,
        (epoch, until): (u64, std::time::Instant),
    ) -> Arc<LiveSession> {
        let id = record.id.clone();
        let turns = record.turns;
        let log = Arc::new(EventLog::new(
            id.clone(),
            last_seq,
            epoch,
            self.config.log_limits(),
            self.writer.clone(),
        ));
        let live = Arc::new(LiveSession {
            id: id.clone(),
            log,
            permissions: Arc::new(Permissions::default()),
            principal,
            spec,
            record: Mutex::new(record),
            turns_sent: AtomicU64::new(turns),
            active_turns: AtomicUsize::new(0),
            cli_process: Mutex::new(None),
            start: tokio::sync::Mutex::new(()),
            epoch,
            lease: Arc::new(super::LeaseHold::new(until)),
            watchers: AtomicUsize::new(0),
            pin: Mutex::new(None),
        });
        lock(&self.sessions).insert(id, live.clone());
        live
    }

    pub(super) fn forget(&self, id: &str) {
        lock(&self.sessions).remove(id);
    }

    /// Starts the session's CLI in the supervisor if it has none there
    /// (new, or loaded after a restart: then it resumes the conversation).
    pub(crate) async fn start_cli(&self, live: &Arc<LiveSession>) -> Result<(), ApiError> {
        let _starting = live.start.lock().await;
        if self.supervisor.session(&live.id).is_some() {
            return Ok(());
        }
        let resume = live.record().claude_session_id;
        let mut options = self.session_options(live, resume.as_deref())?;
        if let Some(session_id) = &resume {
            self.resume_where_found(live, session_id, &mut options)
                .await?;
        }
        // Where it runs is remembered: a resume after a restart runs there again.
        if let (None, Some(cwd)) = (stored_cwd(&live.record()), &options.cwd) {
            let cwd = cwd.to_string_lossy().into_owned();
            update_record(live, self.db.as_ref(), |record| {
                if let Some(spec) = record.spec.as_object_mut() {
                    spec.insert("cwd".into(), Value::String(cwd));
                }
            })
            .await;
        }
        let handle = self
            .supervisor
            .start_session(live.id.clone(), options)
            .await
            .map_err(supervisor_error)?;
        // Its new supervised session counts its CLI processes from one again.
        *lock(&live.cli_process) = None;
        // Clients that were already streaming keep this CLI from idle eviction too.
        live.pin_if_watched(&self.supervisor);
        // Tell the clients once the CLI is up (or failed), without holding the request.
        let live = live.clone();
        let db = self.db.clone();
        tokio::spawn(async move {
            match handle.ready().await {
                Ok(()) => {
                    if live.active_turns.load(Ordering::Acquire) == 0 {
                        set_status(&live, db.as_ref(), SessionStatus::Idle).await;
                    }
                }
                // Once, whether this or the supervisor's give-up
                // (`supervision.rs`) tells it first.
                Err(err) => {
                    let failed =
                        set_status_when(&live, db.as_ref(), SessionStatus::Failed, |record| {
                            !matches!(record.status, SessionStatus::Closed | SessionStatus::Failed)
                        })
                        .await;
                    if failed {
                        live.log.emit(
                            EventKind::Error,
                            json!({"code": "cli_failed", "message": err.to_string()}),
                        );
                    }
                }
            }
        });
        self.update_gauges();
        Ok(())
    }

    fn session_options(
        &self,
        live: &LiveSession,
        resume: Option<&str>,
    ) -> Result<AgentOptions, ApiError> {
        let spec = &live.spec;
        let mut builder = (self.options)(spec, &live.principal);
        if let Some(prompt) = &spec.system_prompt {
            builder = builder.system_prompt(prompt.clone());
        }
        if let Some(model) = &spec.model {
            builder = builder.model(model.clone());
        }
        // The tier caps what the request asks for.
        let tier = self.tier(&live.principal)?;
        let max_turns = match (spec.max_turns, tier.max_turns) {
            (Some(asked), Some(cap)) => Some(asked.min(cap)),
            (asked, cap) => asked.or(cap),
        };
        if let Some(turns) = max_turns {
            builder = builder.max_turns(turns);
        }
        if let Some(tokens) = tier.max_thinking_tokens {
            builder = builder.thinking(crate::options::Thinking::enabled(tokens));
        }
        if let Some(tools) = &spec.allowed_tools {
            builder = builder.allowed_tools(tools.clone());
        }
        if let Some(mode) = spec.permission_mode {
            builder = builder.permission_mode(mode);
        }
        if let Some(path) = &self.config.cli_path {
            builder = builder.cli_path(path.clone());
        }
        for (key, value) in &self.config.cli_env {
            builder = builder.env(key.clone(), value.clone());
        }
        if let Some(id) = resume {
            builder = builder.resume(id.to_owned());
        }
        let permissions = live.permissions.clone();
        let log = live.log.clone();
        let timeout = self.config.permission_timeout;
        let metrics = self.metrics.clone();
        builder = builder
            .can_use_tool(move |request| {
                permissions
                    .clone()
                    .ask(log.clone(), request, timeout, metrics.clone())
            })
            .session_store(self.leased_store(live));
        let mut options = builder.build().map_err(|err| {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_options", err.to_string())
        })?;
        if let Some(root) = &self.config.workdir_root {
            let record = live.record();
            options.cwd = Some(tenant_workdir(
                root,
                record.tenant.as_deref().unwrap_or("default"),
                record.user.as_deref().unwrap_or("default"),
                spec.cwd.as_deref(),
            )?);
        } else if spec.cwd.is_some() {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_workdir",
                "this server takes no cwd (it has no work-dir root)",
            ));
        }
        if options.cwd.is_none() {
            options.cwd = self.config.default_cwd.clone();
        }
        Ok(options)
    }

    /// Where a resumed CLI runs. The session store keys a transcript by the
    /// directory the session ran in, so a resumed CLI runs there again when
    /// it still exists, or lies under the work-dir root (made again: it is
    /// ours). Otherwise (a scratch directory of an earlier process, such as
    /// the offline model's, is never made again) it runs in this process's
    /// directory, and the transcript, with its subagents' transcripts, is
    /// copied in the store to that key first.
    async fn resume_where_found(
        &self,
        live: &LiveSession,
        session_id: &str,
        options: &mut AgentOptions,
    ) -> Result<(), ApiError> {
        let Some(ran_in) = stored_cwd(&live.record()) else {
            return Ok(());
        };
        let ours = self
            .config
            .workdir_root
            .as_ref()
            .is_some_and(|root| ran_in.starts_with(root));
        if ran_in.is_dir() || ours {
            std::fs::create_dir_all(&ran_in).map_err(|err| {
                workdir_error(format!(
                    "cannot make the session's directory {}: {err}",
                    ran_in.display()
                ))
            })?;
            options.cwd = Some(ran_in);
            return Ok(());
        }
        let runs_in = options.effective_cwd();
        let key = |cwd: &std::path::Path| SessionKey::new(project_key(cwd), session_id);
        let (from, to) = (key(&ran_in), key(&runs_in));
        let store = self.db.session_store();
        let store_error = |err: crate::store::StoreError| {
            workdir_error(format!("cannot move the session's transcript: {err}"))
        };
        if from != to && store.load(&to).await.map_err(store_error)?.is_none() {
            // Its subagents' transcripts first: the main one marks the move done
            // (one a failed move copied already is not copied twice).
            for subpath in store.list_subkeys(&from).await.map_err(store_error)? {
                let (from, to) = (from.subkey(subpath.clone()), to.subkey(subpath));
                if store.load(&to).await.map_err(store_error)?.is_none() {
                    let entries = store.load(&from).await.map_err(store_error)?;
                    store
                        .append(&to, entries.unwrap_or_default())
                        .await
                        .map_err(store_error)?;
                }
            }
            let entries = store.load(&from).await.map_err(store_error)?;
            store
                .append(&to, entries.unwrap_or_default())
                .await
                .map_err(store_error)?;
        }
        let runs_in = runs_in.to_string_lossy().into_owned();
        update_record(live, self.db.as_ref(), |record| {
            if let Some(spec) = record.spec.as_object_mut() {
                spec.insert("cwd".into(), Value::String(runs_in));
            }
        })
        .await;
        Ok(())
    }

    /// One session's record.
    pub(crate) async fn get_session(&self, id: &str) -> Result<SessionRecord, ApiError> {
        if let Some(live) = lock(&self.sessions).get(id).cloned() {
            return Ok(live.record());
        }
        self.db
            .get_session(id)
            .await
            .map_err(db_error)?
            .ok_or_else(|| not_found("session", id))
    }

    /// Sessions matching the filter, the live ones with their current record.
    pub(crate) async fn list_sessions(
        &self,
        filter: &SessionFilter,
    ) -> Result<Vec<SessionRecord>, ApiError> {
        let stored = self.db.list_sessions(filter).await.map_err(db_error)?;
        let sessions = lock(&self.sessions);
        Ok(stored
            .into_iter()
            .map(|record| match sessions.get(&record.id) {
                Some(live) => live.record(),
                None => record,
            })
            .filter(|record| filter.status.is_none_or(|status| status == record.status))
            .collect())
    }

    /// Closes a session: its CLI stops after the running turn, messages get 409 from now on.
    pub(crate) async fn close_session(&self, id: &str) -> Result<(), ApiError> {
        let live = self.session(id).await?;
        match self.supervisor.terminate_session(&live.id).await {
            Ok(()) | Err(crate::supervisor::SupervisorError::NoSuchSession) => {}
            Err(err) => return Err(supervisor_error(err)),
        }
        set_status(&live, self.db.as_ref(), SessionStatus::Closed).await;
        self.writer.flush().await;
        // Subscribers' streams end when the log goes.
        self.forget(id);
        self.release(&live).await;
        self.update_gauges();
        Ok(())
    }

    /// Marks sessions and tasks a previous process left running as paused /
    /// interrupted; those another live host owns are left alone.
    pub(crate) async fn recover(&self) -> Result<(), crate::server::db::DbError> {
        let sessions = self.db.list_sessions(&SessionFilter::default()).await?;
        for mut record in sessions {
            if !matches!(
                record.status,
                SessionStatus::Starting | SessionStatus::Idle | SessionStatus::Running
            ) {
                continue;
            }
            let LeaseState::Free { epoch } = self.lease_state(&record.id).await? else {
                continue;
            };
            record.status = SessionStatus::Paused;
            // Under the lease read now: a host that takes the session
            // meanwhile raises the epoch, and its record is not overwritten.
            let updated = match epoch {
                Some(epoch) => self.db.update_session_fenced(epoch, &record).await,
                None => self.db.update_session(&record).await,
            };
            match updated {
                Ok(_) | Err(crate::server::db::DbError::Fenced { .. }) => {}
                Err(err) => return Err(err),
            }
        }
        self.recover_tasks().await
    }

    /// Drain: refuse new work, give running turns the window, then pause every session.
    pub(crate) async fn drain(&self) {
        self.draining.store(true, Ordering::Release);
        let deadline = tokio::time::Instant::now() + self.config.drain_window;
        while self.running_turns() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let live: Vec<Arc<LiveSession>> = lock(&self.sessions).values().cloned().collect();
        for session in &live {
            if let Some(handle) = self.supervisor.session(&session.id) {
                let _ = handle.interrupt().await;
            }
        }
        for session in &live {
            let _ = self.supervisor.terminate_session(&session.id).await;
            if session.record().status != SessionStatus::Closed {
                set_status(session, self.db.as_ref(), SessionStatus::Paused).await;
            }
        }
        let ids: Vec<(&str, u64)> = live.iter().map(|s| (s.id.as_str(), s.epoch)).collect();
        self.interrupt_running_tasks("the server shut down", &ids)
            .await;
        self.writer.flush().await;
        // Another host may take them at once: their turns are over. Forgotten
        // first, so the heartbeat does not renew a released lease.
        for session in &live {
            self.forget(&session.id);
            self.release(session).await;
        }
        tracing::info!(sessions = live.len(), "drained: every session is paused");
    }
}

/// Sets a session's status: its record, an event, the database.
pub(crate) async fn set_status(
    live: &LiveSession,
    db: &dyn crate::server::db::ServerDb,
    status: SessionStatus,
) {
    set_status_when(live, db, status, |_| true).await;
}

/// Sets a session's status as [`set_status`] does if `when` holds for its
/// record (checked under the record's lock); whether it changed.
pub(crate) async fn set_status_when(
    live: &LiveSession,
    db: &dyn crate::server::db::ServerDb,
    status: SessionStatus,
    when: impl FnOnce(&SessionRecord) -> bool,
) -> bool {
    let record = {
        let mut record = lock(&live.record);
        if record.status == status || !when(&record) {
            return false;
        }
        record.status = status;
        record.last_activity = now_millis();
        record.clone()
    };
    live.log
        .emit(EventKind::Status, json!({"status": status_name(status)}));
    store_record(live, db, &record).await;
    true
}

/// Writes a session's record under its lease epoch; a refusal (another host
/// owns it now) makes this host drop it.
async fn store_record(
    live: &LiveSession,
    db: &dyn crate::server::db::ServerDb,
    record: &SessionRecord,
) {
    match db.update_session_fenced(live.epoch, record).await {
        Ok(_) => {}
        Err(err @ crate::server::db::DbError::Fenced { .. }) => {
            tracing::warn!(%err, session_id = %live.id, "the session moved to another host");
            live.log.report_lost();
        }
        Err(err) => {
            tracing::warn!(%err, session_id = %live.id, "could not store the session");
        }
    }
}

/// Applies a change to a session's record and stores it.
pub(crate) async fn update_record(
    live: &LiveSession,
    db: &dyn crate::server::db::ServerDb,
    change: impl FnOnce(&mut SessionRecord),
) -> SessionRecord {
    let record = {
        let mut record = lock(&live.record);
        change(&mut record);
        record.last_activity = now_millis();
        record.clone()
    };
    store_record(live, db, &record).await;
    record
}
