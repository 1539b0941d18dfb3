"""The tmux settings that break keys or pictures (`tui.tmux_settings`): what ``tmux show -gv``
prints, fed through the seam, and the one status line the editor shows for it."""

from __future__ import annotations

import os
import subprocess

import pytest

from tui import tmux_settings

DEFAULTS = {"escape-time": "500\n", "extended-keys": "off\n", "allow-passthrough": "off\n"}
GOOD = {"escape-time": "10\n", "extended-keys": "on\n", "allow-passthrough": "on\n"}


def shows(answers: dict[str, str | None]) -> tmux_settings.Show:
    asked: list[str] = []

    def show(name: str) -> str | None:
        asked.append(name)
        return answers.get(name)

    show.asked = asked  # type: ignore[attr-defined]
    return show


def test_tmux_defaults_break_three_things() -> None:
    found = tmux_settings.problems(shows(DEFAULTS))
    assert found == [
        "escape-time 500ms: Esc+key = Alt+key",
        "extended-keys off: no Ctrl+Shift+Z",
        "allow-passthrough off: no pictures",
    ]
    line = tmux_settings.message(found)
    assert line == (
        "tmux: escape-time 500ms: Esc+key = Alt+key, extended-keys off: no Ctrl+Shift+Z, "
        "allow-passthrough off: no pictures (README: Over SSH)"
    )
    assert len(line) <= 140, "fits a 160-column status line with room for the timecode"


def test_good_settings_say_nothing() -> None:
    assert tmux_settings.problems(shows(GOOD)) == []
    assert tmux_settings.message([]) == ""


@pytest.mark.parametrize(
    ("escape", "flagged"), [("0", False), ("10", False), ("50", False), ("51", True), ("500", True)]
)
def test_escape_time_over_50_ms_is_flagged(escape: str, flagged: bool) -> None:
    found = tmux_settings.problems(shows(GOOD | {"escape-time": escape}))
    assert bool(found) is flagged


@pytest.mark.parametrize("value", [None, "", "garbage", "always"])
def test_an_unknown_answer_is_not_a_problem(value: str | None) -> None:
    """An old tmux without an option (``show`` fails: None) or a value we do not know says
    nothing rather than a wrong fix; extended-keys 'always' is fine."""
    answers = {name: value for name in tmux_settings.OPTIONS}
    assert tmux_settings.problems(shows(answers)) == []


def test_outside_tmux_nothing_is_asked() -> None:
    show = shows(DEFAULTS)
    assert tmux_settings.check({"TERM": "xterm-256color"}, show) == ""
    assert show.asked == []  # type: ignore[attr-defined]
    line = tmux_settings.check({"TMUX": "/tmp/tmux-0/default,1,0"}, show)
    assert "escape-time 500ms" in line
    assert show.asked == list(tmux_settings.OPTIONS)  # type: ignore[attr-defined]


def test_check_asks_the_tmux_it_runs_in(monkeypatch: pytest.MonkeyPatch) -> None:
    """`check` with the real ``tmux show`` against a private tmux server ($TMUX names its
    socket, as inside a pane): its defaults are flagged, a fixed option no longer is."""
    sock = f"reelcut-settings-{os.getpid()}"
    subprocess.run(["tmux", "-L", sock, "new-session", "-d", "sleep", "30"], check=True)
    try:
        path = subprocess.run(
            ["tmux", "-L", sock, "display", "-p", "#{socket_path}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        monkeypatch.setenv("TMUX", f"{path},1,0")
        line = tmux_settings.check()
        assert "escape-time 500ms" in line and "allow-passthrough off" in line
        subprocess.run(["tmux", "-L", sock, "set", "-sg", "escape-time", "10"], check=True)
        subprocess.run(["tmux", "-L", sock, "set", "-g", "allow-passthrough", "on"], check=True)
        line = tmux_settings.check()
        assert "escape-time" not in line and "allow-passthrough" not in line
        assert "extended-keys off" in line
    finally:
        subprocess.run(["tmux", "-L", sock, "kill-server"], capture_output=True)
