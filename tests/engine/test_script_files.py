"""The script panes' file operations and workflow checks: create, rename and delete never lose a
byte or leave the project, and a broken workflow is reported at its line and column (JSON and
manifest checks: ``test_script_checks.py``).

File tests run in a small world: the project ``proj/``, a decoy sibling ``proj_evil/`` sharing
its prefix and ``secret.txt``. The ``world`` fixture checks after each test that nothing outside
``proj/`` changed (types, bytes, link targets) and that no temp file was left inside it.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest

from engine import sandbox, scripts
from engine.filechecks import check_text
from engine.sandbox import PathNotFound, PathRefused
from engine.scripts import (
    FileConflict,
    FileExists,
    NotAScript,
    create_text,
    delete_text,
    read_text,
    rename_text,
    script_files,
)
from engine.workflows import (
    WORKFLOW_SCHEMA,
    InvalidWorkflow,
    Workflow,
    list_workflows,
    load_workflow,
)

SECRET = b"TOP SECRET: outside the project"
DECOY = b"decoy: must never be read or written"
SCRIPT = b"# inside\n"
PROJECT = b'{"schema_version": 1}\n'


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class World:
    proj: Path
    evil: Path
    secret: Path


def _snapshot(top: Path) -> dict[str, tuple[str, bytes]]:
    """Everything under ``top``, without following links: mode and bytes (or link target)."""
    seen: dict[str, tuple[str, bytes]] = {}
    for folder, dirnames, filenames in os.walk(top, followlinks=False):
        for name in dirnames + filenames:
            path = Path(folder, name)
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                body = os.fsencode(os.readlink(path))
            elif stat.S_ISREG(info.st_mode):
                body = path.read_bytes()
            else:
                body = b""
            seen[str(path.relative_to(top))] = (stat.filemode(info.st_mode), body)
    return seen


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    proj = tmp_path / "proj"
    (proj / "scripts").mkdir(parents=True)
    (proj / "scripts" / "script.md").write_bytes(SCRIPT)
    (proj / "project.json").write_bytes(PROJECT)
    (proj / "assets").mkdir()
    (proj / "assets" / "a.md").write_bytes(b"not a script\n")
    (proj / ".reelcut").mkdir()
    (proj / ".reelcut" / "lock").write_bytes(b"")
    evil = tmp_path / "proj_evil"
    (evil / "sub").mkdir(parents=True)
    (evil / "x.md").write_bytes(DECOY)
    secret = tmp_path / "secret.txt"
    secret.write_bytes(SECRET)
    outside = {k: v for k, v in _snapshot(tmp_path).items() if not k.startswith("proj/")}
    yield World(proj, evil, secret)
    after = {k: v for k, v in _snapshot(tmp_path).items() if not k.startswith("proj/")}
    assert after == outside, "something outside the project changed"
    temps = [k for k in _snapshot(proj) if k.endswith(sandbox.TEMP_SUFFIX)]
    assert temps == [], "temp files left behind"


def _one_line(call: Callable[[], object], kind: type[Exception], *words: str) -> str:
    """Run ``call``, expect ``kind`` with a one-line message holding ``words``; return it."""
    with pytest.raises(kind) as info:
        call()
    message = str(info.value)
    assert "\n" not in message
    for word in words:
        assert word in message, message
    return message


@pytest.fixture
def fsynced(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """(device, inode) of everything fsynced during the test, in order."""
    calls: list[tuple[int, int]] = []
    real = os.fsync

    def spy(fd: int) -> None:
        info = os.fstat(fd)
        calls.append((info.st_dev, info.st_ino))
        real(fd)

    monkeypatch.setattr(os, "fsync", spy)
    # syncfs flushes everything at once and would hide which folders a call meant to sync.
    monkeypatch.setattr("engine.fsio.batch._syncfs", None)
    return calls


def _inode(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_dev, info.st_ino


# -- create ---------------------------------------------------------------------------------------


def test_create_writes_the_text_makes_folders_and_returns_its_hash(
    world: World, fsynced: list[tuple[int, int]]
) -> None:
    p = world.proj
    digest = create_text(p, "scripts/drafts/take 2/intro.md", "# Intro\nhéllo\n")
    target = p / "scripts" / "drafts" / "take 2" / "intro.md"
    assert target.read_bytes() == "# Intro\nhéllo\n".encode()
    assert digest == _sha(target.read_bytes())
    assert read_text(p, "scripts/drafts/take 2/intro.md")[1] == digest
    assert _inode(target.parent) in fsynced, "the new name was not made durable"
    assert create_text(p, "./notes.txt") == _sha(b"")
    assert (p / "notes.txt").read_bytes() == b""
    assert "scripts/drafts/take 2/intro.md" in script_files(p)


def test_create_refuses_a_taken_name_and_leaves_it_alone(world: World) -> None:
    p = world.proj
    message = _one_line(
        lambda: create_text(p, "scripts/script.md", "overwritten"),
        FileExists,
        "scripts/script.md already exists",
    )
    assert "choose another name" in message
    assert (p / "scripts" / "script.md").read_bytes() == SCRIPT
    (p / "scripts" / "folder.md").mkdir()
    _one_line(lambda: create_text(p, "scripts/folder.md"), FileExists, "already exists")
    assert (p / "scripts" / "folder.md").is_dir()


def test_create_never_replaces_a_file_that_appears_while_it_writes(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another program creates the name between the check and the rename (simulated in the
    fsync of the temp file): its file survives and create_text says the name is taken."""
    p = world.proj
    real = os.fsync

    def intrude(fd: int) -> None:
        real(fd)
        if not (p / "scripts" / "race.md").exists():
            (p / "scripts" / "race.md").write_bytes(b"theirs")

    monkeypatch.setattr(os, "fsync", intrude)
    _one_line(lambda: create_text(p, "scripts/race.md", "mine"), FileExists, "scripts/race.md")
    assert (p / "scripts" / "race.md").read_bytes() == b"theirs"


