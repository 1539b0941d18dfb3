"""Where the preview page's bundle lives and whether it matches its sources.

``web/build.mjs`` writes ``static/build.json`` with a hash of its inputs; this module computes
the same hash (sha256 over ``"<sha256 of file>  <relative path>\\n"`` lines sorted by path) so
``./dev`` rebuilds only when a source, the lock file or the build script changed.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
WEB_DIR = PACKAGE_DIR / "web"
STATIC_DIR = PACKAGE_DIR / "static"


def _file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def input_files(web_dir: Path = WEB_DIR) -> list[str]:
    """The bundle's inputs, as sorted POSIX paths relative to ``web/``."""
    names = ["build.mjs", "package-lock.json"]
    names += [
        p.relative_to(web_dir).as_posix() for p in (web_dir / "src").rglob("*") if p.is_file()
    ]
    return sorted(names)


def inputs_hash(web_dir: Path = WEB_DIR) -> str:
    listing = "".join(f"{_file_sha256(web_dir / name)}  {name}\n" for name in input_files(web_dir))
    return hashlib.sha256(listing.encode()).hexdigest()


def bundle_is_fresh(web_dir: Path = WEB_DIR, static_dir: Path = STATIC_DIR) -> bool:
    """True when ``static/`` holds a complete page built from the current sources."""
    try:
        recorded = json.loads((static_dir / "build.json").read_text("utf-8"))["inputs"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    # render/: the export's Remotion bundle (engine.export.remotion), built with the page
    names = ("index.html", "bundle.js", "render/index.html", "render/bundle.js")
    complete = all((static_dir / n).is_file() for n in names)
    return complete and recorded == inputs_hash(web_dir)
