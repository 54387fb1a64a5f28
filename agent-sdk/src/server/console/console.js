// The agent server's console: sessions, tasks and one chat at a time.
// API calls carry the token in a header; event streams use a signed ticket
// from POST /v1/tickets, so the token never appears in a URL.
"use strict";

const TOKEN_KEY = "agent-console-token";
// The newest tasks the list shows.
const MAX_TASKS_SHOWN = 50;
const RECONNECT_DELAYS_MS = [1000, 2000, 4000, 8000, 15000];
const POLL_MS = 3000;

const $ = (id) => document.getElementById(id);

const state = {
  token: sessionStorage.getItem(TOKEN_KEY) || "",
  sessionId: null,
  source: null,
  // The highest event seq shown: resuming asks for what came after it, and
  // anything at or below it is a duplicate.
  lastSeq: 0,
  failures: 0,
  reconnectTimer: null,
  // Every stream this page opened (the URL without its ticket), for people and tests.
  connections: [],
  permissionCards: new Map(),
  toolCards: new Map(),
};

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function api(method, path, body) {
  const headers = {};
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) {
    const error = (data && data.error) || {};
    if (response.status === 401) askForToken();
    throw new ApiError(response.status, error.code || "http_" + response.status,
      error.message || response.statusText);
  }
  return data;
}

function showNotice(message) {
  const notice = $("notice");
  notice.textContent = message;
  notice.hidden = !message;
}

function report(error) {
  showNotice(error instanceof ApiError ? `${error.message} (${error.code})` : String(error));
}

