"""`reelcut info` says when an asset's file is gone or changed, and calls none of its
derivatives ready then (it said "peaks ready" for a deleted file)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REELCUT = str(Path(sys.executable).with_name("reelcut"))


def test_info_marks_a_missing_or_changed_asset_file(demo_dir: Path) -> None:
    stored = demo_dir / "assets"
    tone = next(p for p in stored.glob("*.wav") if p.stat().st_size > 0)
    line = sorted(stored.glob("*.wav"))
    tone.unlink()
    other = next(p for p in line if p != tone)
    with open(other, "ab") as f:
        f.write(b"\0")  # another size than imported
    out = subprocess.run(
        [REELCUT, "info", str(demo_dir), "--json"], capture_output=True, text=True, check=True
    ).stdout
    assets = {a["file"]: a for a in json.loads(out)["assets"]}
    assert assets[tone.name]["media"] == "missing"
    assert not any(d["ready"] for d in assets[tone.name]["derivatives"].values())
    assert assets[other.name]["media"] == "changed"
    text = subprocess.run(
        [REELCUT, "info", str(demo_dir)], capture_output=True, text=True, check=True
    ).stdout
    assert "FILE MISSING: relink it in the editor's media bin" in text
    assert "FILE CHANGED" in text
