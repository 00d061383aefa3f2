"""How well the voicemail beep detector works: a seeded corpus of beeps after real speech, and of audio
that must never trigger it (real speech prompts, music on hold, noise, DTMF, call-progress tones).

Targets: beep F1 >= 0.98 and at most one false trigger per hour of negative audio. Every case goes
through G.711 μ-law, as it would over a phone line. Run with ``python -m talktrack.bench.beep_eval [seed]``.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

import numpy as np

from talktrack.audio.beep import Beep, BeepDetector
from talktrack.audio.dtmf import COLUMNS, KEYS, ROWS, dtmf_tones
from talktrack.bench.stats import pct, table
from talktrack.testing.tones import (
    RATE,
    Int16,
    asterisk_prompt,
    asterisk_prompt_names,
    beep,
    chord_beep,
    machine_beep,
    mulaw_roundtrip,
    multi_tone_beep,
    music_on_hold,
    pink_noise,
    silence,
    to_int16,
    white_noise,
)

F1_TARGET = 0.98
FALSE_TRIGGERS_PER_HOUR_TARGET = 1.0
BEEP_CASES = 240
MATCH_S = 0.1  # a reported beep matches the real one if both its ends are this close
LINE_CHUNK = 160  # 20 ms, what a phone line delivers: the report delay is measured at this granularity
BULK_CHUNK = 8000  # the negatives are fed a second at a time (same result, less Python overhead)
GREETING_S = 2.5
MUSIC_TUNES = 30  # of 30 s each
REAL_BEEPS = ("beep", "ascending-2tone", "descending-2tone")  # Asterisk's own tone prompts


@dataclass(frozen=True)
class BeepCase:
    """One voicemail greeting's end: speech, the beep, what follows; the beep's true span in seconds."""

    kind: str
    audio: Int16
    start_s: float
    end_s: float


@dataclass(frozen=True)
class BeepScores:
    """Detection quality on the corpus, and the detector's cost."""

    cases: int
    true_positives: int
    false_positives: int  # extra beeps reported in the beep cases plus every beep in the negatives
    precision: float
    recall: float
    f1: float
    speech_hours: float
    music_hours: float
    other_hours: float  # noise, DTMF and call-progress tones
    speech_false_triggers: int
    music_false_triggers: int
    other_false_triggers: int
    delay_mean_ms: float  # from the beep's last sample to the end of the 20 ms chunk that reported it
    delay_p95_ms: float
    cpu_ms_per_audio_s: float  # detector CPU time per second of audio, fed 20 ms at a time
    missed: tuple[str, ...]  # the kinds of the missed cases, for a quick look

    @property
    def speech_false_triggers_per_hour(self) -> float:
        """False triggers per hour of real speech."""
        return self.speech_false_triggers / self.speech_hours if self.speech_hours else 0.0

    @property
    def music_false_triggers_per_hour(self) -> float:
        """False triggers per hour of music on hold."""
        return self.music_false_triggers / self.music_hours if self.music_hours else 0.0

    @property
    def false_triggers_per_hour(self) -> float:
        """False triggers per hour over all negative audio."""
        hours = self.speech_hours + self.music_hours + self.other_hours
        total = self.speech_false_triggers + self.music_false_triggers + self.other_false_triggers
        return total / hours if hours else 0.0

    @property
    def meets_targets(self) -> bool:
        """F1 and false-trigger rate both within the issue's targets."""
        return self.f1 >= F1_TARGET and self.false_triggers_per_hour <= FALSE_TRIGGERS_PER_HOUR_TARGET


def _speech_names() -> list[tuple[str, str]]:
    names = [(name, lang) for lang in ("en", "es") for name in asterisk_prompt_names(lang)]
    if not names:
        asterisk_prompt("beep")  # raises the error that says which package to install
    return names


def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def _near_pair(low: float, high: float) -> bool:
    pairs = [(r, c) for r in ROWS for c in COLUMNS] + [(350.0, 440.0), (440.0, 480.0), (480.0, 620.0)]
    return any(abs(low / r - 1) < 0.03 and abs(high / c - 1) < 0.03 for r, c in pairs)


