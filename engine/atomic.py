"""Atomic file replacement by plain path (`atomic_write`, `fsync_dir`), kept for older imports.

The one implementation (temp naming, the fsync sequence, the cleanup of stale temp files) lives
in `engine.fsio.durable`; new code imports it from there.
"""

from __future__ import annotations

from engine.fsio.durable import atomic_write, fsync_dir

__all__ = ["atomic_write", "fsync_dir"]
