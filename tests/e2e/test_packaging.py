"""reelcut as a package: the wheel built from this checkout, installed into a new virtual
environment outside the repository (the locked versions as constraints), runs on its own.

`reelcut --version` answers; `reelcut demo DIR` in a folder outside the repository makes the
demo and opens the editor in real tmux with its stylesheet (the status line and the timeline
are drawn); `reelcut serve` serves the page from the wheel's own built bundle; the state
database's migrations come from the wheel too (the demo's undo history works).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.tmux import Tmux

REPO = Path(__file__).resolve().parents[2]
UV = Path(sys.executable).with_name("uv")


def uv(*args: str | Path, cwd: Path = REPO) -> str:
    res = subprocess.run(
        [str(UV), *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=300
    )
    assert res.returncode == 0, res.stderr
    return res.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The bin/ folder of a new venv holding the wheel and the locked dependencies only."""
    if not UV.exists():
        pytest.fail("uv is not in the test environment; run the tests through ./dev test")
    tmp = tmp_path_factory.mktemp("packaged")
    dist = tmp / "dist"
    uv("build", "--wheel", "--out-dir", dist)
    (wheel,) = dist.glob("reelcut-*.whl")
    constraints = tmp / "constraints.txt"
    constraints.write_text(
        uv("export", "--frozen", "--no-emit-project", "--no-default-groups", "--no-hashes")
    )
    venv = tmp / "venv"
    uv("venv", "--python", sys.executable, venv, cwd=tmp)
    uv("pip", "install", "--python", venv / "bin" / "python", wheel, "-c", constraints, cwd=tmp)
    yield venv / "bin"
    shutil.rmtree(tmp, ignore_errors=True)


def clean_env() -> dict[str, str]:
    """No path back into the checkout: the installed package must stand alone."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}


def test_the_wheel_holds_the_page_the_styles_and_the_migrations(installed: Path) -> None:
    python = installed / "python"
    code = (
        "import importlib.resources as r, tui, engine.state.migrations as m, preview_web as p;"
        "print(sorted(x.name for x in r.files(p).joinpath('static').iterdir()));"
        "print(sorted(x.name for x in r.files(tui).joinpath('styles').iterdir()));"
        "print(len([x for x in r.files(m).iterdir() if x.name.endswith('.sql')]));"
        "print(tui.__file__)"
    )
    res = subprocess.run(
        [python, "-c", code], capture_output=True, text=True, cwd="/", env=clean_env()
    )
    assert res.returncode == 0, res.stderr
    static, styles, migrations, where = res.stdout.splitlines()
    assert "'bundle.js'" in static and "'index.html'" in static
    assert "'app.tcss'" in styles
    assert int(migrations) >= 7
    assert not where.startswith(str(REPO))  # imported from the venv, not the checkout

    version = subprocess.run(
        [installed / "reelcut", "--version"], capture_output=True, text=True, env=clean_env()
    )
    assert version.returncode == 0 and re.fullmatch(r"reelcut \d+\.\d+\.\d+\n", version.stdout)


def test_the_installed_reelcut_opens_the_demo_and_serves_the_page(
    installed: Path, tmp_path: Path
) -> None:
    root = tmp_path / "outside" / "demo"
    reelcut = str(installed / "reelcut")
    env_prefix = ["env", "-u", "PYTHONPATH", "-u", "VIRTUAL_ENV"]
    tmux = Tmux([*env_prefix, reelcut, "demo", str(root)])
    try:
        tmux.wait_text("Test pattern (audio)", timeout=90)
        screen = tmux.screen()
        assert "00:00:00:00" in screen and "snap on" in screen  # the status line, styled
        tmux.keys("C-b")  # blade: a history step, through the wheel's migrations
        tmux.wait_text("blade", timeout=20)
        tmux.keys("C-q")
        assert tmux.wait_exit() == 0
    finally:
        tmux.close()

    serve = subprocess.Popen(
        [reelcut, "serve", str(root), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
        cwd=tmp_path,
    )
    try:
        assert serve.stdout is not None
        line = serve.stdout.readline()
        assert line.startswith("preview: http://127.0.0.1:"), line
        url = line.split(" ", 1)[1].strip()
        # The token in the URL is exchanged for a cookie, as the browser does.
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        with browser.open(url, timeout=10) as page:
            html = page.read().decode()
        script = re.search(r'src="/?([^"]*bundle\.js[^"]*)"', html)
        assert script is not None, html
        origin = "/".join(url.split("/")[:3])
        with browser.open(f"{origin}/{script.group(1)}", timeout=10) as bundle:
            assert bundle.status == 200 and len(bundle.read()) > 100_000
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=20)


def test_every_python_package_of_the_source_is_in_the_wheel_list() -> None:
    """A new package (a folder with __init__.py) must be named in pyproject's packages, or the
    installed reelcut cannot import it (engine/fsio once was not)."""
    import tomllib

    top = Path(__file__).resolve().parents[2]
    listed = set(
        tomllib.loads((top / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(p.parent.relative_to(top).parts)
        for base in ("engine", "tui", "preview_web")
        for p in (top / base).rglob("__init__.py")
    }
    assert found - listed == set()
