"""The set-up script behind the README commands: what it does when system programs are missing."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
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
