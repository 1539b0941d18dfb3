"""reelcut's headless core.

Nothing in this package imports textual, rich or starlette (a test enforces it): every front end
(the TUI, the preview server, the CLI, the agent) is a client of the engine, never the other way.
"""

__version__ = "0.1.0"
