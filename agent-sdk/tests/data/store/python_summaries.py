"""What the official Python SDK (0.2.187) folds from the real CLI's transcripts
in ../sessions/config: `fold_session_summary` over each main transcript, one
entry per append (as an eager mirror sends them), then `summary_entry_to_sdk_info`.
Regenerate: python3 python_summaries.py > python_summaries.json
"""
import json, pathlib
from claude_agent_sdk._internal.session_summary import fold_session_summary, summary_entry_to_sdk_info

root = pathlib.Path(__file__).parent.parent / "sessions" / "config" / "projects"
out = {}
for path in sorted(root.glob("*/*.jsonl")):
    key = {"project_key": path.parent.name, "session_id": path.stem}
    summary = None
    for line in path.read_text().splitlines():
        if line.strip():
            summary = fold_session_summary(summary, key, [json.loads(line)])
    summary["mtime"] = 1700000000000
    info = summary_entry_to_sdk_info(summary, None)
    out[path.stem] = {"data": summary["data"], "info": info and {k: v for k, v in vars(info).items()}}
print(json.dumps(out, indent=1, sort_keys=True))