@pytest.mark.parametrize(
    ("rel", "words"),
    [
        ("project.json", "is the timeline"),
        ("./project.json", "is the timeline"),
        ("Project.JSON", "is the timeline"),
        ("assets/new.md", "inside assets/"),
        ("Assets/new.md", "inside Assets/"),
        ("proxies/new.txt", "inside proxies/"),
        ("previews/deep/new.md", "inside previews/"),
        ("scripts/picture.png", "the suffix '.png'"),
        ("scripts/README", "no suffix"),
        ("scripts/.x" + sandbox.TEMP_SUFFIX, "the suffix '.reelcut-tmp'"),
    ],
)
def test_create_refuses_outside_the_script_area(world: World, rel: str, words: str) -> None:
    p = world.proj
    before = _snapshot(p)
    _one_line(lambda: create_text(p, rel, "x"), NotAScript, words)
    assert _snapshot(p) == before


ESCAPES = [
    "../x.md",
    "scripts/../../x.md",
    "scripts/../script.md",
    "../proj_evil/x.md",
    "/etc/passwd.md",
    "/tmp/x.md",
    "scripts/\0x.md",
    ".reelcut/x.md",
    "",
]


@pytest.mark.parametrize("rel", ESCAPES)
def test_escapes_are_refused_by_every_operation(world: World, rel: str) -> None:
    p = world.proj
    before = _snapshot(p)
    digest = _sha(SCRIPT)
    _one_line(lambda: create_text(p, rel, "pwned"), PathRefused)
    _one_line(lambda: rename_text(p, "scripts/script.md", rel, digest), PathRefused)
    _one_line(lambda: rename_text(p, rel, "scripts/new.md", digest), PathRefused)
    _one_line(lambda: delete_text(p, rel, digest), PathRefused)
    assert _snapshot(p) == before


def test_an_absolute_path_into_the_project_is_refused_too(world: World) -> None:
    inside = str(world.proj / "scripts" / "new.md")
    _one_line(lambda: create_text(world.proj, inside), PathRefused, "is absolute")
    assert not (world.proj / "scripts" / "new.md").exists()


# -- links ----------------------------------------------------------------------------------------


