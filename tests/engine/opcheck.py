"""What every op test checks: a valid result, an exact inverse, a replayable forward, and
refusals that say what went wrong and what to do."""

from __future__ import annotations

import pytest

from engine.model import Project
from engine.ops import Op, OpError, Result
from engine.projectfile import encode_project
from engine.validate import problems


def applied(op: Op, project: Project) -> Result:
    """Apply ``op`` and check what must hold after every successful edit.

    The result has no broken invariant; its inverse, applied to the result, gives back the
    original project exactly (as a value and as project.json bytes); its forward steps, replayed
    on the original (what redo does), give the result again.
    """
    result = op.apply(project)
    assert problems(result.project) == []
    undone = result.inverse.apply(result.project).project
    assert undone == project
    assert encode_project(undone) == encode_project(project)
    assert result.forward.apply(project).project == result.project
    return result


def refused(op: Op, project: Project, *needles: str) -> str:
    """Apply ``op``, expect OpError, and check that its message contains every needle."""
    with pytest.raises(OpError) as caught:
        op.apply(project)
    message = str(caught.value)
    for needle in needles:
        assert needle in message, message
    assert "\n" not in message
    return message
