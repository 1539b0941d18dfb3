"""Forced alignment: the words of a known text placed in its sound, offline.

pocketsphinx's own aligner (`Decoder.set_align_text`) is exact when it succeeds, but on
synthetic speech (espeak-ng takes) and around digital silence its search often dies part way
(we measured it failing on 5 of 6 espeak-ng sentences), so alignment goes in three steps:

1. **islands**: the sound is cut at pauses (runs of 10 ms windows under the silence level,
   at least `PAUSE_MS` long) into islands of speech;
2. **groups**: a dynamic programme gives each island a run of consecutive words, so that each
   group's length fits what its words should take (their phones in the model's dictionary,
   `PHONE_MS` each) best in the log-ratio sense; a pause is never inside a word;
3. **inside a group**: one word takes its island whole; several are aligned by pocketsphinx
   on that stretch alone (with `PAD_MS` of silence around it), and if that fails they share
   the stretch in proportion to their expected lengths.

So a word that follows a pause starts where the sound does (to the window, 10 ms), and words
run together are placed by the aligner or by their phones.

    sound    ..####..###.######....####..
    islands    [1]   [2] [ 3  ]    [4]
    words      the  quick brown fox  jumps     ("brown fox" share island 3)
"""

from __future__ import annotations

import math
import re
from typing import Any

from engine.transcripts.audio import RATE, SILENCE_DB, WINDOW, loudness
from engine.transcripts.document import Word

PAUSE_MS = 120
"""The shortest pause that separates two islands of speech (shorter ones are inside words:
the closure of a stop consonant is 50-100 ms)."""
PHONE_MS = 80
"""What one phone is expected to take."""
LETTER_MS = 60
"""What one letter of a word the dictionary does not know is expected to take."""
PAD_MS = 250
"""Silence put around a stretch for pocketsphinx: room to enter and leave the first and last
word."""
MAX_GROUP = 12
"""The most words (and the most islands) one group takes."""

_FILLERS = re.compile(r"^(<s>|</s>|<sil>|\[\w+\]|\+\+?\w*\+?\+)$")
_PUNCT = re.compile(r"[^\w']+")


def is_filler(word: str) -> bool:
    """Whether pocketsphinx's ``word`` is silence or noise, not a word."""
    return bool(_FILLERS.match(word))


def normal(token: str) -> str:
    """A token as the dictionary spells it: lower case, no punctuation but apostrophes."""
    return _PUNCT.sub("", token.lower()).strip("'")


def decoder(align: bool = False) -> Any:
    from pocketsphinx import Decoder  # type: ignore[import-untyped]

    if align:
        # Wide beams: the aligner's one path must survive a poor acoustic match (measured).
        return Decoder(
            samprate=RATE, beam=1e-60, wbeam=1e-40, pbeam=1e-60, dither=True, loglevel="FATAL"
        )
    return Decoder(samprate=RATE, dither=True, loglevel="FATAL")


