#!/usr/bin/env python3
"""An external MCP server over stdio that talks back to its client, for the end-to-end tests.

Tools:
- `book_table`: asks the user (MCP `elicitation/create`) for a party size and
  answers with what came back: `accepted {...}`, `declined` or `cancelled`.
- `report_progress`: sends `notifications/progress` (with the call's
  `progressToken`; `PROGRESS_STEPS` times, `PROGRESS_INTERVAL` seconds apart) and a
  `notifications/message` log, then answers `done`.

It also offers one prompt and one resource, to see whether the client lists them.
When `MCP_PROBE_LOG` names a file, every message received is appended to it (one
JSON line each), so a test can see what the client sent.
"""
import json
import os
import sys
import time

TOOLS = [
    {
        "name": "book_table",
        "description": "Books a table; asks the user how many people come.",
        "inputSchema": {"type": "object", "properties": {}},
    },
    {
        "name": "content_gallery",
        "description": "Answers one content block of every MCP type.",
        "inputSchema": {"type": "object", "properties": {}},
    },
    {
        "name": "report_progress",
        "description": "Reports progress three times, then answers.",
        "inputSchema": {"type": "object", "properties": {}},
    },
]

# A 1x1 PNG, and a few bytes standing for audio.
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
GALLERY = [
    {"type": "text", "text": "plain text block"},
    {"type": "image", "data": PNG, "mimeType": "image/png"},
    {"type": "resource", "resource": {"uri": "memo://text", "mimeType": "text/plain", "text": "embedded text body"}},
    {"type": "resource", "resource": {"uri": "memo://blob", "mimeType": "application/octet-stream", "blob": "AAECAw=="}},
    {"type": "resource_link", "uri": "memo://linked", "name": "linked", "description": "a linked memo", "mimeType": "text/plain"},
    {"type": "audio", "data": "UklGRiQAAABXQVZF", "mimeType": "audio/wav"},
]

PARTY_SCHEMA = {
    "type": "object",
    "properties": {"party_size": {"type": "integer", "minimum": 1}},
    "required": ["party_size"],
}


def log(message):
    path = os.environ.get("MCP_PROBE_LOG")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps(message) + "\n")


def send(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def read():
    """The next message from the client, or None at end of input."""
    for line in sys.stdin:
        line = line.strip()
        if line:
            message = json.loads(line)
            log(message)
            return message
    return None


def ask_user(message, schema):
    """Sends `elicitation/create` and waits for its response, serving other requests meanwhile."""
    send({
        "jsonrpc": "2.0",
        "id": "elicit-1",
        "method": "elicitation/create",
        "params": {"message": message, "requestedSchema": schema},
    })
    while True:
        incoming = read()
        if incoming is None:
            return {"action": "cancel"}
        if incoming.get("id") == "elicit-1" and "method" not in incoming:
            if "error" in incoming:
                return {"action": "error", "error": incoming["error"]}
            return incoming.get("result", {})
        serve(incoming)


def call_tool(params):
    name = params.get("name")
    if name == "book_table":
        answer = ask_user("How many people?", PARTY_SCHEMA)
        action = answer.get("action")
        if action == "accept":
            text = "accepted " + json.dumps(answer.get("content"), sort_keys=True)
        elif action == "decline":
            text = "declined"
        elif action == "cancel":
            text = "cancelled"
        else:
            text = "elicitation failed: " + json.dumps(answer)
        return {"content": [{"type": "text", "text": text}]}
    if name == "content_gallery":
        return {"content": GALLERY}
    if name == "report_progress":
        token = ((params.get("_meta") or {}).get("progressToken"))
        steps = int(os.environ.get("PROGRESS_STEPS", "3"))
        for done in range(1, steps + 1):
            if token is not None:
                send({
                    "jsonrpc": "2.0",
                    "method": "notifications/progress",
                    "params": {"progressToken": token, "progress": done, "total": steps,
                               "message": f"step {done} of {steps}"},
                })
            time.sleep(float(os.environ.get("PROGRESS_INTERVAL", "0.3")))
        send({
            "jsonrpc": "2.0",
            "method": "notifications/message",
            "params": {"level": "info", "logger": "probe", "data": "halfway log line"},
        })
        return {"content": [{"type": "text", "text": "done"}]}
    raise LookupError(f"tools/call {name}")


def answer(request):
    method = request.get("method")
    params = request.get("params") or {}
    if method == "initialize":
        return {
            "protocolVersion": params.get("protocolVersion", "2025-06-18"),
            "capabilities": {"tools": {}, "prompts": {}, "resources": {}, "logging": {}},
            "serverInfo": {"name": "concierge", "version": "1.0.0"},
        }
    if method == "ping":
        return {}
    if method == "tools/list":
        return {"tools": TOOLS}
    if method == "prompts/list":
        return {"prompts": [{"name": "greeting", "description": "Says hello."}]}
    if method == "resources/list":
        return {"resources": [{"uri": "memo://today", "name": "today", "mimeType": "text/plain"}]}
    if method == "resources/templates/list":
        return {"resourceTemplates": []}
    if method == "logging/setLevel":
        return {}
    if method == "tools/call":
        return call_tool(params)
    raise LookupError(method)


def serve(request):
    if "id" not in request or "method" not in request:
        return  # a notification or a stray response: no answer
    reply = {"jsonrpc": "2.0", "id": request["id"]}
    try:
        reply["result"] = answer(request)
    except LookupError as missing:
        reply["error"] = {"code": -32601, "message": f"Method not found: {missing}"}
    send(reply)


def main():
    while True:
        request = read()
        if request is None:
            return
        serve(request)


if __name__ == "__main__":
    main()
