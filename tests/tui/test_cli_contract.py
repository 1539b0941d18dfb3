"""The command line keeps its word, for every subcommand the parser has (not a hand-picked few).

- ``--json`` means exactly one JSON document on stdout, on success and on failure; a failure's
  document is ``{"error": ..., "exit_code": N}`` with N the exit status.
- Malformed arguments, generated from each parser's own options (types, bounds, choices,
  required arguments), are one line on stderr and a documented non-zero exit, never a traceback
  (a bug would be exit 70, which no case may reach).
- A folder that is not a project is refused in one line that says what to do, and is left
  exactly as it was; a path that does not exist is not created.
- Reading is never refused while another process holds the project open for writing.

The commands run in this process through `tui.cli.main` (the console script's own entry), so
hundreds of cases take seconds; `tests/tui/test_cli.py` runs the real `reelcut` binary.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.lock import WriterLock
from tests.fakes.gemini import FakeGemini, Stream, chunk, text, usage_metadata
from tui.cli import EXIT_CODES, INTERNAL_ERROR, build_parser, main

# Commands that make a project, so a missing folder is what they want.
CREATORS = {"new", "demo"}


@dataclass
class Result:
    code: int
    out: str
    err: str

    def one_line(self) -> str:
        assert "Traceback" not in self.err, self.err
        lines = self.err.strip().splitlines()
        assert len(lines) == 1, self.err
        assert lines[0].startswith("reelcut: "), lines[0]
        return lines[0]

    def document(self) -> Any:
        """The whole of stdout as one JSON document (json.loads refuses trailing text)."""
        return json.loads(self.out)


def call(*argv: str | Path) -> Result:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main([str(a) for a in argv])
    return Result(code, out.getvalue(), err.getvalue())


@pytest.fixture(autouse=True)
def no_gemini(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_GEMINI_BASE_URL", "REELCUT_DEBUG"):
        monkeypatch.delenv(var, raising=False)


# -- the parser, walked ----------------------------------------------------------------------


def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


COMMANDS = subparsers(build_parser())
EDIT_OPS = subparsers(COMMANDS["edit"])


def options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [
        a
        for a in parser._actions
        if not isinstance(a, argparse._HelpAction | argparse._SubParsersAction)
    ]


def takes_json(name: str) -> bool:
    return any("--json" in a.option_strings for a in options(COMMANDS[name]))


def action_choices(name: str) -> list[str]:
    """The verbs of a command with an action positional (changes, jobs), else [""]."""
    for a in options(COMMANDS[name]):
        if a.dest == "action" and a.choices:
            return list(a.choices)
    return [""]


# -- --json: one document, success and failure ------------------------------------------------


@pytest.fixture
def busy_project(demo_dir: Path) -> Iterator[Path]:
    """The demo with a changeset (1, ready), a job queued (the demo's derivatives) and one
    finished agent run (1) against the fake Gemini."""
    res = call(
        "tool",
        demo_dir,
        "text_insert_lines",
        json.dumps({"path": "scripts/script.md", "after": 0, "text": "Hello"}),
    )
    assert res.code == 0, res.err
    yield demo_dir


def demo_take(line_id: str) -> str:
    """The take key of a line of the demo's scenario as `tts run --provider local` makes it."""
    from engine.demo import SCENARIO
    from engine.tts.takes import LOCAL_MODEL, identity, parse_scenario, take_key

    sc = parse_scenario(json.dumps(SCENARIO))
    line = next(ln for ln in sc.lines if ln.id == line_id)
    return take_key(identity(line, "local", LOCAL_MODEL, len(sc.speakers)))


def demo_version(root: Path) -> str:
    """The scenario version `tts run` records for the demo (its text's sha256)."""
    return hashlib.sha256((root / "scripts" / "Scenario_TTS.json").read_bytes()).hexdigest()[:12]


def json_cases(root: Path, media: Path, fresh: Path) -> dict[str, list[list[str | Path]]]:
    """Per command (and verb), command lines that succeed, in an order that makes sense."""
    return {
        "new": [["new", fresh / "made", "--json"]],
        "demo": [["demo", root, "--json"]],
        "import": [["import", root, media, "--json"]],
        "info": [["info", root, "--json"]],
        "edit": [["edit", root, "blade", "--at", "10", "--json"]],
        "undo": [["undo", root, "--json"], ["undo", root, "--json"]],
        "redo": [["redo", root, "--json"]],
        "history": [["history", root, "--json"]],
        "changes list": [["changes", root, "list", "--json"]],
        "changes show": [["changes", root, "show", "1", "--json"]],
        "changes diff": [["changes", root, "diff", "1", "--json"]],
        "changes replay": [["changes", root, "replay", "1", "--json"]],
        "changes apply": [["changes", root, "apply", "1", "--json"]],
        "changes revert": [["changes", root, "revert", "1", "--json"]],
        "tools": [["tools", "--json"]],
        "tool": [["tool", root, "timeline_read", "{}", "--json"]],
        "jobs queue": [["jobs", root, "queue", "--json"]],
        "jobs list": [["jobs", root, "list", "--json"]],
        "jobs show": [["jobs", root, "show", "1", "--json"]],
        "jobs cancel": [["jobs", root, "cancel", "1", "--json"]],
        "jobs retry": [["jobs", root, "retry", "1", "--json"]],
        "jobs run": [["jobs", root, "run", "--json"]],
        "jobs work": [["jobs", root, "work", "--json"]],
        "chat": [["chat", root, "Say hello", "--json", "--model", "gemini-2.5-flash"]],
        "chat --list": [["chat", root, "--list", "--json"]],
        "export": [
            ["export", root, fresh / "cut.wav", "--range", "0-10", "--json"],
            ["export", root, fresh / "cut.otio", "--json"],
        ],
        "import-timeline": [["import-timeline", root, fresh / "cut.otio", "--json"]],
        "tts run": [["tts", root, "run", "--provider", "local", "--json"]],
        "tts status": [["tts", root, "status", "--json"]],
        "tts versions": [["tts", root, "versions", "--json"]],
        "tts takes": [["tts", root, "takes", "--json"]],
        "tts select": [["tts", root, "select", demo_take("l_1"), "--line", "l_1", "--json"]],
        "tts restore": [["tts", root, "restore", demo_version(root), "--json"]],
        "tts cancel": [["tts", root, "cancel", "--json"]],
        "transcribe": [["transcribe", root, "--no-wait", "--json"]],
        "transcript": [["transcript", root, "--json"]],
        "captions": [["captions", root, fresh / "talk.srt", "--json"]],
    }


def test_every_json_command_prints_one_document(
    busy_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = busy_project
    media = next((root / "assets").glob("*.png"))
    cases = json_cases(root, media, tmp_path)
    # Every command and verb that takes --json has a case: a new one cannot slip past.
    wanted = {
        f"{name} {verb}".strip()
        for name in COMMANDS
        if takes_json(name)
        for verb in action_choices(name)
    } | {"chat --list"}
    assert wanted == set(cases), wanted ^ set(cases)

    with FakeGemini() as fake:
        fake.queue(Stream([chunk(text("Hello."))], usage=usage_metadata(10, 1)))
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", fake.url)
        monkeypatch.setenv("GEMINI_API_KEY", "test-key")
        for what, lines in cases.items():
            for argv in lines:
                res = call(*argv)
                assert res.code == 0, (what, res.err)
                doc = res.document()
                assert not (isinstance(doc, dict) and "exit_code" in doc), (what, doc)
    assert json.loads(call("changes", root, "diff", "1", "--json").out)["diff"].startswith(
        "diff --git a/scripts/script.md"
    )
    replayed = json.loads(call("changes", root, "replay", "1", "--json").out)
    assert replayed == {"id": 1, "steps": [], "fits": True}  # a text edit: no timeline steps


FAILING = [
    ["info", "{missing}", "--json"],
    ["changes", "{root}", "show", "999", "--json"],
    ["changes", "{root}", "show", "--json"],
    ["changes", "{root}", "apply", "999", "--json"],
    ["changes", "{root}", "replay", "999", "--json"],
    ["jobs", "{root}", "show", "999", "--json"],
    ["jobs", "{root}", "retry", "--json"],
    ["tool", "{root}", "no_such_tool", "{}", "--json"],
    ["tool", "{root}", "timeline_read", "not json", "--json"],
    ["tool", "{root}", "no_such_tool", "{}"],  # JSON is tool's default output
    ["edit", "{root}", "blade", "--at", "not-a-time", "--json"],
    ["edit", "{root}", "--op-json", "{", "--json"],
    ["history", "{root}", "--limit", "0", "--json"],
    ["chat", "{root}", "--json"],
    ["chat", "{root}", "hello", "--max-steps", "1000000000000000000000", "--json"],
    ["chat", "{root}", "hello", "--json"],  # no key
    ["new", "{root}", "--json"],  # already a project
    ["import", "{root}", "{missing}", "--json"],
    ["import-timeline", "{root}", "{missing}.otio", "--json"],
    ["export", "{root}", "{missing}.edl", "--preset", "h264", "--json"],
    ["jobs", "{root}", "list", "--no-such-option", "--json"],
    ["--json", "--no-such-option"],
]


@pytest.mark.parametrize("argv", FAILING, ids=[" ".join(a) for a in FAILING])
def test_a_failure_is_one_json_document_too(argv: list[str], demo_dir: Path) -> None:
    """... and changes nothing in the project (its state database aside)."""
    values = {"root": str(demo_dir), "missing": str(demo_dir / "no-such-thing")}
    before = snapshot(demo_dir, state=False)
    res = call(
        *(a.replace("{root}", values["root"]).replace("{missing}", values["missing"]) for a in argv)
    )
    assert res.code not in (0, INTERNAL_ERROR) and res.code in EXIT_CODES, res.err
    doc = res.document()
    if "error" in doc:
        assert doc["exit_code"] == res.code and doc["error"] in res.one_line()
    else:  # `tool` reports a failed call as its audit payload
        assert doc["ok"] is False and res.one_line()
    assert snapshot(demo_dir, state=False) == before


# -- malformed arguments, generated from the parser ------------------------------------------


def bad_values(action: argparse.Action) -> list[str]:
    """Values this option refuses, from its own type, bounds and choices."""
    low, high = getattr(action.type, "low", None), getattr(action.type, "high", None)
    if low is not None and high is not None:
        return ["x", "", "1.5", "0x10", str(low - 1), str(high + 1), "9" * 40, f"-{'9' * 40}"]
    if action.type is int:
        return ["x", "", "1.5"]
    if action.choices:
        return ["no-such-choice", ""]
    return []


def good_value(action: argparse.Action) -> list[str]:
    if action.nargs == 0:
        return []
    if action.choices:
        return [str(next(iter(action.choices)))]
    low = getattr(action.type, "low", None)
    if low is not None:
        return [str(max(low, 1))]
    return ["10"]


def positionals(name: str, root: Path, media: Path) -> list[tuple[argparse.Action, list[str]]]:
    """Well-formed values for ``name``'s positional arguments (DIR first where it takes one)."""
    parts: list[tuple[argparse.Action, list[str]]] = []
    for a in options(COMMANDS[name]):
        if a.option_strings or (not a.required and a.dest != "message"):
            continue
        value = {"dir": [str(root)], "files": [str(media)], "message": ["hello"]}.get(a.dest)
        parts.append((a, value if value is not None else good_value(a)))
    return parts


def template(name: str, root: Path, media: Path) -> list[str]:
    """A minimal well-formed command line for ``name``."""
    return [name, *(v for _, values in positionals(name, root, media) for v in values)]


def malformed_cases(root: Path, media: Path) -> Iterator[tuple[str, list[str]]]:
    for name, parser in COMMANDS.items():
        base = template(name, root, media)
        yield f"{name}: unknown option", [*base, "--no-such-option"]
        yield f"{name}: stray arguments", [*base, "stray", "stray2", "stray3"]
        parts = positionals(name, root, media)
        for i, (a, _) in enumerate(parts):
            before = [v for _, values in parts[:i] for v in values]
            after = [v for _, values in parts[i + 1 :] for v in values]
            if a.required:
                yield f"{name}: without {a.dest}", [name, *before, *after]
            for value in bad_values(a):
                yield f"{name} {a.dest} {value!r}", [name, *before, value, *after]
        for a in options(parser):
            if not a.option_strings:
                continue
            flag = a.option_strings[0]
            if a.nargs != 0:
                yield f"{name} {flag}: no value", [*base, flag]
            for value in bad_values(a):
                yield f"{name} {flag} {value!r}", [*base, f"{flag}={value}"]
    for op, parser in EDIT_OPS.items():
        base = ["edit", str(root), op]
        required: list[str] = []
        for a in options(parser):
            if a.required:
                required += [a.option_strings[0], *good_value(a)]
        yield f"edit {op}: required options missing", base if required else [*base, "--nope"]
        for a in options(parser):
            if not a.option_strings or a.nargs == 0:
                continue
            rest = [x for i, x in enumerate(required) if not _belongs(required, i, a)]
            values = bad_values(a)
            if a.metavar == "FRAMES|TC":  # a position or an offset, in frames or timecode
                values = ["not-a-frame", "9" * 30, "-1:00:00:00", "00:00:61:00", "1:2:3:4:5"]
            for value in values:
                yield (
                    f"edit {op} {a.option_strings[0]} {value!r}",
                    [
                        *base,
                        *rest,
                        f"{a.option_strings[0]}={value}",
                    ],
                )


def _belongs(required: list[str], i: int, action: argparse.Action) -> bool:
    """Whether ``required[i]`` is ``action``'s flag or one of its values."""
    flag = action.option_strings[0]
    if flag not in required:
        return False
    start = required.index(flag)
    end = start + 1
    while end < len(required) and not required[end].startswith("--"):
        end += 1
    return start <= i < end


def test_malformed_arguments_are_one_line_and_a_documented_exit(
    demo_dir: Path, tmp_path: Path
) -> None:
    media = next((demo_dir / "assets").glob("*.png"))
    cases = list(malformed_cases(demo_dir, media))
    assert len(cases) > 150  # the generator walked every command and edit op
    refused: dict[str, int] = {}
    for what, argv in cases:
        res = call(*argv)
        assert res.code in EXIT_CODES and res.code not in (0, INTERNAL_ERROR), (what, res)
        res.one_line()
        if argv[0] in COMMANDS and takes_json(argv[0]):
            as_json = call(*argv, "--json")
            assert as_json.code == res.code, (what, as_json)
            doc = as_json.document()
            assert doc.get("exit_code") == res.code or doc.get("ok") is False, (what, doc)
        refused[what] = res.code
    assert 2 in refused.values() and 7 in refused.values()


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    command=st.sampled_from(
        [
            (name, a.option_strings[0], a.type)
            for name, p in COMMANDS.items()
            for a in options(p)
            if a.option_strings and getattr(a.type, "low", None) is not None
        ]
    ),
    value=st.one_of(
        st.text(max_size=12), st.integers(min_value=-(2**80), max_value=2**80).map(str)
    ),
)
def test_any_value_of_a_numeric_option_is_taken_or_refused_in_one_line(
    command: tuple[str, str, Any], value: str, demo_master: Path
) -> None:
    name, flag, parse = command
    try:
        ok = parse.low <= int(value.strip(), 10) <= parse.high
    except ValueError:
        ok = False
    if ok or "\x00" in value:
        return  # a valid value runs the command; that is not what this test is about
    media = next((demo_master / "assets").glob("*.png"))
    res = call(*template(name, demo_master, media), f"{flag}={value}")
    assert res.code == 2, res
    assert flag in res.one_line()


def test_version_exits_zero_and_names_the_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.startswith("reelcut 0.")


# -- a folder that is not a project ---------------------------------------------------------


def snapshot(root: Path, *, state: bool = True) -> dict[str, tuple[int, int]]:
    """Every path under ``root`` with its size and modification time (``state=False``: but
    the state folder, ``.reelcut/``, where reading commands may create the database)."""
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if state or p.relative_to(root).parts[0] != ".reelcut"
    }


