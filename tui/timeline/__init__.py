"""The timeline: a zoomable block grid of tracks and clips under a timecode ruler.

The pure part, no Textual: ``viewport`` (frames <-> columns, zoom and scroll), ``runs`` (runs
of cells, text fitted to them), ``tracks`` (a track's lines as runs, lines per track) and
``ruler``; ``waveform`` and ``thumbnails`` draw the door's peaks and tiles over audio and video
blocks. The Textual part: ``widget`` is the Line-API view, ``painter`` builds and caches its
strips, ``palette`` holds its look and ``mouse`` turns clicks and drags into requests for the
screen.
"""
