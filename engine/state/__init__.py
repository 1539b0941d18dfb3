"""The project's state database, ``.reelcut/state.sqlite``: the one module family that owns SQL."""
