"""Hear what the page plays: a Playwright init script that taps the page's Web Audio output.

Everything the page sends to an ``AudioContext``'s speakers (``destination``) is also sent to
an ``AnalyserNode`` (``AudioNode.prototype.connect`` is wrapped before the page's scripts run),
so a test reads the samples a listener hears, after every gain the page applies. A media
element the page plays *without* Web Audio (its ``volume`` only) never reaches that graph; for
those the tap routes the element itself through its own context when asked to measure. Chromium
scales a MediaElementAudioSourceNode by the element's ``volume``, so that path hears what the
element's own output would play (a ``volume`` capped at 1), and ``window.__tap.direct`` says it
was used.

``window.__tap.gains`` pairs each media element the page connects to a GainNode with that node:
the level an element plays at is ``element.volume * gain.value``.
"""

from __future__ import annotations

from typing import Any

TAP_JS = """
(() => {
  const analysers = new Map();  // AudioContext -> AnalyserNode
  const tap = { gains: [], routed: new Set(), direct: 0, own: null };
  window.__tap = tap;
  const analyserFor = (ctx) => {
    let a = analysers.get(ctx);
    if (!a) {
      a = new AnalyserNode(ctx, { fftSize: 4096 });
      analysers.set(ctx, a);
    }
    return a;
  };
  const connect = AudioNode.prototype.connect;
  AudioNode.prototype.connect = function (dest, ...rest) {
    const out = connect.call(this, dest, ...rest);
    if (dest instanceof AudioDestinationNode) connect.call(this, analyserFor(dest.context));
    if (this instanceof MediaElementAudioSourceNode && dest instanceof GainNode) {
      tap.gains.push({ el: this.mediaElement, gain: dest.gain });
    }
    return out;
  };
  const create = AudioContext.prototype.createMediaElementSource;
  AudioContext.prototype.createMediaElementSource = function (el) {
    tap.routed.add(el);
    return create.call(this, el);
  };
  const clips = () => [...document.querySelectorAll('audio')].filter(
    (a) => (a.getAttribute('src') || '').startsWith('assets/'));
  const playing = () => clips().filter((a) => !a.paused);
  /** Route elements the page plays outside Web Audio through the tap's own context. */
  tap.routeDirect = () => {
    for (const el of playing()) {
      if (tap.routed.has(el)) continue;
      tap.own = tap.own || new AudioContext();
      tap.own.resume();
      tap.own.createMediaElementSource(el).connect(tap.own.destination);
      tap.direct += 1;
    }
  };
  /** RMS of the last ``n`` samples every tapped context played (their sum). */
  tap.rms = (n) => {
    const sum = new Float32Array(n);
    for (const a of analysers.values()) {
      if (a.context.state !== 'running') continue;
      const buf = new Float32Array(a.fftSize);
      a.getFloatTimeDomainData(buf);
      for (let i = 0; i < n; i++) sum[i] += buf[buf.length - n + i];
    }
    let s = 0;
    for (const v of sum) s += v * v;
    return Math.sqrt(s / n);
  };
  /** The RMS of the last ``n`` samples and the media time (s) of the clip element playing, read
   * together: under load the Player's frame counter trails the sound by several frames, the
   * element's ``currentTime`` does not. */
  tap.read = (n) => {
    const now = playing().map((el) => el.currentTime);
    return { rms: tap.rms(n), time: now.length ? Math.max(...now) : null };
  };
  /** ``element.volume * gain`` of every clip element (the gain of the GainNode the page routes
   * it through, 1 when it routes it through none). */
  tap.levels = () => clips().map((el) => {
    const g = tap.gains.filter((x) => x.el === el).map((x) => x.gain.value);
    return el.volume * (g.length ? g[g.length - 1] : 1);
  });
})();
"""


async def install(page: Any) -> None:
    """Tap ``page``'s audio output (call before ``page.goto``)."""
    await page.add_init_script(TAP_JS)
