"""Fixtures shared by every test area: the demo project, built once from real media."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.demo import make_demo


@pytest.fixture(scope="session")
def demo_master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo project, generated once per run with real ffmpeg and espeak-ng. Do not modify."""
    root = tmp_path_factory.mktemp("demo-master") / "demo"
    make_demo(root)
    return root


@pytest.fixture
def demo_dir(demo_master: Path, tmp_path: Path) -> Path:
    """A private copy of the demo project that a test may change."""
    root = tmp_path / "demo"
    shutil.copytree(demo_master, root)
    return root