function askForToken() {
  $("token-state").textContent = "the server wants a token";
  $("token").focus();
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function money(usd) {
  return "$" + (Number(usd) || 0).toFixed(4);
}

function usageText(usage) {
  if (!usage) return "";
  return `${usage.input_tokens} in · ${usage.output_tokens} out · ${money(usage.cost_usd)}`;
}

// ---- the session and task lists -------------------------------------------

async function refreshSessions() {
  let listed;
  try {
    listed = await api("GET", "/v1/sessions");
  } catch (error) {
    report(error);
    return;
  }
  const list = $("sessions");
  const focused = document.activeElement && document.activeElement.dataset.session;
  list.replaceChildren();
  const sessions = listed.sessions.slice().sort((a, b) => b.created_at - a.created_at);
  for (const session of sessions) {
    const button = el("button", "session");
    button.type = "button";
    button.dataset.session = session.id;
    button.setAttribute("aria-current", String(session.id === state.sessionId));
    button.append(
      el("span", "id", session.id),
      el("span", `badge ${session.status}`, session.status),
      el("span", "meta", `${session.turns} turns · ${usageText(session.usage)}`),
    );
    button.addEventListener("click", () => openSession(session.id));
    const item = el("li");
    item.append(button);
    list.append(item);
    if (session.id === focused) button.focus();
    if (session.id === state.sessionId) showSessionHeader(session);
  }
  if (!sessions.length) list.append(el("li", "meta", "No sessions yet."));
}

function showSessionHeader(session) {
  $("chat-title").textContent = `Session ${session.id}`;
  $("chat-usage").textContent = `${session.status} · ${session.turns} turns · ${usageText(session.usage)}`;
}

// Every task the caller may see (as `GET /v1/tasks` lists them), newest first.
async function refreshTasks() {
  const list = $("tasks");
  let listed;
  try {
    listed = await api("GET", "/v1/tasks");
  } catch (error) {
    report(error);
    return;
  }
  const tasks = listed.tasks
    .slice()
    .sort((a, b) => b.created_at - a.created_at)
    .slice(0, MAX_TASKS_SHOWN);
  list.replaceChildren();
  for (const task of tasks) {
    const button = el("button", "task");
    button.type = "button";
    button.dataset.task = task.task_id;
    button.append(
      el("span", "id", task.task_id),
      el("span", `badge ${task.status}`, task.status),
      el("span", "meta", `${task.prompt}${task.result ? " → " + task.result : ""} · ${usageText(task.usage)}`),
    );
    button.addEventListener("click", () => openSession(task.session_id));
    const item = el("li");
    item.append(button);
    list.append(item);
  }
  if (!tasks.length) list.append(el("li", "meta", "No tasks yet."));
}

// ---- the chat: one session's event stream ----------------------------------

function setStream(text, kind) {
  const node = $("stream-state");
  node.textContent = text;
  node.className = "stream " + (kind || "");
}

function setChatEnabled(enabled) {
  for (const id of ["message", "send", "interrupt", "close-session", "reconnect"]) {
    $(id).disabled = !enabled;
  }
}

async function openSession(id) {
  disconnect();
  state.sessionId = id;
  state.lastSeq = 0;
  state.failures = 0;
  state.permissionCards.clear();
  state.toolCards.clear();
  $("events").replaceChildren();
  $("chat-title").textContent = `Session ${id}`;
  setChatEnabled(true);
  showNotice("");
  await connect();
  refreshSessions();
  $("message").focus();
}

function disconnect() {
  clearTimeout(state.reconnectTimer);
  state.reconnectTimer = null;
  if (state.source) {
    state.source.close();
    state.source = null;
  }
}

// Opens the stream after the last event shown (all of it for a new view).
async function connect() {
  disconnect();
  const id = state.sessionId;
  if (!id) return;
  setStream("connecting…");
  let ticket;
  try {
    ticket = await api("POST", "/v1/tickets", { session_id: id });
  } catch (error) {
    report(error);
    streamLost();
    return;
  }
  if (id !== state.sessionId) return;
  let path = `/v1/sessions/${encodeURIComponent(id)}/events?after=${state.lastSeq}`;
  if (state.failures > 0 && (await notRetained(`${path}&ticket=${encodeURIComponent(ticket.ticket)}`))) {
    // The server no longer holds what came after our last event: follow live events.
    showNotice(`Events after ${state.lastSeq} are no longer retained; showing new events only.`);
    path = `/v1/sessions/${encodeURIComponent(id)}/events?`;
  }
  if (id !== state.sessionId) return;
  state.connections.push(path);
  const source = new EventSource(`${path}&ticket=${encodeURIComponent(ticket.ticket)}`);
  state.source = source;
  source.onopen = () => {
    state.failures = 0;
    setStream(`live (after event ${state.lastSeq})`, "live");
  };
  // The browser's own retry would reuse an expired ticket: the page reconnects itself.
  source.onerror = () => {
    if (state.source === source) streamLost();
  };
  for (const kind of Object.keys(RENDER)) {
    source.addEventListener(kind, (message) => {
      if (state.source === source) receive(kind, message);
    });
  }
}

// EventSource hides a refusal's status: after a failure, ask once with fetch
// whether the position is gone (412) rather than the network.
async function notRetained(url) {
  const abort = new AbortController();
  try {
    const response = await fetch(url, { signal: abort.signal, headers: { Accept: "text/event-stream" } });
    return response.status === 412;
  } catch {
    return false;
  } finally {
    abort.abort();
  }
}

function streamLost() {
  disconnect();
  const delay = RECONNECT_DELAYS_MS[Math.min(state.failures, RECONNECT_DELAYS_MS.length - 1)];
  state.failures += 1;
  setStream(`connection lost; reconnecting in ${Math.round(delay / 1000)} s (after event ${state.lastSeq})`, "down");
  state.reconnectTimer = setTimeout(connect, delay);
}

function receive(kind, message) {
  const data = JSON.parse(message.data);
  if (!message.lastEventId) {
    // Not in the log (a slow subscriber was cut off): show it, then resume.
    append(-1, "error", data);
    streamLost();
    return;
  }
  const seq = Number(message.lastEventId);
  if (seq <= state.lastSeq) return;
  state.lastSeq = seq;
  append(seq, kind, data);
  if (kind === "turn_complete" || kind === "status") refreshSessions();
}

function append(seq, kind, data) {
  const item = el("li", "ev-" + kind);
  if (data.is_error) item.classList.add("is-error");
  item.dataset.seq = String(seq);
  item.dataset.kind = kind;
  item.append(...RENDER[kind](data));
  const list = $("events");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.append(item);
  if (atBottom) list.scrollTop = list.scrollHeight;
  return item;
}

function pre(value) {
  return el("pre", "", typeof value === "string" ? value : JSON.stringify(value, null, 2));
}

// How each event type looks; the stream subscribes to exactly these types.
const RENDER = {
  status: (d) => [el("span", "text", `status: ${d.status}`)],
  user_message: (d) => [el("span", "who", "You"), el("span", "text", d.text)],
  assistant_text: (d) => [el("span", "who", "Assistant"), el("span", "text", d.text)],
  tool_use: (d) => [el("span", "who", `Tool call · ${d.name}`), pre(d.input)],
  tool_result: (d) => [el("span", "who", d.is_error ? "Tool error" : "Tool result"), pre(d.content)],
  permission_request: (d) => permissionCard(d),
  permission_resolved: (d) => {
    resolveCard(d.correlation_id, d.behavior, d.by, d.message);
    return [el("span", "text",
      `permission ${d.behavior === "allow" ? "allowed" : "denied"} by ${d.by}${d.message ? ": " + d.message : ""}`)];
  },
  turn_complete: (d) => [el("span", "text",
    `turn ${d.turn} ${d.is_error ? "failed" : "complete"} · ${usageText(d.usage)} · ${d.duration_ms} ms`)],
  error: (d) => [el("span", "text", `error ${d.code}: ${d.message}`)],
};

// A permission request answered in the page: allow (with the input as
// shown, edited or not), or deny with a message the model sees.
function permissionCard(d) {
  const cid = d.correlation_id;
  const inputId = "perm-input-" + cid;
  const messageId = "perm-message-" + cid;
  const title = el("span", "who", `Permission request · ${d.tool_name}`);
  const inputLabel = el("label", "", "Tool input (JSON, editable)");
  inputLabel.htmlFor = inputId;
  const input = el("textarea");
  input.id = inputId;
  input.rows = 4;
  input.value = JSON.stringify(d.input, null, 2);
  const allow = el("button", "allow", "Allow");
  allow.type = "button";
  const messageLabel = el("label", "", "Deny message");
  messageLabel.htmlFor = messageId;
  const message = el("input");
  message.id = messageId;
  message.placeholder = "Why not (the model sees this)";
  const deny = el("button", "deny danger", "Deny");
  deny.type = "button";
  const denyBox = el("span", "deny-message");
  denyBox.append(messageLabel, message);
  const choices = el("div", "choices");
  choices.append(allow, denyBox, deny);
  const outcome = el("p", "resolution");
  outcome.setAttribute("role", "status");
  const card = { controls: [input, allow, message, deny], outcome };
  state.permissionCards.set(cid, card);

  allow.addEventListener("click", () => {
    let edited;
    try {
      edited = JSON.parse(input.value);
    } catch (error) {
      showNotice(`The tool input is not valid JSON: ${error.message}`);
      input.focus();
      return;
    }
    const changed = JSON.stringify(edited) !== JSON.stringify(d.input);
    answer(cid, changed ? { behavior: "allow", updated_input: edited } : { behavior: "allow" });
  });
  deny.addEventListener("click", () => {
    const text = message.value.trim();
    answer(cid, text ? { behavior: "deny", message: text } : { behavior: "deny" });
  });
  message.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      deny.click();
    }
  });
  // Offer the decision to the keyboard unless the person is typing somewhere.
  const typing = document.activeElement && /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName);
  if (!typing) queueMicrotask(() => allow.focus());
  return [title, inputLabel, input, choices, outcome];
}

