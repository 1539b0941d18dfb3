"""Parallel writers on one project, as users start them: two real ``reelcut`` commands that
write the same project, started at the same moment, hundreds of times. Whatever order they
land in, every command that says it succeeded (exit 0) has its change on disk, and agrees with
`changes list` and the undo history; a command that lost the race says so in one line (exit 4,
the project was open for writing, or 11, its changeset's base changed), and its change is
nowhere. (Issue 25 saw both of two applies print "applied" with one cut lost, 7 times in 100;
against the tree before the door, a3106f0^, these trials lost 4 in 40.)

Pairs: ``changes apply`` + ``changes apply`` of two changesets made on the same base,
``edit`` + ``changes apply``, ``import`` + ``edit``. The quick suite runs a few trials of each;
the full counts are ``slow`` (``REELCUT_TRIALS`` per pair, 500 by default).

Then the writers the writer lock does not part, because they share one process (an edit
through the door and an agent run's auto-apply in the editor), a proposal that must leave
another process's apply alone, and undo over an import, which the import+edit pair found
stuck.
"""

from __future__ import annotations

import asyncio
import functools
import random
import shutil
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from engine.errors import ReelcutError
from engine.session import Session
from tests.engine.writers import (
    Ended,
    assert_refusal,
    changeset_statuses,
    count,
    cuts,
    failure,
    finish,
    fresh_copy,
    in_flight,
    marker_names,
    project_at,
    propose,
    sha,
    start,
    temp_files,
    write_wav,
)

LOCKED, MISMATCH = 4, 11
Trial = Callable[[Path, int, random.Random], str]


def together(a: list[str | Path], b: list[str | Path], rng: random.Random) -> tuple[Ended, Ended]:
    """Start both commands at once (one of them up to 60 ms later, either one), wait for both."""
    lag = rng.uniform(0, 0.06)
    first_a = rng.random() < 0.5
    procs = {}
    for name, args in (("a", a), ("b", b)) if first_a else (("b", b), ("a", a)):
        procs[name] = start(*args)
        if len(procs) == 1:
            time.sleep(lag)
    return finish(procs["a"]), finish(procs["b"])


def _outcome(*ended: Ended) -> str:
    return " + ".join("ok" if e.code == 0 else f"exit {e.code}" for e in ended)


def apply_and_apply(root: Path, i: int, rng: random.Random) -> str:
    """Two changesets on the same base, each a cut at its own frame: one lands, whole; the
    other is refused and leaves no trace."""
    base, _ = project_at(root)
    at = rng.sample(range(5, 235), 2)
    ids = [propose(root, "timeline_blade", {"at": f}) for f in at]
    ra, rb = together(
        ["changes", root, "apply", str(ids[0])], ["changes", root, "apply", str(ids[1])], rng
    )
    data, project = project_at(root)
    statuses = changeset_statuses(root)
    ok = [res.code == 0 for res in (ra, rb)]
    assert any(ok), (ra, rb)  # a refusal needs a winner to refuse it
    for res, cs, frame, won in zip((ra, rb), ids, at, ok, strict=True):
        if won:
            assert res.stdout.strip() == f"changeset {cs}: applied", res
            assert statuses[cs] == "applied" and frame in cuts(project), (res, statuses)
        else:
            assert_refusal(res, {LOCKED, MISMATCH})
            assert statuses[cs] == "ready" and frame not in cuts(project), (res, statuses)
    assert data != base
    return _outcome(ra, rb)


