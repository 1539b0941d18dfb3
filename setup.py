"""The wheel carries the preview page's built bundle: build it first when it is missing or stale.

Everything else is in pyproject.toml. An editable install (`./dev`, `uv sync`) skips this, as
`./dev` builds the bundle itself; `pip install .` or `uv build` from a fresh clone builds it
here with the machine's Node.js from preview_web/web/package-lock.json.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

WEB = Path(__file__).resolve().parent / "preview_web" / "web"


class BuildWithBundle(build_py):
    def run(self) -> None:
        if not getattr(self, "editable_mode", False):
            sys.path.insert(0, str(WEB.parent.parent))
            from preview_web.build import bundle_is_fresh

            if not bundle_is_fresh():
                if not (shutil.which("node") and shutil.which("npm")):
                    raise SystemExit(
                        "reelcut: building the wheel needs Node.js and npm for the preview "
                        "page's bundle (Debian: apt-get install nodejs npm)"
                    )
                if not (WEB / "node_modules").is_dir():
                    subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=WEB, check=True)
                subprocess.run(["node", "build.mjs"], cwd=WEB, check=True)
        super().run()


setup(cmdclass={"build_py": BuildWithBundle})
