"""Files on disk, written so that a user's work is never lost and nothing outside is touched.

- `engine.fsio.durable`: what a reelcut temp file is, the one atomic and durable write (temp
  file, fsync, rename, fsync of the folder) and the one cleanup of what killed writers left.
- `engine.fsio.paths`: the lexical rules a tool-supplied path must pass, and the refusals.
- `engine.fsio.walk`: walking a checked path from the project folder by folder descriptors,
  never through a link.
- `engine.fsio.files`: reading, writing, renaming, removing and listing the project's files.
- `engine.fsio.batch`: several files replaced as one staged commit with few durability barriers.

Callers use `engine.sandbox` (the tools' view of all but `durable`) or `engine.fsio.durable`.
"""
