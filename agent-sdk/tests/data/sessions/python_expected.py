"""Writes python_expected.json: what the official Python SDK (claude-agent-sdk
0.2.187) returns on the transcripts under ./config, which the real CLI wrote
(see tests/e2e/sessions.rs, AGENT_SDK_CAPTURE_SESSIONS).

    pip install claude-agent-sdk==0.2.187
    python python_expected.py

The Rust test `sessions::parity_tests` compares the sessions module with it.
"""

import dataclasses
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def info_dict(info):
    d = dataclasses.asdict(info)
    d.pop("last_modified")  # the checkout's file time, not the transcript's
    return d


# What a fork's entries are compared on: their links, ids and title, and
# which fields they have (the rest is copied from the source as is).
FORK_FIELDS = ("type", "uuid", "parentUuid", "logicalParentUuid", "sessionId",
               "isSidechain", "forkedFrom", "customTitle")


def normalize_fork(lines):
    """Fresh uuids become their order of appearance; see FORK_FIELDS."""
    names = {}

    def name(value):
        if isinstance(value, str) and UUID.match(value):
            return names.setdefault(value, f"<uuid {len(names)}>")
        return value

    out = []
    for line in lines:
        entry = json.loads(line)
        for key in ("uuid", "parentUuid", "logicalParentUuid", "sessionId"):
            if key in entry:
                entry[key] = name(entry[key])
        slim = {k: entry[k] for k in FORK_FIELDS if k in entry}
        slim["keys"] = sorted(entry)
        out.append(slim)
    return out


def main():
    scratch = Path(tempfile.mkdtemp())
    config = scratch / "config"
    shutil.copytree(HERE / "config", config)
    os.environ["CLAUDE_CONFIG_DIR"] = str(config)
    from claude_agent_sdk import (
        fork_session,
        get_session_info,
        get_session_messages,
        get_subagent_messages,
        list_sessions,
        list_subagents,
    )
    from claude_agent_sdk._internal.session_mutations import _sanitize_unicode

    ids = sorted(p.stem for p in config.glob("projects/*/*.jsonl"))
    expected = {
        "list_sessions": sorted(
            (info_dict(i) for i in list_sessions()), key=lambda d: d["session_id"]
        ),
        "sessions": {},
    }
    for sid in ids:
        info = get_session_info(sid)
        messages = get_session_messages(sid)
        agents = list_subagents(sid)
        entry = {
            "info": info_dict(info) if info else None,
            "messages": [dataclasses.asdict(m) for m in messages],
            "subagents": {
                a: [dataclasses.asdict(m) for m in get_subagent_messages(sid, a)]
                for a in agents
            },
            "forks": {},
        }
        # Forks of the whole session and up to its second message.
        cuts = [None] + ([messages[1].uuid] if len(messages) > 1 else [])
        for cut in cuts:
            forked = fork_session(sid, up_to_message_id=cut)
            path = next(config.glob(f"projects/*/{forked.session_id}.jsonl"))
            lines = path.read_text().splitlines()
            path.unlink()
            entry["forks"][cut or "all"] = normalize_fork(lines)
        expected["sessions"][sid] = entry
    samples = ["clean", "a\u200bb\ufeffc", "\u202ertl\u2066", "x\ue000y", "tag\u00ad!"]
    expected["sanitized_tags"] = {s: _sanitize_unicode(s) for s in samples}
    (HERE / "python_expected.json").write_text(
        json.dumps(expected, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    )
    shutil.rmtree(scratch)


if __name__ == "__main__":
    main()
