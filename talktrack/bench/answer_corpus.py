"""Who answered the phone: a seeded corpus of answers, 8 kHz int16 audio each labelled with what answered.

Four kinds, built from real recordings where the machine has them and synthesized voices otherwise:

* human: short and longer greetings ("Hello?", "Good morning, Acme, this is Dana, how can I help you?",
  "¿Bueno?") in the Piper joe voice at three pitches and several espeak-ng voices (en and es), plus the real
  Asterisk "Hello." recording, each followed by the silence of a person waiting for us;
* voicemail: Asterisk's own greeting spliced from its real prompts ("The person at extension 2 0 4 is
  unavailable. Please leave your message after the tone.", in English and Spanish) and synthesized personal
  greetings, ending in a real or synthesized beep or in silence; some open with "Hi," and a pause;
* ivr: real menu prompts (basic-pbx-ivr-main, demo-instruct, the directory, conference and voicemail menus)
  and synthesized company menus, each with the goal a call would bring to it and the keys that serve it;
* fax_or_tone: fax CNG and CED, a modem's answer tone, busy, reorder, dial, test and SIT tones.

Every case goes through G.711 μ-law with a little line noise, as it would arrive. Cases are recipes built
lazily, so a subset costs only its own synthesis; the same seed gives the same audio (Piper runs with its
noise scales at zero, which makes it deterministic; espeak-ng is).
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
from piper.config import SynthesisConfig
from piper.voice import PiperVoice

from talktrack.audio.resample import resample
from talktrack.calls.detection import Answer
from talktrack.calls.ivr import IvrGoal
from talktrack.speech.tts_espeak import EspeakTTS
from talktrack.speech.tts_piper import default_voice_path, trim_silence
from talktrack.testing.sounds import cough
from talktrack.testing.tones import (
    ASTERISK_SOUNDS,
    Int16,
    asterisk_prompt,
    beep,
    chord_beep,
    machine_beep,
    mulaw_roundtrip,
    multi_tone_beep,
    pink_noise,
    silence,
    to_int16,
)

RATE = 8000
TRANSCRIPTS = Path("/usr/share/doc")  # asterisk-core-sounds-<lang>/core-sounds-<lang>.txt.gz
SPEECH_DBFS = -22.0  # a talker's RMS on a phone line, before the per-case spread
WAIT_S = 4.0  # the silence after a greeting, a menu or a beep: the far end waits or records


@dataclass(frozen=True)
class Speaker:
    """A synthesized voice: Piper's joe voice (sped or pitched) or an espeak-ng voice."""

    engine: Literal["piper", "espeak"]
    name: str = "joe"
    length_scale: float = 1.0
    pitch: float = 1.0
    rate_wpm: int = 165

    @property
    def id(self) -> str:
        if self.engine == "piper":
            return f"piper:{self.name}@x{self.length_scale:g}/p{self.pitch:g}"
        return f"espeak:{self.name}@{self.rate_wpm}"


JOE = Speaker("piper")
JOE_HIGH = Speaker("piper", length_scale=1.1, pitch=1.12)  # the scenarios' prospect voice
JOE_LOW = Speaker("piper", length_scale=0.95, pitch=0.9)
US_F3 = Speaker("espeak", "en-us+f3")
GB_M3 = Speaker("espeak", "en-gb+m3", rate_wpm=160)
US_M1 = Speaker("espeak", "en-us+m1", rate_wpm=175)
ES_F3 = Speaker("espeak", "es+f3", rate_wpm=160)
MX_M3 = Speaker("espeak", "es-419+m3", rate_wpm=165)


@dataclass(frozen=True)
class IvrTarget:
    """What a call wants from a menu and the keys that get it there."""

    goal: IvrGoal
    keys: str


@dataclass(frozen=True)
class AnswerCase:
    """One answered call: its audio from the moment of answer, what answered, and what was said."""

    name: str
    label: Answer
    audio: Int16
    said: str
    source: str
    language: str = "en"
    hard: str = ""  # why the case is harder than it looks, when it is
    ivr: IvrTarget | None = None

    @property
    def duration_s(self) -> float:
        return self.audio.size / RATE


Part = Int16 | float  # audio, or seconds of silence
Build = Callable[[], tuple[list[Part], str]]  # the parts in order and the words said


