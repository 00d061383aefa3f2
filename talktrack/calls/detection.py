"""Who answered: a person, a voicemail greeting, a phone menu, or a fax or line tone.

`AnswerDetector` is sans-I/O: the call feeds it speech onsets, finished turns with their words, tones
and the carrier's own verdict, with times in seconds since the answer, and asks `poll(now)` for the
timers. It combines what each source is good at:

* words: "leave a message", "not available", "after the tone" (and Spanish) mean a machine; a menu
  ("press 1 for sales") means an IVR; "Hello?", "Dana speaking", "who's calling?" mean a person;
* timing: people answer with a short greeting and then wait; machines talk on. Speech that runs past
  `max_greeting_s` without a pause is a recorded greeting;
* tones: a beep is the end of a voicemail greeting; a long steady tone is a fax or a line tone;
* the carrier's answering-machine detection (Twilio's ``AnsweredBy``) when the call has it.

A greeting that is neither short nor cued is a person if the line then stays quiet for
`after_greeting_silence_s` (they wait for us), a machine if the talking goes on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from talktrack.calls.ivr import normalize, parse_menu


class Answer(StrEnum):
    HUMAN = "human"
    VOICEMAIL = "voicemail"
    IVR = "ivr"
    TONE = "fax_or_tone"


@dataclass(frozen=True)
class Verdict:
    answer: Answer
    at_s: float
    reason: str


_VOICEMAIL = re.compile(
    r"\b(?:leave (?:me |us )?(?:a |your )?(?:brief |short |detailed )?(?:message|name and number|voicemail)|"
    r"after the (?:tone|beep)|at the (?:tone|beep)|not available|unavailable|can'?t (?:take|answer|get to|come to)|"
    r"cannot (?:take|answer|come to)|you'?ve reached|you have reached|voice ?mail|mailbox|record your message|"
    r"away from (?:my|the|his|her) (?:desk|phone)|get back to you|return your call|(?:no ?one|nobody) is available|"
    r"available to take your call|"
    r"deje (?:su|un) (?:mensaje|recado)|despues del tono|al oir (?:el|la) (?:tono|senal)|no (?:esta|se encuentra) "
    r"disponible|buzon|correo de voz|se ha comunicado con|ha llamado a|le devolvere la llamada|"
    r"no (?:puedo|podemos) (?:contestar|atender))\b"
)
_IVR = re.compile(
    r"\b(?:main menu|menu options|your call is important|please hold|para espanol|for english|listen carefully|"
    r"options have changed|dial by name|company directory|party'?s extension|stay on the line|remain on the line|"
    r"next available (?:representative|agent)|calls are answered in the order|"
    r"su llamada es importante|por favor espere|marque la extension)\b"
)
_HUMAN = re.compile(
    r"\b(?:hello|hi|hey|yeah|yes|speaking|this is \w+|\w+ speaking|who'?s (?:this|calling)|who is (?:this|calling)|"
    r"how can i help|can i help|may i help|what can i do for you|hola|bueno|diga|digame|alo|si|quien (?:habla|es)|"
    r"en que (?:le )?puedo ayudar)\b"
)


class AnswerDetector:
    """Decides who answered within a few seconds, staying undecided (and the agent quiet) until then."""

    def __init__(
        self,
        *,
        max_greeting_s: float = 3.0,
        after_greeting_silence_s: float = 0.6,
        short_greeting_s: float = 1.8,
        short_greeting_words: int = 5,
        revise_window_s: float = 6.0,
        talk_on_s: float = 1.0,
    ) -> None:
        self.max_greeting_s = max_greeting_s
        self.after_greeting_silence_s = after_greeting_silence_s
        self.short_greeting_s = short_greeting_s
        self.short_greeting_words = short_greeting_words
        self.revise_window_s = revise_window_s
        self.talk_on_s = talk_on_s
        self._talked_on = False
        self._revisable_until = -1.0
        self.verdict: Verdict | None = None
        self._talk_started: float | None = None  # onset of the run of speech not yet ended by a turn
        self._waiting_since: float | None = None  # an uncued greeting ended here; quiet after it → a person

    @property
    def decided(self) -> bool:
        return self.verdict is not None

    def _decide(self, answer: Answer, at_s: float, reason: str, *, revisable: bool = False) -> Verdict:
        self.verdict = Verdict(answer, round(at_s, 3), reason)
        self._waiting_since = None
        self._revisable_until = at_s + self.revise_window_s if revisable else -1.0
        return self.verdict

    def on_onset(self, t: float) -> Verdict | None:
        """The far end started talking."""
        if self.verdict is not None:
            if self.verdict.answer is Answer.HUMAN and t - self.verdict.at_s <= self.talk_on_s:
                self._talked_on = True  # no wait for our reply after "Hi,": perhaps a recording
            return None
        if self._waiting_since is not None:
            # They went on after a greeting that was neither short nor cued: a recording talks on.
            verdict = self._decide(Answer.VOICEMAIL, t, "talking went on after a long greeting")
            self._revisable_until = float("inf")  # a machine for sure; its words will tell which kind
            return verdict
        if self._talk_started is None:
            self._talk_started = t
        return None

    def on_turn(self, t: float, text: str, speech_s: float) -> Verdict | None:
        """A turn ended at `t` with these words after `speech_s` seconds of speech."""
        self._talk_started = None
        clean = normalize(text)
        cue = machine_cue(text, clean, strong=self.verdict is not None and self.verdict.answer is Answer.HUMAN)
        if self.verdict is not None:
            # "Hi, [pause] you've reached Dana…": a greeting judged by its start is corrected by what follows.
            talked_on = self._talked_on or self.verdict.answer is not Answer.HUMAN
            if cue is not None and talked_on and t <= self._revisable_until and cue[0] is not self.verdict.answer:
                return self._decide(cue[0], t, f"{cue[1]} (was {self.verdict.answer.value}: {self.verdict.reason})")
            return None
        if cue is not None:
            return self._decide(cue[0], t, cue[1], revisable=True)
        words = len(clean.split())
        if not words:
            return None
        if speech_s <= self.short_greeting_s and words <= self.short_greeting_words:
            return self._decide(Answer.HUMAN, t, f"a short greeting ({words} words, {speech_s:.1f} s)", revisable=True)
        if _HUMAN.search(clean) and ("?" in text or speech_s <= self.max_greeting_s):
            return self._decide(Answer.HUMAN, t, f"a person's greeting: {clean[:40]!r}", revisable=True)
        self._waiting_since = t
        return None

    def on_beep(self, t: float) -> Verdict | None:
        """A voicemail beep ended at `t`."""
        if self.verdict is None or (self.verdict.answer is not Answer.VOICEMAIL and t <= self._revisable_until):
            return self._decide(Answer.VOICEMAIL, t, "a beep")
        return None

    def on_long_tone(self, t: float, frequency_hz: float) -> Verdict | None:
        """A steady tone longer than any beep (fax, modem, dial or busy tone) is still sounding at `t`."""
        if self.verdict is not None:
            return None
        return self._decide(Answer.TONE, t, f"a steady {frequency_hz:.0f} Hz tone")

    def on_carrier(self, t: float, answered_by: str) -> Verdict | None:
        """The carrier's own detection (Twilio's ``AnsweredBy``: human, machine_start, machine_end_beep, fax…)."""
        if self.verdict is not None:
            return None
        kind = answered_by.lower()
        if kind == "human":
            return self._decide(Answer.HUMAN, t, "the carrier heard a person")
        if kind.startswith("machine"):
            return self._decide(Answer.VOICEMAIL, t, f"the carrier heard a machine ({kind})")
        if kind == "fax":
            return self._decide(Answer.TONE, t, "the carrier heard a fax")
        return None

    def poll(self, now: float, *, sounding: bool = True) -> Verdict | None:
        """Timers: a greeting that runs on is a machine; quiet after an uncued greeting is a person.

        `sounding` is False once the line has gone quiet: the talk has paused, though its turn (which
        waits for the transcript) has not arrived yet.
        """
        if self.verdict is not None:
            return None
        running = self._talk_started is not None and sounding
        if running and self._talk_started is not None and now - self._talk_started >= self.max_greeting_s:
            ran = now - self._talk_started
            verdict = self._decide(Answer.VOICEMAIL, now, f"greeting ran {ran:.1f} s without a pause")
            self._revisable_until = float("inf")  # a machine for sure; its words will tell which kind
            return verdict
        if self._waiting_since is not None and now - self._waiting_since >= self.after_greeting_silence_s:
            return self._decide(Answer.HUMAN, now, "quiet after the greeting: waiting for us")
        return None


def machine_cue(text: str, clean: str, *, strong: bool = False) -> tuple[Answer, str] | None:
    """A voicemail greeting's or a phone menu's own words, if the turn has them.

    `strong` keeps only what a person would not say ("please hold" they might): it may overturn a verdict.
    """
    menu = parse_menu(text)
    if menu is not None and menu.options:  # before the voicemail words: "to leave a message, press 5"
        return Answer.IVR, f"a menu: {clean[:60]!r}"
    found = _VOICEMAIL.search(clean)
    if found:
        return Answer.VOICEMAIL, f"voicemail words: {found.group(0)!r}"
    if not strong and ((menu is not None and (menu.accepts_extension or menu.spells_name)) or _IVR.search(clean)):
        return Answer.IVR, f"a menu: {clean[:60]!r}"
    return None
