"""Records every frame the official Python SDK's parser tests feed to `parse_message`,
with what that parser returned, as the JSON cases `tests/integration/messages.rs` runs through ours.

Run it against the SDK's source distribution (it carries the tests):

    pip download --no-deps --no-binary :all: claude-agent-sdk==0.2.187
    tar xzf claude_agent_sdk-0.2.187.tar.gz
    pip install pytest anyio sniffio jsonschema 'mcp>=1.23,<3'
    python3 extract.py claude_agent_sdk-0.2.187 cases.json

It runs the SDK's own `tests/test_message_parser.py` under pytest with
`parse_message` wrapped, so the cases are exactly what those tests pin, with no
hand copying. Each case: `test` (the pytest id), `frame` (the input) and
`python` (the outcome: `{"error": text}`, `{"skipped": true}` for a frame the
parser ignores, or `{"class": name, ...fields}`; content blocks likewise carry
their class). A system message's `data` is left out: it is always the frame.
"""

import copy
import dataclasses
import json
import os
import sys


def describe(value):
    """A parsed value as JSON, dataclasses tagged with their class name."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {"class": type(value).__name__}
        for field in dataclasses.fields(value):
            if field.name == "data":
                continue
            out[field.name] = describe(getattr(value, field.name))
        return out
    if isinstance(value, dict):
        return {key: describe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [describe(item) for item in value]
    return value


def main():
    sdist = os.path.abspath(sys.argv[1])
    sys.path.insert(0, os.path.join(sdist, "src"))
    sys.path.insert(0, sdist)
    import pytest

    from claude_agent_sdk._errors import MessageParseError
    from tests import test_message_parser as suite

    real_parse = suite.parse_message
    cases = []
    current = {"test": None}

    def recording_parse(data):
        frame = copy.deepcopy(data)
        try:
            message = real_parse(data)
        except MessageParseError as error:
            cases.append({"test": current["test"], "frame": frame, "python": {"error": str(error)}})
            raise
        if message is None:
            outcome = {"skipped": True}
        else:
            outcome = describe(message)
        cases.append({"test": current["test"], "frame": frame, "python": outcome})
        return message

    class Recorder:
        @pytest.hookimpl(tryfirst=True)
        def pytest_runtest_setup(self, item):
            current["test"] = item.name
            suite.parse_message = recording_parse

    test_file = os.path.join(sdist, "tests", "test_message_parser.py")
    code = pytest.main(["-q", "-p", "no:cacheprovider", test_file], plugins=[Recorder()])
    if code != 0:
        sys.exit(f"the Python parser tests failed (exit {code})")
    with open(sys.argv[2], "w") as out:
        json.dump({"source": "claude-agent-sdk 0.2.187 tests/test_message_parser.py", "cases": cases},
                  out, indent=1, sort_keys=True)
        out.write("\n")


if __name__ == "__main__":
    main()