def edit_and_apply(root: Path, i: int, rng: random.Random) -> str:
    """An edit from the command line and a changeset's apply: the edit lands on whatever the
    project is when it gets the lock; the apply lands only on its base."""
    base, _ = project_at(root)
    frame = rng.randrange(5, 235)
    cs = propose(root, "timeline_blade", {"at": frame})
    name = f"edit {i}"
    edit: list[str | Path] = ["edit", root, "add-marker", "--at", "100", "--name", name]
    re_, ra = together(edit, ["changes", root, "apply", str(cs)], rng)
    data, project = project_at(root)
    statuses = changeset_statuses(root)
    if ra.code == 0:
        assert statuses[cs] == "applied" and frame in cuts(project), (ra, statuses)
    else:
        assert_refusal(ra, {LOCKED, MISMATCH})
        assert statuses[cs] == "ready" and frame not in cuts(project), (ra, statuses)
    if re_.code == 0:
        assert name in marker_names(project), re_
        with Session(root) as s:
            newest = s.steps()[-1]
            assert newest.label.startswith("added marker") and newest.after_hash == sha(data)
            # Undo takes back the edit and only the edit: before it, the project was the
            # changeset's result when the apply landed, else the base (an apply after the
            # edit would have had to overwrite it).
            assert s.undo() is not None
            undone, _ = project_at(root)
            assert (frame in cuts(s.project)) == (ra.code == 0)
            assert ra.code == 0 or undone == base
            s.redo()
        assert project_at(root)[0] == data
    else:
        assert_refusal(re_, {LOCKED})
        assert name not in marker_names(project)
    return _outcome(re_, ra)


def import_and_edit(root: Path, i: int, rng: random.Random) -> str:
    """An import and an edit: both land, one after the other, or one is refused whole. The
    import's clip is an undo step (issue 19), so undo walks back what landed, newest first,
    and keeps the imported asset; redo brings back the exact file."""
    base = project_at(root)[1]
    media = write_wav(root.parent / f"take {i}.wav", seed=i)
    digest = sha(media.read_bytes())
    name = f"edit {i}"
    ri, re_ = together(
        ["import", root, media], ["edit", root, "add-marker", "--at", "50", "--name", name], rng
    )
    data, project = project_at(root)
    asset = next((a for a in project.assets if a.hash == digest), None)
    if ri.code == 0:
        assert asset is not None, ri
        assert sha((root / "assets" / f"{digest}.{asset.ext}").read_bytes()) == digest
        assert any(c.asset_id == asset.id for t in project.tracks for c in t.clips)
    else:
        assert_refusal(ri, {LOCKED})
        assert asset is None
    if re_.code == 0:
        assert name in marker_names(project)
    else:
        assert_refusal(re_, {LOCKED})
        assert name not in marker_names(project)
    with Session(root) as s:
        steps = s.steps()
        landed = (ri.code == 0) + (re_.code == 0)
        ours = steps[len(steps) - landed :]
        assert sorted(st.label.split()[0] for st in ours) == sorted(
            ["placed"] * (ri.code == 0) + ["added"] * (re_.code == 0)
        )
        # The newest step describes the file as it is, so undo runs.
        assert not steps or steps[-1].after_hash == sha(data)
        for step in reversed(ours):
            assert s.undo() is not None
            if step.label.startswith("placed "):
                assert asset is not None and asset in s.project.assets
                assert not any(c.asset_id == asset.id for t in s.project.tracks for c in t.clips)
            else:
                assert name not in marker_names(s.project)
        # Back where the trial started, but for the asset: the bin keeps it.
        _, undone = project_at(root)
        assert undone.tracks == base.tracks and undone.markers == base.markers
        assert undone.assets == base.assets + ((asset,) if asset is not None else ())
        for _ in ours:
            assert s.redo() is not None
        assert project_at(root)[0] == data
    return _outcome(ri, re_)


PAIRS: dict[str, Trial] = {
    "apply+apply": apply_and_apply,
    "edit+apply": edit_and_apply,
    "import+edit": import_and_edit,
}


def run_trials(master: Path, tmp: Path, pair: str, trials: int) -> None:
    """``trials`` trials of ``pair``, each on a fresh copy of ``master``; every loss is
    counted, then reported together."""
    rng = random.Random(f"{pair} 25")
    outcomes: Counter[str] = Counter()
    losses: list[str] = []
    t0 = time.monotonic()
    for i in range(trials):
        root = fresh_copy(master, tmp / f"{i}" / "p")
        try:
            outcomes[PAIRS[pair](root, i, rng)] += 1
            assert temp_files(root) == []
        except (AssertionError, ReelcutError) as exc:  # a refused undo is a loss too
            losses.append(f"trial {i}: {failure(exc)}")
        finally:
            shutil.rmtree(root.parent)
    took = time.monotonic() - t0
    print(
        f"\n{pair}: {trials} trials, {len(losses)} lost updates, in {took:.0f} s; "
        f"outcomes {dict(outcomes)}"
    )
    assert not losses, f"{len(losses)} of {trials} trials lost an update:\n" + "\n".join(losses[:5])