def _make_beep(rng: np.random.Generator, kind: str, level: float) -> Int16:
    """A beep of the given kind, 100 ms to 1.5 s long, every tone within 350-2000 Hz."""
    duration = float(rng.uniform(0.1, 0.3) if rng.uniform() < 0.3 else rng.uniform(0.3, 1.5))
    freq = _log_uniform(rng, 350, 2000)
    if kind == "single":
        return beep(freq, duration, level, ramp_s=float(rng.uniform(0.001, 0.01)))
    if kind == "machine":
        ramp = float(rng.uniform(0.005, 0.02))  # long ramps shorten it: 100 ms is counted without them
        return machine_beep(
            freq,
            max(duration, 0.1 + ramp),
            level,
            ramp_s=ramp,
            harmonics_db=float(rng.uniform(-35, -20)),
            seed=int(rng.integers(1 << 30)),
        )
    if kind == "chord":
        while True:  # two resolvable tones, neither a harmonic pair nor a DTMF key or call-progress tone
            ratio = float(rng.uniform(1.15, 1.9))
            low = _log_uniform(rng, 350, 2000 / ratio)
            if abs(ratio - 1.5) > 0.05 and low * (ratio - 1) >= 120 and not _near_pair(low, low * ratio):
                break
        return chord_beep([low, low * ratio], duration, level - 3)  # same total power as a single tone
    count = int(rng.integers(2, 4))
    freqs = [_log_uniform(rng, 350, 2000)]
    while len(freqs) < count:
        step = float(rng.choice([-1, 1]) * rng.uniform(0.08, 0.5))
        nxt = freqs[-1] * (1 + step)
        if 350 <= nxt <= 2000:
            freqs.append(nxt)
    each = [float(rng.uniform(0.08, min(0.5, 1.5 / count))) for _ in freqs]
    return multi_tone_beep(list(zip(freqs, each, strict=True)), level)


def beep_cases(seed: int = 0, count: int = BEEP_CASES) -> list[BeepCase]:
    """Seeded beep cases: 2.5 s or more of real prompts, a pause, a beep, silence (sometimes speech), on a line."""
    rng = np.random.default_rng(seed)
    names = _speech_names()
    kinds = ("single", "single", "machine", "multi", "chord", "real")
    cases = []
    for _ in range(count):
        kind = kinds[int(rng.integers(len(kinds)))]
        level = float(rng.uniform(-32, -6))
        if kind == "real":
            real = asterisk_prompt(REAL_BEEPS[int(rng.integers(len(REAL_BEEPS)))])
            tone = to_int16(real * (32767 * 10 ** (level / 20) / max(1, int(np.max(np.abs(real))))))
        else:
            tone = _make_beep(rng, kind, level)
        greeting: list[Int16] = []
        while sum(p.size for p in greeting) < GREETING_S * RATE:  # a greeting is a few seconds long
            name, lang = names[int(rng.integers(len(names)))]
            greeting = [asterisk_prompt(name, lang)[-3 * RATE :], silence(0.2), *greeting]
        speech = np.concatenate(greeting)
        gap = silence(float(rng.uniform(0.05, 0.6)))
        after = [silence(float(rng.uniform(0.3, 1.0)))]
        if rng.uniform() < 0.3:  # someone talks over the recording
            other, other_lang = names[int(rng.integers(len(names)))]
            after.append(asterisk_prompt(other, other_lang)[: 2 * RATE])
        audio = np.concatenate([speech, gap, tone, *after, silence(0.2)])
        start = (speech.size + gap.size) / RATE
        noise = float(rng.uniform())
        if noise < 0.6:
            snr = float(rng.uniform(10, 30))
            make = white_noise if noise < 0.3 else pink_noise
            kind += f"+{make.__name__.split('_')[0]}"
            audio = to_int16(audio.astype(np.float64) + make(audio.size, level - snr, seed=int(rng.integers(1 << 30))))
        cases.append(BeepCase(kind, mulaw_roundtrip(audio), start, start + tone.size / RATE))
    return cases


def negative_streams(seed: int = 0) -> dict[str, list[Int16]]:
    """Audio with no beep in it, by category: speech (every prompt), music, other (noise, DTMF, tones).

    The English prompts are heard on a clean line, the Spanish ones with pink noise 25-30 dB below them.
    """
    rng = np.random.default_rng(seed + 1)
    speech = []
    for lang in ("en", "es"):
        gap = silence(0.25)
        parts = [p for name in asterisk_prompt_names(lang) for p in (asterisk_prompt(name, lang), gap)]
        if not parts:
            continue
        audio = np.concatenate(parts)
        if lang == "es":  # a noisy line: the detector then judges a tone against the noise, not silence
            audio = to_int16(audio.astype(np.float64) + pink_noise(audio.size, -45.0, seed=seed + 2))
        speech.append(mulaw_roundtrip(audio))
    music = []
    for i in range(MUSIC_TUNES):
        tune = music_on_hold(30.0, seed=seed * 100 + i, level_dbfs=float(rng.uniform(-24, -10)))
        if i % 3 == 0:  # a hold line is often noisy too
            tune = to_int16(tune.astype(np.float64) + white_noise(tune.size, -45.0, seed=i))
        music.append(mulaw_roundtrip(tune))
    other = [
        mulaw_roundtrip(white_noise(60 * RATE, float(rng.uniform(-40, -20)), seed=seed)),
        mulaw_roundtrip(pink_noise(60 * RATE, float(rng.uniform(-40, -20)), seed=seed + 1)),
    ]
    for tone_ms in (40, 60, 80, 100):
        keys = "".join(KEYS)
        for level in (-25.0, -15.0, -5.0):
            other.append(mulaw_roundtrip(dtmf_tones(keys * 2, tone_ms=tone_ms, gap_ms=60, level_dbfs=level)))
    t = np.arange(10 * RATE) / RATE
    on_off = (np.floor(t / 0.5) % 2 == 0).astype(np.float64)  # busy: 0.5 s on, 0.5 s off
    amplitude = 32767 * 10 ** (-15 / 20)
    other += [
        mulaw_roundtrip(to_int16(amplitude * (np.sin(2 * np.pi * 350 * t) + np.sin(2 * np.pi * 440 * t)))),
        mulaw_roundtrip(to_int16(amplitude * on_off * (np.sin(2 * np.pi * 480 * t) + np.sin(2 * np.pi * 620 * t)))),
    ]
    for freq in (400.0, 1000.0, 1100.0, 1800.0):
        other.append(mulaw_roundtrip(np.concatenate([beep(freq, 2.0, -12.0), silence(1.0)])))
        blips = [p for _ in range(5) for p in (beep(freq, 0.08, -12.0), silence(0.5))]
        other.append(mulaw_roundtrip(np.concatenate(blips)))
    return {"speech": speech, "music": music, "other": other}


