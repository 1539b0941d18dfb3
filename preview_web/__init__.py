"""The preview page (React + @remotion/player, built with esbuild) and, later, its server."""
