"""Text to speech: the scenario (``scripts/Scenario_TTS.json``) becomes dialogue clips.

`takes` reads the scenario and names takes, `providers` speaks a line (espeak-ng locally,
Gemini TTS through google-genai), `audio` makes their answers WAV, `plan` decides what a pass
does, `jobs` runs it on the job queue and lands the takes on the timeline (and says what a
clip shows while its take is made), and `versions` keeps the scenario texts the passes read.
"""
