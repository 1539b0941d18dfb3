"""Debian's Chromium for the page tests and benchmarks, driven by Playwright (no download)."""

from __future__ import annotations

import os
import shutil
from typing import Any

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


async def launch(pw: Any) -> Any:
    """A headless Chromium from ``async_playwright()``; as root it needs ``--no-sandbox``."""
    assert CHROMIUM is not None, "chromium is not installed (./dev setup)"
    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    return await pw.chromium.launch(executable_path=CHROMIUM, args=args)
