"""The tool API: one registry of audited tools (files, timeline, jobs) for agents and scripts."""

from engine.tools import file_tools, job_tools, timeline_tools
from engine.tools.registry import REGISTRY, Outcome, Tool, ToolContext, ToolError, run_tool
from engine.transcripts import tools as transcript_tools
from engine.tts import pool as tts_tools

__all__ = [
    "REGISTRY",
    "Outcome",
    "Tool",
    "ToolContext",
    "ToolError",
    "file_tools",
    "job_tools",
    "run_tool",
    "timeline_tools",
    "transcript_tools",
    "tts_tools",
]
