"""A project directory on disk: where each part lives, creation, loading and locked saving.

```
myproject/
  project.json              the timeline (engine.projectfile)
  assets/<sha256>.<ext>     imported media, content-addressed, never modified
  proxies/ previews/        derived files, always rebuildable
  remotion/<asset-id>/      code of Remotion clips
  scripts/                  markdown and JSON the user and the agent write
  .reelcut/                 state database and the writer lock
```
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from engine.errors import ProjectInvalid, ReelcutError, StorageError
from engine.fsio.causes import describe, kind_of
from engine.fsio.durable import remove_stale_temps
from engine.lock import WriterLock
from engine.model import Project
from engine.projectfile import LAST_WRITE_FILE, PROJECT_FILE, load_project, save_project

SUBDIRS = ("assets", "proxies", "previews", "remotion", "scripts", ".reelcut")
IMPORT_TEMP_TARGET = "import"
"""The target name of the importer's temp files in assets/ (`engine.media.importer`): the
only temp files reelcut writes there, so the only ones its cleanup of assets/ removes."""


class ProjectDir:
    """Paths and persistence for one project directory."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).absolute()
        self._lock: WriterLock | None = None

    @property
    def project_json(self) -> Path:
        return self.root / PROJECT_FILE

    @property
    def assets(self) -> Path:
        return self.root / "assets"

    @property
    def scripts(self) -> Path:
        return self.root / "scripts"

    @property
    def state(self) -> Path:
        return self.root / ".reelcut"

    def asset_path(self, filename: str) -> Path:
        return self.assets / filename

    @classmethod
    def create(cls, root: Path | str, project: Project) -> ProjectDir:
        """Make a new project at ``root`` (absent or empty) and write its first project.json."""
        pd = cls(root)
        if pd.project_json.exists():
            raise ReelcutError(f"{pd.root}: already a project; open it with `reelcut {pd.root}`")
        if pd.root.exists() and (not pd.root.is_dir() or any(pd.root.iterdir())):
            raise ReelcutError(f"{pd.root}: exists and is not an empty folder; choose a new path")
        pd.root.mkdir(parents=True, exist_ok=True)
        for sub in SUBDIRS:
            (pd.root / sub).mkdir(exist_ok=True)
        with pd._take_lock("reelcut new"):
            pd.save(project)
        return pd

    def load(self) -> Project:
        self.require()
        return load_project(self.root)

    def require(self) -> None:
        """Raise ProjectInvalid, saying what to do, unless ``root`` holds a reelcut project.

        Checked before anything is created or removed, so a command aimed at a folder that is
        not a project leaves that folder exactly as it was. A project is a folder with a
        project.json that is a plain file (not a pipe, which would hang the reader, nor a
        folder, nor a link: saves replace the file, which would cut a link) and that is
        reelcut's: the project has its ``.reelcut/`` folder, or the file names reelcut's
        ``schema_version`` (a project copied without its state). Another tool's project.json
        (Nx, .NET) is not taken for one.
        """
        try:
            st = os.stat(self.root)
        except FileNotFoundError:
            raise ProjectInvalid(
                f"{self.root}: no such folder; create a project there with "
                f"`reelcut new {self.root}` (or `reelcut demo {self.root}` for the demo)"
            ) from None
        except OSError as exc:
            raise StorageError(f"{self.root}: cannot open the folder: {describe(exc)}") from None
        if not stat.S_ISDIR(st.st_mode):
            raise ProjectInvalid(f"{self.root}: is {kind_of(st.st_mode)}, not a project folder")
        try:
            st = os.lstat(self.project_json)
        except FileNotFoundError:
            raise self._not_a_project(f"no {PROJECT_FILE}") from None
        except OSError as exc:
            raise StorageError(f"{self.project_json}: cannot read it: {describe(exc)}") from None
        if stat.S_ISLNK(st.st_mode):
            raise ProjectInvalid(
                f"{self.project_json}: is a symbolic link (to {os.readlink(self.project_json)}); "
                "reelcut saves the timeline by replacing the file, which would cut the link: put "
                "the file itself in its place"
            )
        if not stat.S_ISREG(st.st_mode):
            raise ProjectInvalid(
                f"{self.project_json}: is {kind_of(st.st_mode)}, not a file; a project keeps "
                "its timeline there"
            )
        if not self.state.is_dir() and not self._names_our_schema():
            raise self._not_a_project(f"its {PROJECT_FILE} is not reelcut's")
        self._check_record()

    def _check_record(self) -> None:
        """Refuse a pipe (or a folder, a link) where reelcut records the hash of its last save:
        every command that reads project.json reads that record too, and a reader of a pipe
        waits forever."""
        record = self.root / LAST_WRITE_FILE
        try:
            mode = os.lstat(record).st_mode
        except OSError:
            return  # missing (or unreadable): the save is simply not trusted
        if not stat.S_ISREG(mode):
            raise ProjectInvalid(
                f"{record}: is {kind_of(mode)}, where reelcut records its last save (a file); "
                "remove it (reelcut writes it again at the next save)"
            )

    def _names_our_schema(self) -> bool:
        """Whether project.json (a plain file, checked) carries reelcut's ``schema_version``
        key: read only for a folder without ``.reelcut/``."""
        try:
            fd = os.open(self.project_json, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError as exc:
            raise StorageError(f"{self.project_json}: cannot read it: {describe(exc)}") from None
        with os.fdopen(fd, "rb") as f:
            return b'"schema_version"' in f.read()

    def _not_a_project(self, why: str) -> ProjectInvalid:
        empty = not any(self.root.iterdir())
        make = (
            f"`reelcut new {self.root}`"
            if empty
            else "`reelcut new NEWDIR` and `reelcut import NEWDIR FILE...`"
        )
        return ProjectInvalid(
            f"{self.root}: not a reelcut project ({why}); create one with {make}, or try "
            "`reelcut demo`"
        )

    def check_layout(self) -> None:
        """Raise ProjectInvalid if a file (or a pipe, or a link to one) sits where reelcut
        keeps one of its folders: checked before the writer lock, which would otherwise fail
        on it halfway. A missing folder is fine (the lock makes it)."""
        for sub in SUBDIRS:
            path = self.root / sub
            try:
                st = os.stat(path)
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise StorageError(f"{path}: cannot open it: {describe(exc)}") from None
            if not stat.S_ISDIR(st.st_mode):
                raise ProjectInvalid(
                    f"{path}: is {kind_of(st.st_mode)}, where reelcut keeps its {sub}/ folder; "
                    "move it out of the way to change the project (reading it still works)"
                )

    def writer(self, purpose: str = "") -> WriterLock:
        """Take the writer lock (ProjectLocked names the holder); tidy up after crashes."""
        if self._lock is None or not self._lock.held:
            self.require()
            self.check_layout()
        return self._take_lock(purpose)

    def _take_lock(self, purpose: str) -> WriterLock:
        if self._lock is None or not self._lock.held:
            lock = WriterLock(self.root, purpose=purpose).acquire()
            try:
                # Only what reelcut's own writers leave, by their exact temp names (see
                # engine.fsio.durable), and only in a project (`require` passed): a user's
                # file in these folders never matches. legacy: older reelcut wrote
                # .<name>.<12 hex>.tmp, and older importers .import-<12 hex>.tmp in assets/.
                remove_stale_temps(self.root, PROJECT_FILE, legacy=True)
                remove_stale_temps(self.state, Path(LAST_WRITE_FILE).name, legacy=True)
                for sub in SUBDIRS[:-1]:
                    (self.root / sub).mkdir(exist_ok=True)
                remove_stale_temps(self.assets, IMPORT_TEMP_TARGET, legacy=True)
            except OSError as exc:
                lock.release()
                raise StorageError(
                    f"{exc.filename or self.root}: cannot prepare the project for writing: "
                    f"{describe(exc)}"
                ) from None
            except BaseException:
                lock.release()
                raise
            self._lock = lock
        return self._lock

    def save(self, project: Project) -> bytes:
        """Write project.json; the caller must hold the writer lock."""
        if self._lock is None or not self._lock.held:
            raise RuntimeError("save() without the writer lock; call writer() first")
        return save_project(self.root, project)