def test_a_folder_link_out_of_the_project_is_never_used(world: World) -> None:
    p = world.proj
    os.symlink(world.evil, p / "out")
    digest = _sha(SCRIPT)
    _one_line(lambda: create_text(p, "out/new.md", "pwned"), PathRefused, "symbolic link")
    _one_line(lambda: create_text(p, "out/sub/new.md", "pwned"), PathRefused, "symbolic link")
    _one_line(
        lambda: rename_text(p, "scripts/script.md", "out/x2.md", digest),
        PathRefused,
        "symbolic link",
    )
    _one_line(
        lambda: rename_text(p, "out/x.md", "scripts/stolen.md", _sha(DECOY)),
        PathRefused,
        "symbolic link",
    )
    _one_line(lambda: delete_text(p, "out/x.md", _sha(DECOY)), PathRefused, "symbolic link")
    assert (p / "scripts" / "script.md").read_bytes() == SCRIPT
    assert not (p / "scripts" / "stolen.md").exists()


def test_a_file_link_out_of_the_project_is_never_followed(world: World) -> None:
    p = world.proj
    os.symlink(world.secret, p / "scripts" / "leak.md")
    leaked = _sha(SECRET)
    _one_line(lambda: create_text(p, "scripts/leak.md", "pwned"), FileExists, "already exists")
    _one_line(
        lambda: rename_text(p, "scripts/leak.md", "scripts/stolen.md", leaked),
        PathRefused,
        "is a symbolic link",
    )
    _one_line(lambda: delete_text(p, "scripts/leak.md", leaked), PathRefused, "symbolic link")
    assert os.readlink(p / "scripts" / "leak.md") == str(world.secret)
    assert not (p / "scripts" / "stolen.md").exists()


def test_a_dangling_link_is_a_taken_name_and_its_target_is_never_created(
    world: World, tmp_path: Path
) -> None:
    p = world.proj
    target = tmp_path / "created_outside.md"
    os.symlink(target, p / "scripts" / "dangling.md")
    _one_line(lambda: create_text(p, "scripts/dangling.md", "pwned"), FileExists)
    _one_line(
        lambda: rename_text(p, "scripts/script.md", "scripts/dangling.md", _sha(SCRIPT)),
        FileExists,
    )
    assert not target.exists()
    assert (p / "scripts" / "script.md").read_bytes() == SCRIPT


# -- rename ---------------------------------------------------------------------------------------


def test_rename_moves_the_file_and_makes_both_folders_durable(
    world: World, fsynced: list[tuple[int, int]]
) -> None:
    p = world.proj
    inode = _inode(p / "scripts" / "script.md")
    rename_text(p, "scripts/script.md", "chapters/one/script.md", _sha(SCRIPT))
    moved = p / "chapters" / "one" / "script.md"
    assert moved.read_bytes() == SCRIPT
    assert _inode(moved) == inode, "a rename must move the file, not copy it"
    assert not (p / "scripts" / "script.md").exists()
    assert (p / "scripts").is_dir()
    assert _inode(moved.parent) in fsynced
    assert _inode(p / "scripts") in fsynced


def test_rename_gives_a_file_without_a_text_suffix_one(world: World) -> None:
    p = world.proj
    (p / "scripts" / "notes").write_bytes(b"plain")
    rename_text(p, "scripts/notes", "scripts/notes.txt", _sha(b"plain"))
    assert (p / "scripts" / "notes.txt").read_bytes() == b"plain"


