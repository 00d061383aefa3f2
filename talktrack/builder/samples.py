"""Render the bundled sample inputs: the sales script as a PDF, the sample calls as WAV recordings."""

from __future__ import annotations

import re
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import yaml
from fpdf import FPDF

from talktrack.speech.tts_espeak import EspeakTTS
from talktrack.speech.tts_piper import PiperTTS

SAMPLES_DIR = Path(__file__).resolve().parent.parent / "data" / "samples" / "backbeam"
RATE = 16_000
LEAD_IN_S = 0.5
TURN_GAP_S = 0.9
# espeak-ng at its default pace is hard for Whisper base to follow; a calm caller is realistic too.
PROSPECT_WPM = 150
# A quiet noise floor, as every real line has; the voice-activity detector must ignore it.
NOISE_DBFS = -62.0
_FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
_LATIN1 = str.maketrans({"\u2014": " - ", "\u2013": "-", "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
_NUMBERED = re.compile(r"^(\d+)\.\s+")


@dataclass(frozen=True)
class RenderedTurn:
    """Where one scripted turn sits in a rendered call."""

    speaker: str  # "rep" or "prospect"
    start_s: float
    end_s: float
    text: str


@dataclass(frozen=True)
class SampleFiles:
    """Paths of the rendered samples, with the true timeline of each call."""

    script: Path
    calls: tuple[Path, ...]
    mono: Path
    timelines: dict[str, tuple[RenderedTurn, ...]]


def render_samples(out_dir: Path, source_dir: Path = SAMPLES_DIR) -> SampleFiles:
    """Render script.md to script.pdf and each calls/*.yaml to a stereo WAV, plus a mono mix of the second."""
    out_dir.mkdir(parents=True, exist_ok=True)
    script = render_script_pdf(source_dir / "script.md", out_dir / "script.pdf")
    rep = PiperTTS()
    calls: list[Path] = []
    timelines: dict[str, tuple[RenderedTurn, ...]] = {}
    stereo_last: npt.NDArray[np.int16] | None = None
    for source in sorted((source_dir / "calls").glob("*.yaml")):
        stereo, timeline = render_call(source, rep)
        target = out_dir / f"{source.stem}.wav"
        write_wav(target, stereo)
        calls.append(target)
        timelines[target.name] = timeline
        stereo_last = stereo
    if stereo_last is None:
        raise FileNotFoundError(f"no call dialogues in {source_dir / 'calls'}")
    mono = out_dir / f"{calls[-1].stem}_mono.wav"
    mixed = np.clip(stereo_last.astype(np.int32).sum(axis=1), -32768, 32767).astype(np.int16)
    write_wav(mono, mixed)
    timelines[mono.name] = timelines[calls[-1].name]
    return SampleFiles(script=script, calls=tuple(calls), mono=mono, timelines=timelines)


def render_call(source: Path, rep: PiperTTS) -> tuple[npt.NDArray[np.int16], tuple[RenderedTurn, ...]]:
    """One dialogue as stereo int16 (rep left, prospect right) and where each turn landed."""
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    prospect = EspeakTTS(voice=str(data.get("prospect_voice", "en-us+f3")), rate_wpm=PROSPECT_WPM)
    clips: list[tuple[str, str, npt.NDArray[np.int16]]] = []
    for turn in data["turns"]:
        ((speaker, text),) = turn.items()
        audio = rep.synthesize_at(text, RATE) if speaker == "rep" else prospect.synthesize_at(text, RATE)
        clips.append((speaker, text, audio))
    gap = int(TURN_GAP_S * RATE)
    total = int(LEAD_IN_S * RATE) + sum(c.size + gap for _, _, c in clips)
    stereo = np.zeros((total, 2), dtype=np.int16)
    timeline: list[RenderedTurn] = []
    at = int(LEAD_IN_S * RATE)
    for speaker, text, audio in clips:
        channel = 0 if speaker == "rep" else 1
        stereo[at : at + audio.size, channel] = audio
        timeline.append(RenderedTurn(speaker, at / RATE, (at + audio.size) / RATE, text))
        at += audio.size + gap
    noise = np.random.default_rng(len(clips)).normal(0.0, 32768 * 10 ** (NOISE_DBFS / 20), stereo.shape)
    noisy = np.clip(stereo.astype(np.float64) + noise, -32768, 32767).astype(np.int16)
    return noisy, tuple(timeline)


def write_wav(path: Path, samples: npt.NDArray[np.int16], rate: int = RATE) -> None:
    """Write int16 samples (shape (n,) or (n, channels)) as a PCM WAV file."""
    channels = 1 if samples.ndim == 1 else samples.shape[1]
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(np.ascontiguousarray(samples, dtype="<i2").tobytes())


class _ScriptPdf(FPDF):
    """Letter pages with a running header and "Page n of m" footer, like a real sales enablement doc."""

    def __init__(self, header_text: str, font: str) -> None:
        super().__init__(format="letter")
        self.header_text = header_text
        self.body_font = font

    def header(self) -> None:
        self.set_font(self.body_font, "", 8)
        self.set_text_color(120)
        self.cell(0, 6, self.header_text, align="R", new_x="LMARGIN", new_y="NEXT")
        self.ln(4)
        self.set_text_color(0)

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font(self.body_font, "", 8)
        self.set_text_color(120)
        self.cell(0, 10, f"Page {self.page_no()} of {{nb}}", align="C")
        self.set_text_color(0)


def render_script_pdf(source: Path, target: Path) -> Path:
    """Render the small Markdown dialect of script.md (#, ##, ###, numbered items, **bold**) to a PDF."""
    lines = source.read_text(encoding="utf-8").splitlines()
    unicode_font = (_FONT_DIR / "DejaVuSans.ttf").is_file() and (_FONT_DIR / "DejaVuSans-Bold.ttf").is_file()
    title = next((line[2:].strip() for line in lines if line.startswith("# ")), source.stem)
    pdf = _ScriptPdf(f"{title} - internal", "DejaVu" if unicode_font else "Helvetica")
    if unicode_font:
        pdf.add_font("DejaVu", "", str(_FONT_DIR / "DejaVuSans.ttf"))
        pdf.add_font("DejaVu", "B", str(_FONT_DIR / "DejaVuSans-Bold.ttf"))
    pdf.set_margins(22, 18, 22)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()
    font = pdf.body_font

    def text(line: str) -> str:
        # The core PDF fonts only cover Latin-1.
        return line if unicode_font else line.translate(_LATIN1)

    for line in lines:
        stripped = line.strip()
        if not stripped:
            pdf.ln(2.5)
        elif line.startswith("# "):
            pdf.set_font(font, "B", 20)
            pdf.multi_cell(0, 10, text(stripped[2:]), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
        elif line.startswith("## "):
            pdf.ln(3)
            pdf.set_font(font, "B", 14)
            pdf.multi_cell(0, 8, text(stripped[3:]), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)
        elif line.startswith("### "):
            pdf.ln(2)
            pdf.set_font(font, "B", 12)
            pdf.multi_cell(0, 7, text(stripped[4:]), new_x="LMARGIN", new_y="NEXT")
        else:
            indent = 6 if _NUMBERED.match(stripped) else 12 if line.startswith("   ") else 0
            pdf.set_font(font, "", 10.5)
            pdf.set_x(pdf.l_margin + indent)
            pdf.multi_cell(0, 5.5, text(stripped), markdown=True, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(target))
    return target
