"""Transcripts: speech to words with source times (Cloud Speech, pocketsphinx), the timeline's
words, editing the video by editing its text, and captions."""