def test_rename_without_renameat2_links_then_unlinks(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fallback for file systems without RENAME_NOREPLACE keeps the same promises."""
    monkeypatch.setattr("engine.fsio.durable._renameat2", None)
    p = world.proj
    (p / "scripts" / "taken.md").write_bytes(b"taken")
    _one_line(
        lambda: rename_text(p, "scripts/script.md", "scripts/taken.md", _sha(SCRIPT)),
        FileExists,
    )
    assert (p / "scripts" / "taken.md").read_bytes() == b"taken"
    rename_text(p, "scripts/script.md", "scripts/free.md", _sha(SCRIPT))
    assert (p / "scripts" / "free.md").read_bytes() == SCRIPT
    assert not (p / "scripts" / "script.md").exists()
    create_text(p, "scripts/made.md", "made")
    assert (p / "scripts" / "made.md").read_bytes() == b"made"
    _one_line(lambda: create_text(p, "scripts/made.md", "again"), FileExists)


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(lambda b: b + b"x", id="one byte more"),
        pytest.param(lambda b: b.replace(b"\n", b"\r\n"), id="LF to CRLF"),
        pytest.param(lambda b: b.upper(), id="same length"),
    ],
)
def test_rename_and_delete_refuse_a_file_that_changed(
    world: World, edit: Callable[[bytes], bytes]
) -> None:
    p = world.proj
    changed = edit(SCRIPT)
    (p / "scripts" / "script.md").write_bytes(changed)
    stale = _sha(SCRIPT)
    calls: list[Callable[[], None]] = [
        lambda: rename_text(p, "scripts/script.md", "scripts/moved.md", stale),
        lambda: delete_text(p, "scripts/script.md", stale),
    ]
    for call in calls:
        with pytest.raises(FileConflict) as info:
            call()
        assert (info.value.expected, info.value.actual) == (stale, _sha(changed))
        assert "changed on disk" in str(info.value)
    assert (p / "scripts" / "script.md").read_bytes() == changed
    assert not (p / "scripts" / "moved.md").exists()


def test_rename_and_delete_of_a_file_that_is_gone_is_a_conflict(world: World) -> None:
    p = world.proj
    digest = _sha(SCRIPT)
    (p / "scripts" / "script.md").unlink()
    for call in (
        lambda: rename_text(p, "scripts/script.md", "scripts/moved.md", digest),
        lambda: delete_text(p, "scripts/script.md", digest),
    ):
        message = _one_line(call, FileConflict, "no file")
        assert "scripts/script.md" in message
    assert not (p / "scripts" / "moved.md").exists()


def test_rename_refuses_a_taken_name(world: World) -> None:
    p = world.proj
    (p / "scripts" / "other.md").write_bytes(b"other")
    digest = _sha(SCRIPT)
    _one_line(
        lambda: rename_text(p, "scripts/script.md", "scripts/other.md", digest),
        FileExists,
        "scripts/other.md already exists",
    )
    _one_line(lambda: rename_text(p, "scripts/script.md", "scripts//script.md", digest), FileExists)
    assert (p / "scripts" / "other.md").read_bytes() == b"other"
    assert (p / "scripts" / "script.md").read_bytes() == SCRIPT


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ("project.json", "scripts/project.json", "project.json is the timeline"),
        ("scripts/script.md", "project.json", "project.json is the timeline"),
        ("scripts/script.md", "assets/script.md", "inside assets/"),
        ("assets/a.md", "scripts/a.md", "inside assets/"),
        ("scripts/script.md", "scripts/script.exe", "the suffix '.exe'"),
        ("scripts/script.md", "scripts/script", "no suffix"),
    ],
)
def test_rename_refuses_outside_the_script_area(
    world: World, old: str, new: str, words: str
) -> None:
    p = world.proj
    before = _snapshot(p)
    base = _sha((p / old).read_bytes())
    _one_line(lambda: rename_text(p, old, new, base), NotAScript, words)
    assert _snapshot(p) == before


# -- delete ---------------------------------------------------------------------------------------


def test_delete_removes_the_file_durably_and_keeps_the_folder(
    world: World, fsynced: list[tuple[int, int]]
) -> None:
    p = world.proj
    create_text(p, "scripts/sub/only.md", "bye")
    fsynced.clear()
    delete_text(p, "scripts/sub/only.md", _sha(b"bye"))
    assert not (p / "scripts" / "sub" / "only.md").exists()
    assert (p / "scripts" / "sub").is_dir()
    assert _inode(p / "scripts" / "sub") in fsynced, "the removal was not made durable"


@pytest.mark.parametrize(
    ("rel", "words"),
    [("project.json", "is the timeline"), ("assets/a.md", "inside assets/")],
)
def test_delete_refuses_outside_the_script_area(world: World, rel: str, words: str) -> None:
    p = world.proj
    data = (p / rel).read_bytes()
    _one_line(lambda: delete_text(p, rel, _sha(data)), NotAScript, words)
    assert (p / rel).read_bytes() == data


# -- workflows ------------------------------------------------------------------------------------

GOOD = """{
  "schema_version": 1,
  "name": "Tighten",
  "description": "Cuts filler words.",
  "system_instruction": "Remove filler words; keep the meaning.",
  "model": "gemini-2.5-flash",
  "thinking_level": "low",
  "temperature": 1
}
"""


def _write_workflow(root: Path, name: str, text: str | bytes) -> str:
    data = text.encode() if isinstance(text, str) else text
    folder = root / "scripts" / "workflows"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    return f"scripts/workflows/{name}"


def test_workflow_schema_is_a_valid_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(WORKFLOW_SCHEMA)
    assert WORKFLOW_SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_load_workflow_reads_every_field(world: World) -> None:
    rel = _write_workflow(world.proj, "tighten.json", GOOD)
    workflow = load_workflow(world.proj, "./" + rel)
    assert workflow == Workflow(
        path=rel,
        sha256=_sha(GOOD.encode()),
        name="Tighten",
        system_instruction="Remove filler words; keep the meaning.",
        schema_version=1,
        description="Cuts filler words.",
        model="gemini-2.5-flash",
        thinking_level="low",
        temperature=1.0,
    )
    assert isinstance(workflow.temperature, float)
    assert check_text(rel, GOOD) is None


def test_optional_fields_default_to_none(world: World) -> None:
    text = '{"schema_version": 1, "name": "n", "system_instruction": "s"}'
    workflow = load_workflow(world.proj, _write_workflow(world.proj, "min.json", text))
    assert (workflow.description, workflow.model, workflow.thinking_level) == (None, None, None)
    assert workflow.temperature is None


def _bad(field_lines: str) -> str:
    return "{\n" + field_lines + "\n}\n"


BASE = '  "schema_version": 1,\n  "name": "Editor",\n'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            _bad('  "schema_version": 1,\n  "name": "Editor"'),
            '1:1: $: missing the key "system_instruction" (the instructions the model follows',
            id="missing system_instruction",
        ),
        pytest.param(
            _bad(BASE + '  "sytem_instruction": "Be brief."'),
            '4:3: $.sytem_instruction: unknown key "sytem_instruction"; '
            'did you mean "system_instruction"?',
            id="misspelt key",
        ),
        pytest.param(
            _bad(BASE + '  "system_instruction": "Be brief.",\n  "colour": "red"'),
            '5:3: $.colour: unknown key "colour"; the keys allowed here are schema_version, name,',
            id="unknown key",
        ),
        pytest.param(
            _bad(BASE + '  "system_instruction": "Be brief.",\n  "thinking_level": "max"'),
            '5:21: $.thinking_level: must be one of "minimal", "low", "medium", "high", got "max"',
            id="wrong thinking_level",
        ),
        pytest.param(
            _bad(BASE + '  "system_instruction": "Be brief.",\n  "temperature": "hot"'),
            '5:18: $.temperature: expected a number, got "hot"',
            id="temperature not a number",
        ),
        pytest.param(
            _bad(BASE + '  "system_instruction": "Be brief.",\n  "temperature": true'),
            "5:18: $.temperature: expected a number, got true",
            id="temperature a boolean",
        ),
        pytest.param(
            _bad(BASE + '  "system_instruction": "Be brief.",\n  "temperature": 2.5'),
            "5:18: $.temperature: must be a number from 0 to 2, got 2.5",
            id="temperature out of range",
        ),
        pytest.param(
            _bad('  "schema_version": 1,\n  "name": 7,\n  "system_instruction": "x"'),
            "3:11: $.name: expected a string, got 7",
            id="name not a string",
        ),
        pytest.param(
            _bad('  "schema_version": 1,\n  "name": "n",\n  "system_instruction": " \\n "'),
            "4:25: $.system_instruction: must not be only spaces",
            id="blank system_instruction",
        ),
        pytest.param(
            _bad('  "schema_version": 1,\n  "name": "",\n  "system_instruction": "x"'),
            "3:11: $.name: must not be empty",
            id="empty name",
        ),
        pytest.param(
            _bad('  "schema_version": 2,\n  "name": "n",\n  "system_instruction": "x"'),
            "2:21: $.schema_version: must be 1, got 2",
            id="newer version",
        ),
        pytest.param(
            _bad('  "schema_version": true,\n  "name": "n",\n  "system_instruction": "x"'),
            "2:21: $.schema_version: must be 1, got true",
            id="version a boolean",
        ),
        pytest.param(
            '[\n  "not", "an object"\n]',
            "1:1: $: expected an object, got an array",
            id="not an object",
        ),
        pytest.param(
            _bad(BASE + '  "system_instruction": "x"\n  "model": "m"'),
            "5:3: not valid JSON: expecting ',' delimiter",
            id="invalid JSON",
        ),
        pytest.param(
            _bad(BASE + '  "system_instruction": "x",\n  "name": "again"'),
            '5:3: $.name: the key "name" appears more than once in one object',
            id="repeated key",
        ),
    ],
)
def test_a_broken_workflow_says_where_and_what_to_fix(
    world: World, text: str, expected: str
) -> None:
    rel = _write_workflow(world.proj, "broken.json", text)
    message = _one_line(lambda: load_workflow(world.proj, rel), InvalidWorkflow)
    assert message.startswith(f"{rel}:{expected}"), message
    problem = check_text(rel, text)
    assert problem is not None
    assert f"{problem.line}:{problem.column}: {problem.message}".startswith(expected)
    if "JSON" not in expected and "more than once" not in expected:
        assert check_text("scripts/not_a_workflow.json", text) is None


def test_a_workflow_that_is_not_text_is_invalid(world: World) -> None:
    rel = _write_workflow(world.proj, "latin1.json", b'{\n  "name": "\xc3\xa9caf\xe9"}')
    _one_line(
        lambda: load_workflow(world.proj, rel),
        InvalidWorkflow,
        f"{rel}:2:16: not UTF-8 text (byte 18); save the file as UTF-8",
    )
    big = _write_workflow(world.proj, "big.json", b" " * (scripts.MAX_TEXT_BYTES + 1))
    _one_line(lambda: load_workflow(world.proj, big), InvalidWorkflow, "at most 2 MB")


def test_a_missing_workflow_is_not_found(world: World) -> None:
    _one_line(lambda: load_workflow(world.proj, "scripts/workflows/none.json"), PathNotFound)
    _one_line(lambda: load_workflow(world.proj, "../proj_evil/x.md"), PathRefused, "'..'")


def test_list_workflows(world: World) -> None:
    assert list_workflows(world.proj) == []
    for name in ("b.json", "a.json", "C.JSON", "notes.md"):
        _write_workflow(world.proj, name, GOOD)
    (world.proj / "scripts" / "workflows" / "old").mkdir()
    (world.proj / "scripts" / "workflows" / "old" / "z.json").write_text(GOOD)
    os.symlink(world.evil / "x.md", world.proj / "scripts" / "workflows" / "link.json")
    assert list_workflows(world.proj) == [
        "scripts/workflows/C.JSON",
        "scripts/workflows/a.json",
        "scripts/workflows/b.json",
    ]


def test_the_demo_workflow_and_every_demo_script_pass_the_checks(demo_dir: Path) -> None:
    assert list_workflows(demo_dir) == ["scripts/workflows/editor.json"]
    workflow = load_workflow(demo_dir, "scripts/workflows/editor.json")
    assert workflow.name == "Editor"
    assert workflow.system_instruction.startswith("You are the editing assistant")
    assert workflow.sha256 == _sha((demo_dir / "scripts/workflows/editor.json").read_bytes())
    for rel in script_files(demo_dir):
        assert check_text(rel, read_text(demo_dir, rel)[0]) is None, rel
