#!/usr/bin/env python3
"""A scripted stand-in for the claude CLI that misbehaves on purpose (agent-sdk/tests/faults.rs).

FAKE_SCENARIO picks the fault; FAKE_DIR receives a `pid` file. Answers `initialize` with
{"pid": ...}; on the first user message plays the scenario.
"""
import json, os, select, signal, sys, time

SCENARIO = os.environ.get("FAKE_SCENARIO", "normal")
with open(os.path.join(os.environ["FAKE_DIR"], "pid"), "w") as f:
    f.write(str(os.getpid()))
out = sys.stdout.buffer
pending = b""
hook_ids = []


def write(frame):
    data = frame if isinstance(frame, bytes) else json.dumps(frame).encode()
    out.write(data + b"\n")
    out.flush()


def read(timeout=None):
    """The next frame from the SDK; None on timeout; exits on stdin EOF like the real CLI."""
    global pending
    deadline = None if timeout is None else time.monotonic() + timeout
    while b"\n" not in pending:
        wait = None if deadline is None else max(0.0, deadline - time.monotonic())
        ready, _, _ = select.select([0], [], [], wait)
        if not ready:
            return None
        chunk = os.read(0, 1 << 16)
        if not chunk:
            sys.exit(0)
        pending += chunk
    line, pending = pending.split(b"\n", 1)
    return json.loads(line)


def assistant(text):
    return {"type": "assistant", "message": {"id": "msg_1", "type": "message", "role": "assistant",
            "model": "fake", "content": [{"type": "text", "text": text}], "stop_reason": None,
            "stop_sequence": None, "usage": {"input_tokens": 1, "output_tokens": 1}},
            "parent_tool_use_id": None, "session_id": "s"}


def result(text="done"):
    return {"type": "result", "subtype": "success", "is_error": False, "duration_ms": 1,
            "duration_api_ms": 1, "num_turns": 1, "result": text, "stop_reason": "end_turn",
            "session_id": "s", "total_cost_usd": 0, "usage": {}}


def respond(request_id, payload):
    write({"type": "control_response",
           "response": {"subtype": "success", "request_id": request_id, "response": payload}})


def ask(request_id, request, cancel_after=None, cancel=None, wait=5.0):
    """Sends a request to the SDK; optionally withdraws it; returns {id: answer} of what came back."""
    write({"type": "control_request", "request_id": request_id, "request": request})
    answers = {}
    start = time.monotonic()
    cancelled = False
    while time.monotonic() - start < wait:
        if cancelled and time.monotonic() - start > cancel_after + 1.0:
            break  # a withdrawn request gets a second to (wrongly) answer
        if cancel_after is not None and not cancelled and time.monotonic() - start >= cancel_after:
            write(cancel)
            cancelled = True
        step = 0.05 if cancel_after is not None else wait
        frame = read(step)
        if frame is None:
            if cancel_after is None:
                break
            continue
        if frame.get("type") == "control_response":
            answers[frame["response"]["request_id"]] = frame["response"]
            wanted = {request_id} if cancel is None or "request" not in cancel else {request_id, cancel["request_id"]}
            if wanted <= answers.keys() and cancel_after is None:
                break
    return answers


def mcp(request_id, message):
    return {"subtype": "mcp_message", "server_name": "faults", "message": message}


def call(rpc_id, name, arguments):
    return {"jsonrpc": "2.0", "id": rpc_id, "method": "tools/call", "params": {"name": name, "arguments": arguments}}