@pytest.mark.parametrize("pair", PAIRS)
def test_parallel_writers_never_lose_a_reported_success(
    demo_master: Path, tmp_path: Path, pair: str
) -> None:
    run_trials(demo_master, tmp_path, pair, 2)


@pytest.mark.slow
@pytest.mark.timeout(4 * 3600)  # hundreds of real commands; minutes on a quiet machine
@pytest.mark.parametrize("pair", PAIRS)
def test_parallel_writers_never_lose_a_reported_success_over_hundreds_of_trials(
    demo_master: Path, tmp_path: Path, pair: str
) -> None:
    run_trials(demo_master, tmp_path, pair, count("REELCUT_TRIALS", 500))


def holder_trials(root: Path, trials: int) -> tuple[Counter[str], list[str]]:
    """In one holder, an edit through the door (the session, on a worker thread, under the
    door's `writing`) races an agent run's auto-apply (the run's own ledger in the same process,
    as `engine.agent.run` opens it) ``trials`` times; what reports success must be on disk, and
    a refusal is a `ReelcutError`."""
    from engine.changes.ledger import Ledger
    from engine.ops import AddMarker
    from engine.tools import run_tool
    from engine.workspace import Workspace

    rng = random.Random("holder 25")

    async def later(call: Awaitable[object], delay: float) -> object:
        await asyncio.sleep(delay)
        return await call

    async def main() -> tuple[Counter[str], list[str]]:
        session = Session(root)
        workspace = Workspace(root, session)
        agent = await Ledger.open(root)
        outcomes: Counter[str] = Counter()
        losses: list[str] = []
        try:
            for i in range(trials):
                frame = 5 + i % 230
                proposed = await run_tool(agent, "timeline_blade", {"at": frame})
                marker = AddMarker(at=100, name=f"e{i}")
                edit = workspace.change(functools.partial(session.apply, marker))
                apply = agent.apply(proposed["changeset"])
                done = await asyncio.gather(
                    later(edit, rng.uniform(0, 0.01)),
                    later(apply, rng.uniform(0, 0.01)),
                    return_exceptions=True,
                )
                for d in done:
                    if isinstance(d, BaseException) and not isinstance(d, ReelcutError):
                        raise d
                edited, applied = (not isinstance(d, BaseException) for d in done)
                _, project = project_at(root)
                outcomes[
                    f"edit {'ok' if edited else 'refused'}, apply {'ok' if applied else 'refused'}"
                ] += 1
                if edited and marker.name not in marker_names(project):
                    losses.append(f"trial {i}: the edit was reported done and is not on disk")
                if applied and frame not in cuts(project):
                    losses.append(f"trial {i}: the apply was reported done and is not on disk")
                await workspace.change(session.reload)  # follow the disk for the next trial
        finally:
            await agent.close()
            await workspace.close()
            session.close()
        return outcomes, losses

    return asyncio.run(main())


def test_in_one_holder_an_edit_and_the_agents_apply_never_lose_each_other(
    demo_dir: Path,
) -> None:
    """Both writers live in the process that holds the project (the editor or `reelcut chat`
    and the agent run it hosts), so the writer lock does not part them: 13 of 40 trials lost
    the edit before the session and the ledger shared `engine.changes.exclusive.file_writes`."""
    trials = 40
    outcomes, losses = holder_trials(demo_dir, trials)
    print(
        f"\nedit+agent apply in one holder: {trials} trials, {len(losses)} lost; "
        f"outcomes {dict(outcomes)}"
    )
    assert not losses, losses[:5]
    assert len(outcomes) > 1  # the race went both ways


