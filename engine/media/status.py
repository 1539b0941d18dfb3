"""The state of each asset's media on disk, for the media bin: is its file there, is it still
the file it was imported as, which derivatives are built. And relink: a missing asset's file
put back from a copy found elsewhere.

Assets are content-addressed (``assets/<sha256>.<ext>``), so "changed" means the bytes no
longer hash to the name. Hashing every asset at every look would read gigabytes; a file whose
size differs from the recorded one is changed at once, and a file of the right size is hashed
once per (path, size, mtime) and remembered (`_VERIFIED`), so the bin's refreshes cost a
``stat`` per asset after the first.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from engine.errors import MediaError, ReelcutError
from engine.media.derivatives import derivative_paths, is_fresh
from engine.media.importer import store_bytes
from engine.model import Asset, Project

FileState = Literal["ok", "missing", "changed", "none"]
"""``none``: the asset has no bytes of its own (a text, a callout, a take being generated)."""

CHUNK = 1 << 20
_VERIFIED: dict[tuple[str, int, int], bool] = {}
"""(path, size, mtime_ns) -> whether those bytes hash to the file's name; bounded by
`_VERIFIED_MAX` (cleared when full: a project has far fewer assets)."""
_VERIFIED_MAX = 4096
_LOCK = threading.Lock()


@dataclass(frozen=True)
class AssetStatus:
    """One asset's media: the state of its file, and each derivative that applies to it by kind
    (``proxy``, ``thumbs``, ``peaks``) with whether a complete one is built."""

    file: FileState
    derivatives: dict[str, bool] = field(default_factory=dict)


def media_status(root: Path, project: Project) -> dict[str, AssetStatus]:
    """Every asset of ``project`` (at ``root``) by id: its file and its derivatives. Blocking
    (stats, and a hash of a file not verified before): run it on a worker thread."""
    return {a.id: asset_status(root, project, a) for a in project.assets}


def asset_status(root: Path, project: Project, asset: Asset, *, verify: bool = True) -> AssetStatus:
    """One asset's media; without ``verify`` a file of the recorded size counts as the one
    imported (no hash: what a one-shot command can afford for a large file)."""
    if asset.filename is None:
        return AssetStatus("none")
    path = root / "assets" / asset.filename
    state = file_state(path, asset, verify=verify)
    built = {
        kind: state == "ok" and is_fresh(p)
        for kind, p in derivative_paths(root, asset, project.rate).items()
    }
    return AssetStatus(state, built)


def file_state(path: Path, asset: Asset, *, verify: bool = True) -> FileState:
    try:
        st = path.stat()
    except OSError:
        return "missing"
    if not path.is_file():
        return "missing"
    if asset.media is not None and asset.media.size_bytes and st.st_size != asset.media.size_bytes:
        return "changed"
    if not verify:
        return "ok"
    key = (str(path), st.st_size, st.st_mtime_ns)
    with _LOCK:
        known = _VERIFIED.get(key)
    if known is None:
        try:
            known = _sha256(path) == asset.hash
        except OSError:
            return "missing"
        with _LOCK:
            if len(_VERIFIED) >= _VERIFIED_MAX:
                _VERIFIED.clear()
            _VERIFIED[key] = known
    return "ok" if known else "changed"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def relink(root: Path, project: Project, asset_id: str, source: Path) -> str:
    """Put back the file of asset ``asset_id`` from ``source``, which must hold exactly the
    bytes that were imported (their sha256 is the asset's name); a one-line summary.

    The project does not change: the asset keeps its id, its clips and its name. A file with
    other bytes is refused (nothing is written): it is other media, which an import brings in
    as an asset of its own. Blocking: run it on a worker thread, under the writer."""
    asset = project.asset(asset_id)
    if asset is None:
        raise ReelcutError(f"asset {asset_id!r} does not exist")
    if asset.filename is None or asset.ext is None:
        raise ReelcutError(f"{asset.name} has no media file to relink (a {asset.kind} asset)")
    if not source.is_file():
        raise ReelcutError(f"{source} is not a file; give the path of {asset.name}'s media")
    try:
        sha = _sha256(source)
    except OSError as exc:
        raise MediaError(f"{source.name}: cannot read it ({exc.strerror})") from None
    if sha != asset.hash:
        raise ReelcutError(
            f"{source.name} is not the media of {asset.name}: its bytes differ "
            f"(sha256 {sha[:12]}..., the asset's is {asset.hash[:12] if asset.hash else '?'}...); "
            "import it as a new asset and replace the clips with it"
        )
    target = root / "assets" / asset.filename
    if file_state(target, asset) == "ok":
        return f"{asset.name}: its file is already in place; nothing to relink"
    if target.exists() or target.is_symlink():
        # A changed file under the asset's name: the verified copy replaces it (store_bytes
        # leaves a file it finds under the name alone).
        target.unlink()
    stored = store_bytes(source, root / "assets", asset.ext)
    if stored != asset.hash:  # the file changed while it was copied
        (root / "assets" / f"{stored}.{asset.ext}").unlink(missing_ok=True)
        raise ReelcutError(f"{source.name} changed while it was copied; try again")
    return f"relinked {asset.name} to {source.name} (assets/{asset.filename})"
