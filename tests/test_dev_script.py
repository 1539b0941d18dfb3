"""The set-up script behind the README commands: what it does when system programs are missing."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# What the script itself needs to run; everything else it looks for is left off PATH.
BASICS = ("bash", "cat", "sha256sum", "cut", "awk", "tr", "id", "sed", "dirname", "tmux")


def run_setup_as_nobody(tmp: Path) -> subprocess.CompletedProcess[str]:
    """`./dev setup` as the unprivileged user `nobody`, with only BASICS on PATH."""
    bindir = tmp / "bin"
    bindir.mkdir()
    for name in BASICS:
        found = shutil.which(name)
        assert found, f"{name} is needed by this test"
        (bindir / name).symlink_to(found)
    setpriv = shutil.which("setpriv") or "setpriv"
    return subprocess.run(
        [
            setpriv,
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "bash",
            REPO / "dev",
            "setup",
        ],
        capture_output=True,
        text=True,
        env={"PATH": str(bindir), "HOME": str(tmp)},
        timeout=60,
    )


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root")
def test_non_root_names_what_is_missing() -> None:
    """Without root, setup stops at once with one line naming the missing packages."""
    # pytest's tmp_path sits under a root-only folder; the unprivileged user must reach this one.
    with tempfile.TemporaryDirectory(prefix="reelcut-nonroot-") as tmp:
        os.chmod(tmp, 0o755)
        res = run_setup_as_nobody(Path(tmp))
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    line = lines[0]
    assert line.startswith("reelcut setup: missing system packages:")
    for package in ("python3", "ffmpeg", "chromium", "espeak-ng", "nodejs", "npm"):
        assert package in line
    assert "tmux" not in line
    assert "sudo apt-get install -y" in line


def test_missing_lists_nothing_when_all_is_installed() -> None:
    """On a machine the set-up has run on, nothing is missing (the CI machine, for one)."""
    res = subprocess.run(["bash", str(REPO / "dev"), "missing"], capture_output=True, text=True)
    assert res.returncode == 0
    assert res.stdout.strip() == ""


# -- the lock ------------------------------------------------------------------------------------

UV = Path(sys.executable).with_name("uv")


def uv_env() -> dict[str, str]:
    """As ./dev runs uv: no user config, never a downloaded Python, the repository's .venv."""
    return {
        **os.environ,
        "UV_NO_CONFIG": "1",
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_PROJECT_ENVIRONMENT": str(REPO / ".venv"),
    }


def test_the_tests_run_in_exactly_the_locked_environment() -> None:
    """Every installed package is the version uv.lock pins, and nothing else is installed."""
    res = subprocess.run(
        [UV, "sync", "--locked", "--extra", "dev", "--check"],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=uv_env(),
    )
    assert res.returncode == 0, res.stderr


def test_the_lock_pins_every_package_with_hashes_and_textual_exactly() -> None:
    lock = tomllib.loads((REPO / "uv.lock").read_text())
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    packages = [p for p in lock["package"] if p["name"] != "reelcut"]
    assert len(packages) > 50
    for p in packages:
        files = [*p.get("wheels", []), *([p["sdist"]] if "sdist" in p else [])]
        assert files and all(f["hash"].startswith("sha256:") for f in files), p["name"]
    assert (
        "textual==" + next(p["version"] for p in packages if p["name"] == "textual")
        in (pyproject["project"]["dependencies"])
    )
    uv_pin = pyproject["dependency-groups"]["bootstrap"][0]
    assert uv_pin == f"uv=={next(p['version'] for p in packages if p['name'] == 'uv')}"
    assert pyproject["tool"]["uv"]["required-version"] == uv_pin.removeprefix("uv")
    (setuptools,) = pyproject["build-system"]["requires"]
    assert re.fullmatch(r"setuptools==[\d.]+", setuptools)


def test_setup_refuses_when_pyproject_and_the_lock_disagree(tmp_path: Path) -> None:
    """A dependency added to pyproject.toml without `./dev lock`: one line saying what to do,
    before anything is installed."""
    for name in ("dev", "uv.lock"):
        shutil.copy(REPO / name, tmp_path / name)
    text = (REPO / "pyproject.toml").read_text()
    (tmp_path / "pyproject.toml").write_text(
        text.replace('    "msgspec', '    "six>=1.16",\n    "msgspec', 1)
    )
    (tmp_path / ".venv").symlink_to(REPO / ".venv")
    res = subprocess.run(
        ["bash", str(tmp_path / "dev"), "setup"], capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 1
    assert res.stderr.strip().splitlines() == [
        "reelcut setup: pyproject.toml and uv.lock disagree; run ./dev lock, then commit uv.lock"
    ]
    assert not (tmp_path / "node_modules").exists() and not (tmp_path / ".stamps").exists()
