"""The timeline: a zoomable block grid of tracks and clips under a timecode ruler.

``layout`` is the pure part (frames <-> columns, runs of cells, the ruler, zoom and scroll
math); ``widget`` is the Textual Line-API view that draws it and turns mouse and keys into
requests for the screen.
"""