@dataclass(frozen=True)
class Recipe:
    """How to make one case; nothing is synthesized until `make` runs."""

    name: str
    label: Answer
    build: Build
    source: str
    language: str = "en"
    hard: str = ""
    ivr: IvrTarget | None = None

    def make(self, seed: int = 0) -> AnswerCase:
        rng = np.random.default_rng([seed, zlib.crc32(self.name.encode())])
        parts, said = self.build()
        lead = 0.0 if self.label is Answer.TONE else float(rng.uniform(0.25, 0.9))
        gain_db = float(rng.uniform(-4.0, 4.0))
        audio = join([lead, *(p if isinstance(p, float) else _gain(p, gain_db) for p in parts)])
        noise = pink_noise(audio.size, float(rng.uniform(-72.0, -58.0)), seed=int(rng.integers(1 << 30)))
        line = mulaw_roundtrip(to_int16(audio.astype(np.float64) + noise))
        return AnswerCase(self.name, self.label, line, said, self.source, self.language, self.hard, self.ivr)


# -- sources -------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _piper() -> PiperVoice:
    return PiperVoice.load(default_voice_path())


@lru_cache(maxsize=1024)
def say(speaker: Speaker, text: str) -> Int16:
    """`text` in `speaker`'s voice at 8 kHz, at the line's speech level (cached for the run)."""
    if speaker.engine == "espeak":
        audio = EspeakTTS(voice=speaker.name, rate_wpm=speaker.rate_wpm).synthesize_at(text, RATE)
    else:
        voice = _piper()
        config = SynthesisConfig(
            length_scale=speaker.length_scale, noise_scale=0.0, noise_w_scale=0.0, normalize_audio=False
        )
        native = voice.config.sample_rate
        raw = np.concatenate([c.audio_int16_array for c in voice.synthesize(text, config)])
        # Played back faster, the same samples are a higher voice: another speaker saying the same words.
        audio = np.asarray(resample(trim_silence(raw, native), int(round(native * speaker.pitch)), RATE), np.int16)
    clip = level(audio, SPEECH_DBFS)
    clip.setflags(write=False)
    return clip


@lru_cache(maxsize=256)
def prompt(name: str, lang: str = "en") -> Int16:
    """A real Asterisk prompt at the line's speech level."""
    clip = level(asterisk_prompt(name, lang), SPEECH_DBFS)
    clip.setflags(write=False)
    return clip


@lru_cache(maxsize=4)
def prompt_transcripts(lang: str = "en") -> dict[str, str]:
    """What each Asterisk prompt says, from the sound package's own list ("name: text" lines)."""
    path = TRANSCRIPTS / f"asterisk-core-sounds-{lang}" / f"core-sounds-{lang}.txt.gz"
    if not path.is_file():
        return {}
    return parse_transcripts(gzip.decompress(path.read_bytes()).decode("utf-8", "replace"))


def parse_transcripts(text: str) -> dict[str, str]:
    """``name: text`` lines to a dict; comments, blanks and a repeated name (the first one stands) skipped."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        name, sep, said = line.partition(":")
        if sep and name.strip() and not line.startswith(";") and " " not in name.strip():
            out.setdefault(name.strip(), said.strip())
    return out


def prompts(names: Sequence[str], lang: str = "en", *, gap_s: float = 0.15) -> tuple[list[Part], str]:
    """Real prompts back to back, as Asterisk plays them, and their transcript."""
    words = prompt_transcripts(lang)
    parts: list[Part] = []
    for i, name in enumerate(names):
        parts += [gap_s] if i else []
        parts.append(prompt(name, lang))
    return parts, " ".join(words.get(n, f"[{n}]") for n in names)


def have_prompts(lang: str = "en") -> bool:
    """Whether Debian's Asterisk prompts for `lang` are installed."""
    return (ASTERISK_SOUNDS / lang).is_dir()


# -- audio helpers --------------------------------------------------------------------------------