def _detect(detector: BeepDetector, audio: Int16, chunk: int) -> list[tuple[Beep, float]]:
    """Every beep with the stream time at which the chunk that reported it ended."""
    found = []
    for start in range(0, audio.size, chunk):
        end = min(start + chunk, audio.size)
        found += [(b, end / RATE) for b in detector.feed(audio[start:end])]
    found += [(b, audio.size / RATE) for b in detector.flush()]
    return found


def evaluate_beeps(seed: int = 0) -> BeepScores:
    """Run the detector over the seeded corpus and score it."""
    cases = beep_cases(seed)
    detector = BeepDetector()
    tp = fp = 0
    delays: list[float] = []
    missed: list[str] = []
    cpu = 0.0
    for case in cases:
        started = time.process_time()
        found = _detect(detector, case.audio, LINE_CHUNK)
        cpu += time.process_time() - started
        hits = [
            (b, at)
            for b, at in found
            if abs(b.start_s - case.start_s) <= MATCH_S and abs(b.end_s - case.end_s) <= MATCH_S
        ]
        if hits:
            tp += 1
            delays.append(hits[0][1] - case.end_s)
        else:
            missed.append(case.kind)
        fp += len(found) - len(hits[:1])
    positive_seconds = sum(case.audio.size for case in cases) / RATE
    triggers, hours = {}, {}
    for category, streams in negative_streams(seed).items():
        triggers[category] = sum(len(_detect(detector, audio, BULK_CHUNK)) for audio in streams)
        hours[category] = sum(audio.size for audio in streams) / RATE / 3600
    fp += sum(triggers.values())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / len(cases)
    return BeepScores(
        cases=len(cases),
        true_positives=tp,
        false_positives=fp,
        precision=round(precision, 4),
        recall=round(recall, 4),
        f1=round(2 * precision * recall / (precision + recall), 4) if precision + recall else 0.0,
        speech_hours=round(hours["speech"], 3),
        music_hours=round(hours["music"], 3),
        other_hours=round(hours["other"], 3),
        speech_false_triggers=triggers["speech"],
        music_false_triggers=triggers["music"],
        other_false_triggers=triggers["other"],
        delay_mean_ms=round(1000 * float(np.mean(delays)), 1) if delays else 0.0,
        delay_p95_ms=(pct([1000 * d for d in delays], 95) or 0.0),
        cpu_ms_per_audio_s=round(1000 * cpu / positive_seconds, 2),
        missed=tuple(missed),
    )


def main(argv: list[str] | None = None) -> int:
    """Print the scores; exit 1 if a target is missed."""
    args = sys.argv[1:] if argv is None else argv
    seed = int(args[0]) if args else 0
    started = time.perf_counter()
    s = evaluate_beeps(seed)
    rows: list[list[object]] = [
        ["beep cases", s.cases],
        ["precision / recall / F1", f"{s.precision:.3f} / {s.recall:.3f} / {s.f1:.3f}"],
        ["false triggers: speech", f"{s.speech_false_triggers} in {s.speech_hours:.2f} h"],
        ["false triggers: music on hold", f"{s.music_false_triggers} in {s.music_hours:.2f} h"],
        ["false triggers: noise, DTMF, tones", f"{s.other_false_triggers} in {s.other_hours:.2f} h"],
        ["false triggers per hour (all)", f"{s.false_triggers_per_hour:.2f}"],
        ["report delay mean / p95 (ms)", f"{s.delay_mean_ms:.0f} / {s.delay_p95_ms:.0f}"],
        ["CPU per second of audio (ms)", f"{s.cpu_ms_per_audio_s:.2f}"],
    ]
    print(f"beep detection, seed {seed} ({time.perf_counter() - started:.0f} s)")
    print(table(["", "value"], rows))
    if s.missed:
        print("missed:", ", ".join(s.missed))
    ok = s.meets_targets
    targets = f"F1 >= {F1_TARGET}, <= {FALSE_TRIGGERS_PER_HOUR_TARGET:g} false trigger/h"
    print(f"targets ({targets}): {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