@pytest.mark.parametrize("name", sorted(set(COMMANDS) - CREATORS - {"tools"}))
def test_a_folder_that_is_not_a_project_is_refused_and_left_as_it_was(
    name: str, tmp_path: Path
) -> None:
    folder = tmp_path / "footage"
    folder.mkdir()
    (folder / "clip.mp4").write_bytes(b"not really a clip")
    (folder / "notes").mkdir()
    before = snapshot(folder)
    media = folder / "clip.mp4"
    argv = template(name, folder, media)
    if name == "edit":
        argv += ["blade", "--at", "10"]
    line = call(*argv).one_line()
    assert "not a reelcut project" in line and "reelcut new" in line, line
    assert call(*argv).code == 3
    assert snapshot(folder) == before

    missing = tmp_path / "no-such-folder"
    res = call(*template(name, missing, media))
    assert res.code == 3 and "no such folder" in res.one_line()
    assert not missing.exists()


def test_open_says_what_to_do_in_a_folder_without_a_project(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    for argv in (["open", empty], [empty]):
        res = call(*argv)
        assert res.code == 3
        assert f"reelcut new {empty}" in res.one_line()
    assert list(empty.iterdir()) == []


def test_demo_refuses_a_folder_with_files_and_leaves_it(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    before = snapshot(folder)
    res = call("demo", folder)
    assert res.code == 1 and "not an empty folder" in res.one_line()
    assert snapshot(folder) == before


# -- reading while the project is open elsewhere ----------------------------------------------

READERS = [
    ["info", "{root}"],
    ["history", "{root}"],
    ["history", "{root}", "--json"],
    ["changes", "{root}", "list"],
    ["changes", "{root}", "show", "1"],
    ["changes", "{root}", "diff", "1"],
    ["changes", "{root}", "replay", "1"],
    ["jobs", "{root}", "list", "--all"],
    ["events", "{root}", "--after", "0", "--topic", "run"],
    ["chat", "{root}", "--list"],
    ["tool", "{root}", "timeline_read", "{}"],
    ["tools"],
]


def test_reading_works_while_the_editor_holds_the_project(busy_project: Path) -> None:
    root = busy_project
    assert call("edit", root, "blade", "--at", "10").code == 0  # a history step to show
    with WriterLock(root, purpose="reelcut open"):
        for argv in READERS:
            res = call(*(a.replace("{root}", str(root)) for a in argv))
            assert res.code == 0, (argv, res.err)
            assert res.err == "", (argv, res.err)
        # A writer is still refused, and says who holds the project.
        res = call("edit", root, "blade", "--at", "20")
        assert res.code == 4 and "reelcut open" in res.one_line()


def test_events_without_follow_ends_when_the_newest_event_is_another_topic(
    busy_project: Path,
) -> None:
    """It printed the stored `run` events and then waited for ever, because the newest event
    (a changeset's) never reached it through the topic filter."""
    root = busy_project
    res = call("events", root, "--after", "0", "--topic", "run")
    assert res.code == 0 and res.out == ""
    every = [json.loads(line) for line in call("events", root, "--after", "0").out.splitlines()]
    assert every and every[-1]["topic"] != "run"
    topics = {e["topic"] for e in every}
    for topic in topics:
        got = call("events", root, "--after", "0", "--topic", topic).out.splitlines()
        assert [json.loads(line)["id"] for line in got] == [
            e["id"] for e in every if e["topic"] == topic
        ]