def handlers_turn():
    report = {}
    got = ask("t_panic", mcp("t_panic", call(1, "panics", {})))
    report["tool_panic"] = got.get("t_panic")
    got = ask("t_hang", mcp("t_hang", call(2, "hangs", {})), cancel_after=0.3,
              cancel={"type": "control_request", "request_id": "t_cancel",
                      "request": mcp("t_cancel", {"jsonrpc": "2.0", "method": "notifications/cancelled",
                                                  "params": {"requestId": 2, "reason": "timeout"}})})
    report["tool_hang"] = got.get("t_hang")
    got = ask("t_big", mcp("t_big", call(3, "big", {})))
    big = got.get("t_big") or {}
    text = big.get("response", {}).get("mcp_response", {}).get("result", {}).get("content", [{}])[0].get("text", "")
    report["tool_big_len"] = len(text)
    permission = {"subtype": "can_use_tool", "tool_name": "Bash", "input": {"command": "panic"},
                  "permission_suggestions": [], "tool_use_id": "toolu_1"}
    report["permission_panic"] = ask("p_panic", permission).get("p_panic")
    hang = dict(permission, input={"command": "hang"})
    got = ask("p_hang", hang, cancel_after=0.3, cancel={"type": "control_cancel_request", "request_id": "p_hang"})
    report["permission_hang"] = got.get("p_hang")
    hook_input = {"session_id": "s", "transcript_path": "/tmp/x.jsonl", "cwd": "/tmp",
                  "permission_mode": "default", "hook_event_name": "UserPromptSubmit", "prompt": "panic"}
    request = {"subtype": "hook_callback", "callback_id": hook_ids[0], "input": hook_input, "tool_use_id": None}
    report["hook_panic"] = ask("h_panic", request).get("h_panic")
    request = dict(request, input=dict(hook_input, prompt="hang"))
    got = ask("h_hang", request, cancel_after=0.3, cancel={"type": "control_cancel_request", "request_id": "h_hang"})
    report["hook_hang"] = got.get("h_hang")
    write(assistant(json.dumps(report)))
    write(result())


def play_turn():
    if SCENARIO == "exit_mid_turn":
        write(assistant("partial"))
        sys.exit(3)
    if SCENARIO == "killed":
        write(assistant("partial"))
        os.kill(os.getpid(), signal.SIGKILL)
    if SCENARIO == "close_stdout":
        write(assistant("partial"))
        out.close()
        os.close(1)
        time.sleep(120)  # keeps running, ignores stdin EOF: the SDK must escalate to SIGTERM
    if SCENARIO == "huge_line":
        write(b'{"type":"assistant","junk":"' + b"x" * (10 << 20) + b'"}')
        write(assistant("after the huge line"))
        write(result())
        return
    if SCENARIO == "invalid_utf8":
        write(b'\xff\xfe\xfd not json at all')
        write(b'{"type":"assistant","bad":"\xff\xfe"}')
        write(assistant("after invalid utf-8"))
        write(result())
        return
    if SCENARIO == "garbage":
        write(b"hello, this is not json")
        write(assistant("one"))
        write(b"\x00\x01\x02")
        write(b"[1,2,3]")
        write(b"{not json")
        write(b"   ")
        write(assistant("two"))
        write(result())
        return
    if SCENARIO == "stop_reading":
        write(assistant("before"))
        time.sleep(1.5)
        write(assistant("while not reading"))
        write(result())
        time.sleep(120)  # never reads stdin again
    if SCENARIO == "slow":
        write(assistant("working"))
        frame = read(5.0)
        if frame and frame.get("type") == "control_request":
            respond(frame["request_id"], {})
        write(result("interrupted"))
        return
    if SCENARIO == "handlers":
        handlers_turn()
        return
    if SCENARIO == "silent_turn":
        return  # the turn never ends
    if SCENARIO not in ("exit_mid_turn", "killed"):
        write(assistant("hello"))
        write(result())


answers = 0
while True:
    frame = read()
    kind = frame.get("type")
    if kind == "control_request":
        request = frame["request"]
        if request["subtype"] == "initialize":
            for matchers in (request.get("hooks") or {}).values():
                for matcher in matchers or []:
                    hook_ids.extend(matcher.get("hookCallbackIds", []))
            if SCENARIO != "no_init":
                respond(frame["request_id"], {"pid": os.getpid(), "commands": []})
        elif SCENARIO == "double_answer":
            answers += 1
            respond("req_unknown_" + str(answers), {"stray": True})
            write({"type": "control_response", "response": {"subtype": "error", "request_id": "nobody", "error": "x"}})
            respond(frame["request_id"], {"n": answers})
            respond(frame["request_id"], {"n": -1})
        else:
            respond(frame["request_id"], {})
    elif kind == "user":
        play_turn()
