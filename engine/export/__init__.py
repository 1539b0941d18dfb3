"""Rendering the timeline to a file: `graph` builds the ffmpeg command, `render` runs it as a
job and puts the file in place, `presets` names the kinds of file."""