def level(audio: Int16, rms_dbfs: float) -> Int16:
    """`audio` scaled so that its audible part (10 ms frames within 30 dB of the loudest) has this RMS."""
    x = audio.astype(np.float64)
    n = x.size // 80
    if n == 0:
        return audio
    frames = np.sqrt(np.mean(x[: n * 80].reshape(n, 80) ** 2, axis=1))
    loud = frames[frames >= frames.max() * 10 ** (-30 / 20)]
    rms = float(np.sqrt(np.mean(loud**2))) or 1.0
    return to_int16(x * 32768.0 * 10 ** (rms_dbfs / 20) / rms)


def _gain(audio: Int16, db: float) -> Int16:
    return to_int16(audio.astype(np.float64) * 10 ** (db / 20))


def join(parts: Sequence[Part]) -> Int16:
    """Audio parts and silences (given in seconds) one after another."""
    return np.concatenate([silence(p) if isinstance(p, float) else np.asarray(p, dtype=np.int16) for p in parts])


def speech(*pieces: tuple[Speaker, str] | float) -> Build:
    """A build of synthesized phrases with pauses (seconds) between them."""

    def build() -> tuple[list[Part], str]:
        parts: list[Part] = [p if isinstance(p, float) else say(*p) for p in pieces]
        return parts, " ".join(p[1] for p in pieces if not isinstance(p, float))

    return build


def then(first: Build, *rest: Part | Build) -> Build:
    """`first` followed by more parts (audio, a silence, or another build)."""

    def build() -> tuple[list[Part], str]:
        parts, said = first()
        for item in rest:
            if callable(item):
                more, words = item()
                parts, said = [*parts, *more], f"{said} {words}"
            else:
                parts = [*parts, item]
        return parts, said

    return build


def real(*names: str, lang: str = "en", gap_s: float = 0.15) -> Build:
    return lambda: prompts(names, lang, gap_s=gap_s)


def fixed(audio: Callable[[], Int16], said: str = "") -> Build:
    return lambda: ([audio()], said)


def fsk(bits: Sequence[int], mark_hz: float, space_hz: float, baud: float, level_dbfs: float = -14.0) -> Int16:
    """Continuous-phase FSK: a fax's V.21 signalling is 300 baud, 1650 Hz for a 1 and 1850 Hz for a 0."""
    per_bit = RATE / baud
    n = int(round(len(bits) * per_bit))
    freq = np.array([mark_hz if bits[min(int(i / per_bit), len(bits) - 1)] else space_hz for i in range(n)])
    phase = 2 * np.pi * np.cumsum(freq) / RATE
    return to_int16(32767 * 10 ** (level_dbfs / 20) * np.sin(phase))


