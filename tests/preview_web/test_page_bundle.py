"""The preview page's bundle, loaded in real headless Chromium against the demo project.

The page is served by a plain stdlib HTTP server here (the Starlette server comes with the
preview issue); Chromium runs the bundle, fetches project.json and renders the Remotion Player.
A missing bundle is a failure: ``./dev test`` builds it before pytest runs.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from engine.projectfile import load_project
from preview_web.build import STATIC_DIR, WEB_DIR, bundle_is_fresh, inputs_hash

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--mute-audio",
    "--autoplay-policy=no-user-gesture-required",
]


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def served_demo(demo_dir: Path, tmp_path: Path) -> Iterator[str]:
    """The built page beside the demo's project.json and assets, on a loopback HTTP server."""
    site = tmp_path / "site"
    site.mkdir()
    for name in ("index.html", "bundle.js"):
        shutil.copy(STATIC_DIR / name, site / name)
    shutil.copy(demo_dir / "project.json", site / "project.json")
    (site / "assets").symlink_to(demo_dir / "assets")
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    finally:
        server.shutdown()
        server.server_close()


def chromium(*args: str, tmp_path: Path) -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    assert exe, "chromium is not installed; ./dev test installs it (or names it when not root)"
    profile = tmp_path / "chromium-profile"
    result = subprocess.run(
        [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=90,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_bundle_is_built_from_current_sources() -> None:
    assert (STATIC_DIR / "bundle.js").is_file(), "no bundle: run ./dev setup"
    assert bundle_is_fresh(), "the bundle is older than preview_web/web: run ./dev setup"


def test_fresh_check_notices_a_changed_source(tmp_path: Path) -> None:
    web = tmp_path / "web"
    shutil.copytree(WEB_DIR, web, ignore=shutil.ignore_patterns("node_modules"))
    before = inputs_hash(web)
    main = web / "src" / "main.tsx"
    main.write_text(main.read_text("utf-8") + "\n// changed\n", "utf-8")
    assert inputs_hash(web) != before


def test_page_plays_the_demo_project_in_chromium(
    served_demo: str, demo_dir: Path, tmp_path: Path
) -> None:
    project = load_project(demo_dir)
    dom = chromium("--virtual-time-budget=15000", "--dump-dom", served_demo, tmp_path=tmp_path)
    root = re.search(r'<div id="root"[^>]*>', dom)
    assert root, dom[:2000]
    assert 'data-state="ready"' in root.group(0), dom[:2000]
    assert f'data-frames="{project.duration}"' in root.group(0)
    assert f"<h1>{project.name}</h1>" in dom
    # The Player mounted the composition: one layer per track, the top video track (listed
    # first) drawn last so it is in front, and the clips under the playhead (frame 0) rendered.
    video = [t.name for t in project.tracks if t.kind == "video"]
    layers = re.findall(r'data-track="([^"]+)"', dom)
    assert [n for n in layers if n in video] == list(reversed(video))
    at_zero = [c for t in project.tracks for c in t.clips if c.start == 0 and t.kind == "video"]
    assert at_zero
    for clip in at_zero:
        assert f'data-clip="{clip.id}"' in dom
    assert f"{project.width}×{project.height}" in dom


def test_page_reports_a_missing_project(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    for name in ("index.html", "bundle.js"):
        shutil.copy(STATIC_DIR / name, site / name)
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/index.html"
        dom = chromium("--virtual-time-budget=10000", "--dump-dom", url, tmp_path=tmp_path)
    finally:
        server.shutdown()
        server.server_close()
    assert 'data-state="error"' in dom
    assert "project.json: HTTP 404" in dom


def test_npm_dependencies_are_exact_and_remotion_is_one_version() -> None:
    """package.json names exact versions (no ranges) and the lock resolves every `remotion`
    and `@remotion/*` package, nested ones included, to one version: two copies make the page
    throw "Multiple versions of Remotion detected" and render nothing."""
    import json

    manifest = json.loads((WEB_DIR / "package.json").read_text())
    for section in ("dependencies", "devDependencies"):
        for name, spec in manifest.get(section, {}).items():
            assert re.fullmatch(r"\d+\.\d+\.\d+", spec), f"{name}: {spec} is not an exact version"
    lock = json.loads((WEB_DIR / "package-lock.json").read_text())
    remotion = {
        path: entry["version"]
        for path, entry in lock["packages"].items()
        if re.search(r"node_modules/(remotion|@remotion/[^/]+)$", path)
    }
    assert "node_modules/remotion" in remotion and "node_modules/@remotion/player" in remotion
    assert len(set(remotion.values())) == 1, remotion
    assert manifest["dependencies"]["remotion"] == remotion["node_modules/remotion"]
