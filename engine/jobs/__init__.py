"""Background jobs in ``.reelcut/state.sqlite``: the queue (`store`) and its workers (`runner`)."""

from engine.jobs.runner import Handler, JobContext, JobFailed, Runner
from engine.jobs.store import FINISHED, Job, Status

__all__ = ["FINISHED", "Handler", "Job", "JobContext", "JobFailed", "Runner", "Status"]