def answer_tone(duration_s: float = 3.3, level_dbfs: float = -12.0) -> Int16:
    """A modem's ANSam: 2100 Hz, 15 Hz amplitude modulation, its phase reversed every 450 ms (V.8)."""
    n = int(round(duration_s * RATE))
    t = np.arange(n) / RATE
    flips = np.where((t // 0.45) % 2 == 1, np.pi, 0.0)
    wave = (1 + 0.2 * np.sin(2 * np.pi * 15 * t)) * np.sin(2 * np.pi * 2100 * t + flips)
    return to_int16(32767 * 10 ** (level_dbfs / 20) / 1.2 * wave)


def cadence(on: Int16, off_s: float, times: int) -> Int16:
    """A tone burst and a silence, repeated: busy, reorder, fax CNG."""
    return join([part for _ in range(times) for part in (on, off_s)])


# -- the cases ------------------------------------------------------------------------------------

_BEEPS: dict[str, Callable[[], Int16]] = {
    "asterisk-beep": lambda: asterisk_prompt("beep"),
    "1000hz": lambda: beep(1000, 0.5, -12),
    "440hz-long": lambda: beep(440, 1.0, -14),
    "machine-850hz": lambda: machine_beep(850, 0.35, -16, seed=3),
    "two-tone": lambda: multi_tone_beep([(660, 0.15), (880, 0.2)], -14),
    "1400hz-short": lambda: beep(1400, 0.15, -10),
}
_BEEP_NAMES = [*_BEEPS, "none"]


def _with_beep(build: Build, beep_name: str) -> Build:
    if beep_name == "none":
        return then(build, WAIT_S)
    tone = _BEEPS[beep_name]
    return then(build, 0.45, fixed(tone), WAIT_S)


def _human() -> list[Recipe]:
    english = [
        ("hello", "Hello?"), ("hi-this-is-dana", "Hi, this is Dana."), ("yeah", "Yeah?"),
        ("dana-speaking", "Dana speaking."), ("yes", "Yes?"), ("hello-whos-calling", "Hello, who's calling?"),
        ("good-morning-acme", "Good morning, Acme, this is Dana, how can I help you?"),
        ("this-is-dana-whitfield", "Hello, this is Dana Whitfield."),
        ("acme-dana-speaking", "Acme Corporation, Dana speaking, how may I help you?"),
        ("hey", "Hey, what's up?"), ("sales-desk", "Sales desk, this is Dana."),
        ("whitfield", "Whitfield."),
    ]  # fmt: skip
    spanish = [
        ("bueno", "¿Bueno?"), ("diga", "Diga."), ("hola-habla-dana", "Hola, habla Dana."), ("alo", "¿Aló?"),
        ("si-digame", "Sí, dígame."),
    ]  # fmt: skip
    voices = [JOE, US_F3, JOE_HIGH, GB_M3, JOE_LOW, US_M1]
    out: list[Recipe] = []
    for i, (name, text) in enumerate(english):
        for speaker in (voices[i % len(voices)], voices[(i + 3) % len(voices)]):
            out.append(Recipe(f"human/{name}/{speaker.id}", Answer.HUMAN, then(speech((speaker, text)), WAIT_S),
                              speaker.id))  # fmt: skip
    for name, text in spanish:
        for speaker in (ES_F3, MX_M3):
            out.append(Recipe(f"human/es/{name}/{speaker.id}", Answer.HUMAN,
                              then(speech((speaker, text)), WAIT_S), speaker.id, "es"))  # fmt: skip
    hard = [
        ("hello-twice", speech((JOE_HIGH, "Hello?"), 2.2, (JOE_HIGH, "Hello?")), JOE_HIGH.id,
         "says hello again when nobody answers"),
        ("hello-anyone-there", speech((US_F3, "Hello?"), 2.5, (US_F3, "Hello, is anyone there?")), US_F3.id,
         "talks again after the wait"),
        ("cough-yeah", then(fixed(cough), 0.3, speech((JOE, "Yeah, hello?"))), JOE.id, "a cough first"),
        ("hi-dana-here-long", speech((GB_M3, "Hi, Dana here, I'm just walking into a meeting, what's this about?")),
         GB_M3.id, "a long greeting"),
    ]  # fmt: skip
    for name, build, source, why in hard:
        out.append(Recipe(f"human/{name}", Answer.HUMAN, then(build, WAIT_S), source, hard=why))
    if have_prompts("en"):
        out.append(Recipe("human/asterisk-hello", Answer.HUMAN, then(real("hello"), WAIT_S), "asterisk"))
        out.append(Recipe("human/asterisk-hello-twice", Answer.HUMAN,
                          then(real("hello"), 2.0, real("hello"), WAIT_S), "asterisk",
                          hard="says hello again when nobody answers"))  # fmt: skip
    return out


def _voicemail() -> list[Recipe]:
    out: list[Recipe] = []
    beeps = iter(_BEEP_NAMES * 20)
    if have_prompts("en"):
        ext = ("digits/2", "digits/0", "digits/4")
        real_en = [
            ("person-unavailable", ("vm-theperson", *ext, "vm-isunavail", "vm-intro"), "asterisk-beep"),
            ("person-on-phone", ("vm-theperson", *ext, "vm-isonphone", "vm-intro"), "asterisk-beep"),
            ("nobody-available", ("vm-nobodyavail", "vm-intro"), "asterisk-beep"),
            ("person-unavailable-nobeep", ("vm-theperson", *ext, "vm-isunavail", "vm-intro"), "none"),
            ("intro-only", ("vm-intro",), "asterisk-beep"),
            ("nobody-available-nobeep", ("vm-nobodyavail",), "none"),
            ("person-unavailable-1000hz", ("vm-theperson", "digits/1", "digits/2", "vm-isunavail", "vm-intro"),
             "1000hz"),
            ("nobody-available-two-tone", ("vm-nobodyavail", "vm-intro"), "two-tone"),
        ]  # fmt: skip
        for name, names, tone in real_en:
            out.append(Recipe(f"voicemail/asterisk/{name}", Answer.VOICEMAIL, _with_beep(real(*names), tone),
                              "asterisk"))  # fmt: skip
    if have_prompts("es"):
        ext = ("digits/2", "digits/0", "digits/4")
        real_es = [
            ("persona-no-libre", ("vm-theperson", *ext, "vm-isunavail", "vm-intro"), "asterisk-beep"),
            ("nadie-libre", ("vm-nobodyavail", "vm-intro"), "asterisk-beep"),
            ("persona-ocupada-sin-tono", ("vm-theperson", *ext, "vm-isonphone", "vm-intro"), "none"),
        ]
        for name, names, tone in real_es:
            out.append(Recipe(f"voicemail/asterisk-es/{name}", Answer.VOICEMAIL,
                              _with_beep(real(*names, lang="es"), tone), "asterisk", "es"))  # fmt: skip
    greetings = [
        ("reached-dana", "Hi, you've reached Dana Whitfield at Acme. I can't take your call right now. "
         "Please leave your name and number, and I'll get back to you as soon as I can.", (JOE, US_F3)),
        ("its-mike", "Hey, it's Mike. Leave a message.", (JOE_HIGH, GB_M3)),
        ("voicemail-of-sarah", "Hello, you have reached the voicemail of Sarah Chen. "
         "Please leave a message after the tone.", (JOE_LOW, US_M1)),
        ("away-from-desk", "Thanks for calling. I'm away from my desk at the moment. "
         "Leave me a message and I'll call you back.", (JOE, GB_M3)),
        ("carrier-not-available", "The person you are trying to reach is not available. At the tone, please "
         "record your message. When you have finished recording, you may hang up.", (JOE_LOW, US_F3)),
        ("out-of-office", "This is Tom Baker. I'm out of the office until Monday, with limited access to email. "
         "For anything urgent, please call my colleague Ana on extension two one four.", (GB_M3, US_M1)),
        ("company-after-hours", "Thank you for calling Acme. Our office is now closed. Our hours are nine to "
         "five, Monday through Friday. Please call back during business hours.", (US_M1, US_F3)),
    ]  # fmt: skip
    no_cue = {"out-of-office": "no voicemail words", "company-after-hours": "no voicemail words"}
    for name, text, speakers in greetings:
        for speaker in speakers:
            tone = next(beeps)
            out.append(Recipe(f"voicemail/{name}/{speaker.id}/{tone}", Answer.VOICEMAIL,
                              _with_beep(speech((speaker, text)), tone), speaker.id,
                              hard=no_cue.get(name, "")))  # fmt: skip
    spanish = [
        ("has-llamado", "Hola, has llamado a Dana Whitfield. No puedo contestar en este momento. "
         "Deja tu mensaje después del tono.", ES_F3),
        ("buzon-de-voz", "Bienvenido al buzón de voz de Carlos Ruiz. Por favor deje su mensaje.", MX_M3),
    ]  # fmt: skip
    for name, text, speaker in spanish:
        tone = next(beeps)
        out.append(Recipe(f"voicemail/es/{name}/{speaker.id}/{tone}", Answer.VOICEMAIL,
                          _with_beep(speech((speaker, text)), tone), speaker.id, "es"))  # fmt: skip
    # "Hi," then a pause long enough to be taken for a person waiting for us.
    for pause, speaker in ((0.6, JOE), (1.0, US_F3), (1.5, JOE_HIGH), (2.0, GB_M3)):
        build = speech((speaker, "Hi,"), pause, (speaker, "you've reached Dana. Please leave a message."))
        tone = next(beeps)
        out.append(Recipe(f"voicemail/hi-pause-{pause:g}s/{speaker.id}/{tone}", Answer.VOICEMAIL,
                          _with_beep(build, tone), speaker.id, hard=f"'Hi,' and a {pause:g} s pause"))  # fmt: skip
    prank = speech((JOE, "Hello?"), 2.0, (JOE, "Ha, gotcha! This is Dana's voicemail. Leave a message."))
    out.append(Recipe("voicemail/prank-hello", Answer.VOICEMAIL, _with_beep(prank, "1000hz"), JOE.id,
                      hard="'Hello?' and a 2 s pause, as a person would"))  # fmt: skip
    return out


def _goal(keys: str, *, name: str = "", ext: str = "", words: tuple[str, ...] = (), lang: str = "en") -> IvrTarget:
    goal = IvrGoal(contact_name=name, extension=ext, language=lang)
    if words:
        goal = IvrGoal(contact_name=name, extension=ext, department_words=words, language=lang)
    return IvrTarget(goal, keys)


def _ivr() -> list[Recipe]:
    out: list[Recipe] = []
    dana = "Dana Whitfield"
    if have_prompts("en"):
        real_en = [
            ("pbx-main/sales", ("basic-pbx-ivr-main",), _goal("1")),
            ("pbx-main/extension", ("basic-pbx-ivr-main",), _goal("204", name=dana, ext="204")),
            ("pbx-main/contact", ("basic-pbx-ivr-main",), _goal("4", name=dana)),
            ("pbx-main/accounting", ("basic-pbx-ivr-main",), _goal("3", words=("accounting",))),
            ("demo-instruct/technical", ("demo-instruct",), _goal("2", words=("technical information",))),
            ("demo-instruct/echo-test", ("demo-instruct",), _goal("600", words=("echo test",))),
            ("dir-intro", ("dir-intro",), _goal("944", name=dana)),
            ("dir-intro-fn", ("dir-intro-fn",), _goal("326", name=dana)),
            ("conf-usermenu", ("conf-usermenu",), _goal("1", words=("mute",))),
            ("conf-adminmenu", ("conf-adminmenu",), _goal("8", words=("exit",))),
            ("vm-instructions", ("vm-instructions",), _goal("1", words=("messages",))),
            ("vm-options", ("vm-options",), _goal("5", words=("password",))),
            ("vm-msginstruct", ("vm-msginstruct",), _goal("6", words=("next message",))),
            ("followme-options", ("followme/options",), _goal("1", words=("accept",))),
            ("tt-allbusy", ("tt-allbusy",), None),
            ("queue-announce", ("queue-periodic-announce",), None),
        ]
        for name, names, target in real_en:
            out.append(Recipe(f"ivr/asterisk/{name}", Answer.IVR, then(real(*names), WAIT_S), "asterisk",
                              ivr=target))  # fmt: skip
    if have_prompts("es"):
        real_es = [
            ("dir-intro", ("dir-intro",), _goal("944", name=dana, lang="es")),
            ("vm-instructions", ("vm-instructions",), _goal("1", words=("mensajes",), lang="es")),
            ("conf-usermenu", ("conf-usermenu",), _goal("8", words=("salir",), lang="es")),
            ("queue-announce", ("queue-periodic-announce",), None),
        ]
        for name, names, target in real_es:
            out.append(Recipe(f"ivr/asterisk-es/{name}", Answer.IVR, then(real(*names, lang="es"), WAIT_S),
                              "asterisk", "es", ivr=target))  # fmt: skip
    menus = [
        ("acme-sales", "Thank you for calling Acme. For sales, press 1. For support, press 2. For billing, press 3. "
         "For an operator, press 0.", _goal("1"), (JOE, US_F3)),
        ("acme-billing", "Thank you for calling Acme. For sales, press 1. For support, press 2. For billing, "
         "press 3. For an operator, press 0.", _goal("3", words=("billing",)), (GB_M3,)),
        ("globex-english", "Thank you for calling Globex. For English, press 1. Para español, oprima 2.",
         _goal("1"), (JOE_LOW, US_M1)),
        ("initech-extension", "You have reached Initech. If you know your party's extension, please dial it now. "
         "For sales, press 1. For the company directory, press 9.", _goal("214", name=dana, ext="214"),
         (JOE_HIGH, GB_M3)),
        ("umbrella-new-customers", "Welcome to Umbrella Corporation. Please listen carefully, as our menu options "
         "have changed. For new customers, press 1. For existing customers, press 2. For all other inquiries, "
         "press 0.", _goal("1"), (JOE, US_F3)),
        ("acme-contact", "Thank you for calling Acme. To reach Dana Whitfield, press 4. For sales, press 1. "
         "For all other calls, press 0.", _goal("4", name=dana), (JOE_LOW, US_M1)),
        ("hooli-operator", "Thank you for calling Hooli. For technical support, press 1. For billing, press 2. "
         "To speak with a representative, press 0.", _goal("0"), (JOE_HIGH, GB_M3)),
        ("dewey-directory", "Thank you for calling the offices of Dewey, Cheatham and Howe. If you know your "
         "party's extension, you may dial it at any time. For a directory of names, press 9.",
         _goal("9", name=dana), (GB_M3, US_F3)),
        ("important-sales", "Your call is important to us. Para español, oprima dos. For sales, press three. "
         "For service, press four.", _goal("3"), (JOE_LOW,)),
    ]  # fmt: skip
    for name, text, target, speakers in menus:
        for speaker in speakers:
            out.append(Recipe(f"ivr/{name}/{speaker.id}", Answer.IVR, then(speech((speaker, text)), WAIT_S),
                              speaker.id, ivr=target))  # fmt: skip
    spanish = speech(
        (ES_F3, "Gracias por llamar a Acme. Para ventas, oprima uno. Para soporte, oprima dos. "
                "Para hablar con una operadora, oprima cero.")
    )  # fmt: skip
    out.append(Recipe(f"ivr/es/acme-ventas/{ES_F3.id}", Answer.IVR, then(spanish, WAIT_S), ES_F3.id, "es",
                      ivr=_goal("1", lang="es")))  # fmt: skip
    bilingual = speech((JOE, "Thank you for calling Globex. For English, press 1."), 0.3,
                       (MX_M3, "Para español, oprima 2."))  # fmt: skip
    out.append(Recipe("ivr/globex-espanol/bilingual", Answer.IVR, then(bilingual, WAIT_S), "piper+espeak", "es",
                      ivr=_goal("2", lang="es")))  # fmt: skip
    return out


def _tones() -> list[Recipe]:
    def cng() -> Int16:
        return cadence(beep(1100, 0.5, -14), 3.0, 3)

    tones: list[tuple[str, Callable[[], Int16], str]] = [
        ("fax-cng", cng, "a calling fax: 1100 Hz, 0.5 s on, 3 s off"),
        ("fax-cng-quiet", lambda: cadence(beep(1100, 0.5, -32), 3.0, 3), "CNG at -32 dBFS"),
        ("fax-ced", lambda: join([beep(2100, 3.0, -12), 4.0]), "an answering fax: 2100 Hz for 3 s"),
        ("fax-ced-v21", lambda: join([beep(2100, 3.0, -12), 0.075, fsk([0, 1, 1, 1, 1, 1, 1, 0] * 60, 1650, 1850, 300),
                                      3.0]), "CED, then V.21 HDLC flags"),  # fmt: skip
        ("modem-ansam", lambda: join([answer_tone(3.3), 3.0]), "2100 Hz with phase reversals"),
        ("busy", lambda: cadence(chord_beep([480, 620], 0.5, -16), 0.5, 8), "480+620 Hz, 0.5 s on and off"),
        ("reorder", lambda: cadence(chord_beep([480, 620], 0.25, -16), 0.25, 16), "fast busy"),
        ("dial-tone", lambda: chord_beep([350, 440], 8.0, -16), "350+440 Hz, steady"),
        ("milliwatt", lambda: join([beep(1004, 6.0, -10), 2.0]), "a 1004 Hz test tone"),
        ("busy-425hz", lambda: cadence(beep(425, 0.5, -14), 0.5, 8), "a European busy tone: one 425 Hz tone"),
        ("sit", lambda: join([multi_tone_beep([(913.8, 0.274), (1370.6, 0.274), (1776.7, 0.38)], -14), 6.0]),
         "a special information tone, then silence"),
    ]  # fmt: skip
    return [Recipe(f"fax_or_tone/{name}", Answer.TONE, fixed(make, what), "tones") for name, make, what in tones]


def recipes() -> list[Recipe]:
    """Every case of the corpus, unsynthesized, in a fixed order."""
    return [*_human(), *_voicemail(), *_ivr(), *_tones()]


def build_corpus(seed: int = 0, *, only: Collection[str] | None = None) -> list[AnswerCase]:
    """The cases (those whose name contains one of `only`, when given), synthesized."""
    chosen = [r for r in recipes() if only is None or any(part in r.name for part in only)]
    return [r.make(seed) for r in chosen]
