#!/usr/bin/env python3
"""A minimal external MCP server over stdio, for the end-to-end tests.

It speaks newline-delimited JSON-RPC 2.0 as the MCP stdio transport does and
offers one tool, `shout`, that upper-cases its `text` and signs the answer with
the value of the `SHOUT_SIGNATURE` environment variable (so a test can tell the
answer came from this process, started with the env the SDK configured).
"""
import json
import os
import sys

TOOL = {
    "name": "shout",
    "description": "Upper-cases a text.",
    "inputSchema": {
        "type": "object",
        "properties": {"text": {"type": "string"}},
        "required": ["text"],
    },
}


def answer(request):
    method = request.get("method")
    params = request.get("params") or {}
    if method == "initialize":
        return {
            "protocolVersion": params.get("protocolVersion", "2025-06-18"),
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "shouter", "version": "1.0.0"},
        }
    if method == "ping":
        return {}
    if method == "tools/list":
        return {"tools": [TOOL]}
    if method == "tools/call" and params.get("name") == "shout":
        text = str((params.get("arguments") or {}).get("text", ""))
        signature = os.environ.get("SHOUT_SIGNATURE", "unsigned")
        return {"content": [{"type": "text", "text": f"{text.upper()} ({signature})"}]}
    raise LookupError(method)


def main():
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        request = json.loads(line)
        if "id" not in request:
            continue  # a notification: no answer
        reply = {"jsonrpc": "2.0", "id": request["id"]}
        try:
            reply["result"] = answer(request)
        except LookupError as missing:
            reply["error"] = {"code": -32601, "message": f"Method not found: {missing}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