def test_a_proposal_leaves_another_process_s_apply_under_way_alone(demo_dir: Path) -> None:
    """``reelcut tool DIR TOOL`` without --apply opens the changesets without the writer lock.
    A changeset in flight then may be the holder's apply under way (here this test holds the
    lock, with half of an apply done), so the proposal must leave it alone: it rolled it back
    before, and the holder then reported the apply done with project.json back at its base.
    The next writer to open the project (a session here) finishes what is left."""
    from engine.changes.ledger import Ledger
    from engine.lock import WriterLock

    base = (demo_dir / "project.json").read_bytes()
    cs = propose(demo_dir, "timeline_blade", {"at": 50})
    propose(demo_dir, "file_create", {"path": "scripts/half.md", "text": "x\n"}, changeset=cs)

    async def half_an_apply() -> bytes:
        ledger = await Ledger.open(demo_dir, reconcile=False)
        try:
            await ledger.store.set_state(cs, in_flight="apply")
            after = next(f for f in await ledger.store.files(cs) if f.path == "project.json")
            assert after.after_text is not None
            data = after.after_text.encode()
            ledger.files.write("project.json", data)  # the script is not written yet
            return data
        finally:
            await ledger.close()

    with WriterLock(demo_dir, purpose="an apply under way"):
        halfway = asyncio.run(half_an_apply())
        res = finish(start("tool", demo_dir, "timeline_read"))
        assert res.code == 0, res
        assert (demo_dir / "project.json").read_bytes() == halfway
        assert in_flight(demo_dir) == [cs]
    with Session(demo_dir):  # the holder was killed here; the next writer rolls it back
        pass
    assert (demo_dir / "project.json").read_bytes() == base
    assert not (demo_dir / "scripts" / "half.md").exists()
    assert in_flight(demo_dir) == [] and changeset_statuses(demo_dir)[cs] == "ready"


def test_undo_and_redo_over_an_import_keep_the_ids_it_took(demo_dir: Path) -> None:
    """Found by the import+edit pair: an edit, then an import (its assets are not an undo
    step, and take ids above the edit's), then undo back past the import. The edit's inverse
    put ``next_id`` back below the import's ids, so undo was refused for good (exit 3,
    "refusing to save an invalid project: $.next_id") and every older step was stuck. Now the
    ids stay taken. An import into the bin only (``place`` false) is no step at all; the clips
    an import places are one (issue 19): undo takes them off first, then the edit, and redo
    puts both back with the ids they had. With nothing between, undo still restores the exact
    bytes."""
    import msgspec

    from engine.door import door
    from engine.ops import AddMarker

    binned_wav = write_wav(demo_dir.parent / "bin.wav", seed=6)
    wav = write_wav(demo_dir.parent / "take.wav", seed=7)
    marker = msgspec.to_builtins(AddMarker(at=50, name="x"))
    with door(demo_dir, "test") as d:
        before = project_at(demo_dir)[0]
        d.call("edit", {"op": marker})
        d.call("undo")
        assert project_at(demo_dir)[0] == before  # nothing between: the exact bytes
        d.call("redo")
        d.call("import", {"files": [str(binned_wav)], "place": False})
        _, binned = project_at(demo_dir)
        d.call("import", {"files": [str(wav)]})
        data, imported = project_at(demo_dir)
        assert imported.tracks != binned.tracks  # the take's clip is on the timeline
        assert d.call("undo") is not None  # the clip
        _, undone = project_at(demo_dir)
        assert undone.tracks == binned.tracks and undone.assets == imported.assets
        assert "x" in marker_names(undone)
        assert d.call("undo") is not None  # the marker, before both imports
        _, undone = project_at(demo_dir)  # a valid project: project_at checks
        assert "x" not in marker_names(undone) and undone.assets == imported.assets
        assert undone.next_id == imported.next_id
        assert d.call("redo") is not None and d.call("redo") is not None
        assert project_at(demo_dir)[0] == data  # the same clips, the same ids
