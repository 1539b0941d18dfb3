"""Media: probing with ffprobe, content-addressed import, and ffmpeg runs with timeouts."""