def islands(pcm: bytes, silence_db: float = SILENCE_DB) -> list[tuple[int, int]]:
    """The stretches of speech ``[start_ms, end_ms)``, split at pauses of `PAUSE_MS` or more."""
    levels = loudness(pcm)
    win_ms = WINDOW * 1000 // RATE
    need = max(1, PAUSE_MS // win_ms)
    out: list[tuple[int, int]] = []
    start: int | None = None
    quiet = 0
    for i, level in enumerate(levels):
        if level >= silence_db:
            if start is None:
                start = i
            quiet = 0
        elif start is not None:
            quiet += 1
            if quiet >= need:
                out.append((start * win_ms, (i - quiet + 1) * win_ms))
                start, quiet = None, 0
    if start is not None:
        out.append((start * win_ms, (len(levels) - quiet) * win_ms))
    return out


def expected_ms(tokens: list[str], d: Any) -> list[float]:
    out: list[float] = []
    for t in tokens:
        phones = d.lookup_word(normal(t)) if normal(t) else None
        out.append(len(phones.split()) * PHONE_MS if phones else max(1, len(normal(t))) * LETTER_MS)
    return out


def groups(expected: list[float], spans: list[tuple[int, int]]) -> list[tuple[int, int, int, int]]:
    """``(first word, end word, first island, end island)`` for every group: consecutive words
    on consecutive islands, covering both, that best fit lengths to expectations (see the
    module's docstring): a group costs the squared log-ratio of its speech to its words'
    expected length, plus the square of every pause inside it in `PAUSE_MS` units (a pause
    is rarely inside a word). More islands than words is fine (a word may hold a pause-like gap);
    more words than islands too (words run together)."""
    n, m = len(expected), len(spans)
    prefix = [0.0]
    for e in expected:
        prefix.append(prefix[-1] + e)
    speech = [0]  # speech before each island, and the pauses between islands before it
    gaps = [0]
    for k, (a, b) in enumerate(spans):
        speech.append(speech[-1] + b - a)
        if k + 1 < m:
            gaps.append(gaps[-1] + spans[k + 1][0] - b)
    inf = math.inf
    cost = [[inf] * (m + 1) for _ in range(n + 1)]
    back: list[list[tuple[int, int] | None]] = [[None] * (m + 1) for _ in range(n + 1)]
    cost[0][0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            best, arg = inf, None
            for a in range(max(0, i - MAX_GROUP), i):
                for c in range(max(0, j - MAX_GROUP), j):
                    if cost[a][c] == inf:
                        continue
                    want = prefix[i] - prefix[a]
                    got = max(1, speech[j] - speech[c])
                    inside = (gaps[j - 1] - gaps[c]) / PAUSE_MS  # pauses within the group
                    total = cost[a][c] + math.log(got / want) ** 2 + inside**2
                    if total < best:
                        best, arg = total, (a, c)
            cost[i][j], back[i][j] = best, arg
    if cost[n][m] == inf:
        return [(0, n, 0, m)]
    out = []
    i, j = n, m
    while i > 0:
        prev = back[i][j]
        assert prev is not None
        out.append((prev[0], i, prev[1], j))
        i, j = prev
    return out[::-1]


def align(pcm: bytes, text: str) -> list[Word] | None:
    """The words of ``text`` with their times in ``pcm`` (see the module's docstring), or None
    when there is no sound to place them in."""
    tokens = text.split()
    if not tokens:
        return []
    spans = islands(pcm)
    if not spans:
        return None
    d = decoder(align=True)
    expected = expected_ms(tokens, d)
    out: list[Word] = []
    for a, b, c, e in groups(expected, spans):
        start, end = spans[c][0], spans[e - 1][1]
        out.extend(_inside(pcm, tokens[a:b], expected[a:b], start, end))
    return out


def _inside(
    pcm: bytes, tokens: list[str], expected: list[float], start: int, end: int
) -> list[Word]:
    if len(tokens) == 1:
        return [Word(tokens[0], start, max(end, start + 1))]
    timed = _pocketsphinx(pcm, tokens, start, end)
    if timed is not None:
        return timed
    out = []
    total = sum(expected)
    at = float(start)
    for t, e in zip(tokens, expected, strict=True):
        step = (end - start) * e / total
        s = round(at)
        out.append(Word(t, s, max(s + 1, round(at + step))))
        at += step
    return out


def _pocketsphinx(pcm: bytes, tokens: list[str], start: int, end: int) -> list[Word] | None:
    """pocketsphinx's alignment of ``tokens`` in ``[start, end)`` ms, or None when any word is
    unknown to its dictionary or the search does not reach the last word."""
    d = decoder(align=True)
    said = [normal(t) for t in tokens]
    if not all(w and d.lookup_word(w) for w in said):
        return None
    pad = b"\0\0" * (RATE * PAD_MS // 1000)
    piece = pcm[start * RATE // 1000 * 2 : end * RATE // 1000 * 2]
    try:
        d.set_align_text(" ".join(said))
        d.start_utt()
        d.process_raw(pad + piece + pad, full_utt=True)
        d.end_utt()
    except RuntimeError:
        return None
    hyp = d.hyp()
    if hyp is None or hyp.hypstr.split() != said:
        return None
    segs = [s for s in d.seg() if not _FILLERS.match(s.word)]
    if len(segs) != len(tokens):
        return None
    out = []
    for t, s in zip(tokens, segs, strict=True):
        a = min(end - 1, max(start, start + s.start_frame * 10 - PAD_MS))
        b = min(end, max(a + 1, start + (s.end_frame + 1) * 10 - PAD_MS))
        out.append(Word(t, a, b, round(min(1.0, max(0.0, float(s.prob))), 3)))
    return out
