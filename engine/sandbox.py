"""The one place that turns a tool-supplied path into a file inside a project directory.

Agent tools name files with strings such as ``scripts/script.md``; every such string passes
through these functions. They live in `engine.fsio`, one module per responsibility, and this
module gathers them under the name the tools, the ledger and the preview server import:

- `engine.fsio.paths`: the lexical rules (`normalize`) and the refusals (`PathRefused`,
  `PathNotFound`, `PathExists`);
- `engine.fsio.walk`: walking a path by folder descriptors, never through a link;
- `engine.fsio.files`: `read_bytes`, `read_many`, `write_atomic`, `rename`, `sync_parent`,
  `exists`, `stat`, `remove`, `list_files`;
- `engine.fsio.batch`: `Batch` (a staged multi-file commit) and `remove_temp_files`;
- `engine.fsio.durable`: the one atomic, durable write and what a temp file is (`TEMP_SUFFIX`).

Tests that replace a private helper (the durability barriers, ``renameat2``) patch the module
that owns it, not this one.
"""

from __future__ import annotations

from engine.fsio.batch import SYNCFS_DIRTY_LIMIT, Batch, remove_temp_files
from engine.fsio.durable import TEMP_SUFFIX
from engine.fsio.files import (
    exists,
    list_files,
    read_bytes,
    read_many,
    remove,
    rename,
    stat,
    sync_parent,
    write_atomic,
)
from engine.fsio.paths import (
    INTERNAL_DIR,
    MAX_NAME_BYTES,
    MAX_PATH_BYTES,
    PathExists,
    PathNotFound,
    PathRefused,
    normalize,
)

__all__ = [
    "INTERNAL_DIR",
    "MAX_NAME_BYTES",
    "MAX_PATH_BYTES",
    "SYNCFS_DIRTY_LIMIT",
    "TEMP_SUFFIX",
    "Batch",
    "PathExists",
    "PathNotFound",
    "PathRefused",
    "exists",
    "list_files",
    "normalize",
    "read_bytes",
    "read_many",
    "remove",
    "remove_temp_files",
    "rename",
    "stat",
    "sync_parent",
    "write_atomic",
]