async function answer(cid, decision) {
  const card = state.permissionCards.get(cid);
  if (card) card.controls.forEach((control) => (control.disabled = true));
  try {
    await api("POST", `/v1/sessions/${encodeURIComponent(state.sessionId)}/permissions/${encodeURIComponent(cid)}`, decision);
  } catch (error) {
    if (error.code !== "already_resolved" && card) {
      card.controls.forEach((control) => (control.disabled = false));
    }
    report(error);
  }
}

function resolveCard(cid, behavior, by, message) {
  const card = state.permissionCards.get(cid);
  if (!card) return;
  card.controls.forEach((control) => (control.disabled = true));
  card.outcome.textContent = `${behavior === "allow" ? "Allowed" : "Denied"} (${by})${message ? ": " + message : ""}`;
  card.outcome.className = "resolution " + behavior;
}

// ---- forms and buttons -------------------------------------------------------

async function sendMessage() {
  const box = $("message");
  const text = box.value.trim();
  if (!text || !state.sessionId) return;
  try {
    await api("POST", `/v1/sessions/${encodeURIComponent(state.sessionId)}/messages`, { text });
    box.value = "";
    showNotice("");
  } catch (error) {
    report(error);
  }
}

function fields(form) {
  const body = {};
  for (const [name, value] of new FormData(form)) {
    if (String(value).trim()) body[name] = String(value).trim();
  }
  return body;
}

function wire() {
  $("token").value = state.token;
  $("token-state").textContent = state.token ? "token kept for this tab" : "";
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.token = $("token").value.trim();
    if (state.token) sessionStorage.setItem(TOKEN_KEY, state.token);
    else sessionStorage.removeItem(TOKEN_KEY);
    $("token-state").textContent = state.token ? "token kept for this tab" : "no token";
    showNotice("");
    refreshSessions();
    refreshTasks();
    if (state.sessionId) connect();
  });

  $("new-session").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const created = await api("POST", "/v1/sessions", fields(event.target));
      await openSession(created.id);
    } catch (error) {
      report(error);
    }
  });

  $("new-task").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const task = await api("POST", "/v1/tasks", fields(event.target));
      event.target.reset();
      await refreshTasks();
      await openSession(task.session_id);
    } catch (error) {
      report(error);
    }
  });

  $("message-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sendMessage();
  });
  $("message").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      sendMessage();
    }
  });

  $("refresh").addEventListener("click", () => {
    refreshSessions();
    refreshTasks();
  });
  $("reconnect").addEventListener("click", () => {
    state.failures = 0;
    connect();
  });
  $("interrupt").addEventListener("click", async () => {
    try {
      await api("POST", `/v1/sessions/${encodeURIComponent(state.sessionId)}/interrupt`);
    } catch (error) {
      report(error);
    }
  });
  $("close-session").addEventListener("click", async () => {
    try {
      await api("DELETE", `/v1/sessions/${encodeURIComponent(state.sessionId)}`);
      refreshSessions();
    } catch (error) {
      report(error);
    }
  });

  refreshSessions();
  refreshTasks();
  setInterval(() => {
    refreshSessions();
    refreshTasks();
  }, POLL_MS);
}

// For operators and tests: what the page holds, and a dropped connection on demand.
window.agentConsole = {
  get lastSeq() { return state.lastSeq; },
  get sessionId() { return state.sessionId; },
  get connections() { return state.connections.slice(); },
  get connected() { return !!state.source && state.source.readyState === EventSource.OPEN; },
  // Cuts the stream as a network failure would; the page resumes by itself.
  dropConnection() { streamLost(); },
};

wire();
