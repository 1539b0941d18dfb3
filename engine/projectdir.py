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

from pathlib import Path

from engine.errors import ProjectInvalid, ReelcutError
from engine.fsio.durable import remove_stale_temps
from engine.lock import WriterLock
from engine.model import Project
from engine.projectfile import LAST_WRITE_FILE, PROJECT_FILE, load_project, save_project

SUBDIRS = ("assets", "proxies", "previews", "remotion", "scripts", ".reelcut")


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
        """Raise ProjectInvalid, saying what to do, unless ``root`` holds a project.json.

        Checked before anything is created, so a command aimed at a folder that is not a
        project leaves that folder exactly as it was.
        """
        if not self.root.exists():
            raise ProjectInvalid(
                f"{self.root}: no such folder; create a project there with "
                f"`reelcut new {self.root}` (or `reelcut demo {self.root}` for the demo)"
            )
        if not self.root.is_dir():
            raise ProjectInvalid(f"{self.root}: is a file, not a project folder")
        if self.project_json.exists() and not self.project_json.is_file():
            raise ProjectInvalid(
                f"{self.project_json}: is not a file; a project keeps its timeline there"
            )
        if not self.project_json.exists():
            empty = not any(self.root.iterdir())
            make = (
                f"`reelcut new {self.root}`"
                if empty
                else "`reelcut new NEWDIR` and `reelcut import NEWDIR FILE...`"
            )
            raise ProjectInvalid(
                f"{self.root}: not a reelcut project (no {PROJECT_FILE}); create one with "
                f"{make}, or try `reelcut demo`"
            )

    def writer(self, purpose: str = "") -> WriterLock:
        """Take the writer lock (ProjectLocked names the holder); tidy up after crashes."""
        if self._lock is None or not self._lock.held:
            self.require()
        return self._take_lock(purpose)

    def _take_lock(self, purpose: str) -> WriterLock:
        if self._lock is None or not self._lock.held:
            self._lock = WriterLock(self.root, purpose=purpose).acquire()
            # legacy: older reelcut wrote these temps as .<name>.<12 hex>.tmp, and older
            # importers named theirs in assets/ .import-<12 hex>.tmp; both are cleared as before.
            remove_stale_temps(self.root, PROJECT_FILE, legacy=True)
            remove_stale_temps(self.state, Path(LAST_WRITE_FILE).name, legacy=True)
            for sub in SUBDIRS[:-1]:
                (self.root / sub).mkdir(exist_ok=True)
            remove_stale_temps(self.assets, legacy=True)
        return self._lock

    def save(self, project: Project) -> bytes:
        """Write project.json; the caller must hold the writer lock."""
        if self._lock is None or not self._lock.held:
            raise RuntimeError("save() without the writer lock; call writer() first")
        return save_project(self.root, project)
