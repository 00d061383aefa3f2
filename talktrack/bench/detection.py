"""`talktrack bench detection`: who answered (AMD) and IVR navigation, measured on the answer corpus.

Each case of `talktrack.bench.answer_corpus` is replayed, 20 ms at a time in audio time (no real-time
wait, no Pipecat pipeline), through an offline replica of the live listening path, in the pipeline's order:

* ToneWatch: `BeepDetector.feed_events`; a beep counts once 0.2 s of quiet follows it; the last audible frame;
* MachineEars: while a machine is talking, pause-delimited pieces of the raw audio, each transcribed;
* TurnTaker: the Silero VAD `Endpointer`'s onsets and pauses; at each pause the utterance is resampled to
  16 kHz and transcribed by the same `WhisperSTT` (tiny.en) while Smart Turn scores it; the turn is taken
  after the same policy wait (or when STT finishes, if later), and speech soon after a taken turn continues it;
* Screener: `AnswerDetector` gets onsets, turns, machine words, a poll every 50 ms, beeps and long tones
  with the screener's routing; once it says IVR, `IvrNavigator` acts at once on a match that serves the
  goal and otherwise when the menu has gone quiet. A beep (or the quiet after a greeting) once the verdict
  is voicemail, a tone verdict or the first keys end the screening, as they end it on a call.

Transcription costs its measured time on this machine (or `--stt-latency-ms`), in audio time, so a slow
STT delays turns as it does on a call. AMD accuracy is person against machine (voicemail, IVR and tones
are all machines) by the last verdict; the 4-way accuracy needs the kind too. A case's AMD decision time
is the audio time, from the answer, since which its verdicts have said person or machine as the last does.
"""

from __future__ import annotations

import argparse
import inspect
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pipecat.audio.vad.silero import SileroVADAnalyzer

from talktrack.audio.beep import Beep, BeepDetector
from talktrack.audio.levels import is_audible
from talktrack.audio.resample import float_at
from talktrack.bench.answer_corpus import RATE, AnswerCase, IvrTarget, build_corpus
from talktrack.bench.stats import fmt_ms, pct, table
from talktrack.calls import screener
from talktrack.calls.detection import Answer, AnswerDetector, Verdict
from talktrack.calls.ivr import IvrAction, IvrGoal, IvrNavigator
from talktrack.calls.machine_ears import MachineEars
from talktrack.calls.screener import VoicemailPolicy
from talktrack.calls.turn_taker import TurnPolicy, is_lead_in, looks_like_sentence, transcript_says_done
from talktrack.settings import Settings
from talktrack.speech.endpointing import Endpointer, EndpointSettings, EventKind, SpeechEvent
from talktrack.speech.smart_turn import MODEL_RATE, SmartTurn
from talktrack.speech.stt_whisper import WhisperSTT
from talktrack.speech.whisper_models import tiny_en_dir


def _default(cls: type, name: str) -> float:
    return float(inspect.signature(cls).parameters[name].default)


TARGETS = {"amd_accuracy": 0.95, "amd_decision_p50_ms": 3000.0, "ivr_goal_rate": 0.90}
CHUNK = 160  # 20 ms: what a phone line delivers
# The live path's own timings, read from it so that the replay follows it.
POLL_S = screener._POLL_S  # the screener's timer
SCREENER_QUIET_S = screener._QUIET_S  # this long without an audible frame: the far end has paused
MENU_OVER_S = screener._MENU_OVER_S  # the screener chooses from the whole menu after this much quiet
QUIET_AFTER_BEEP_S = _default(screener.ToneWatch, "quiet_after_s")
EARS_PAUSE_S, EARS_MAX_S, EARS_MIN_S = (_default(MachineEars, n) for n in ("pause_s", "max_segment_s", "min_segment_s"))
MAX_TAIL_S = 15.0  # how long the line may stay quiet after the recording while a turn is still due
MACHINES = frozenset({Answer.VOICEMAIL, Answer.IVR, Answer.TONE})


@dataclass(frozen=True)
class Turn:
    """A turn the screener heard: when it was taken, when its speech ended, and its words."""

    taken_s: float
    speech_end_s: float
    speech_s: float
    text: str
    stt_ms: float


@dataclass
class CaseResult:
    """How one case went: every verdict with the audio time it was reached, the turns, the keys sent."""

    case: AnswerCase
    verdicts: list[tuple[float, Verdict]] = field(default_factory=list)
    turns: list[Turn] = field(default_factory=list)
    pieces: list[Turn] = field(default_factory=list)  # a machine's words, as MachineEars heard them
    action: IvrAction | None = None  # what the screener did with the menu
    navigated: IvrAction | None = None  # what the navigator does with all of the case's words
    stt_ms: list[float] = field(default_factory=list)

    @property
    def verdict(self) -> Verdict | None:
        return self.verdicts[-1][1] if self.verdicts else None

    @property
    def decided_s(self) -> float | None:
        return self.verdicts[-1][0] if self.verdicts else None

    @property
    def amd_decided_s(self) -> float | None:
        """Since when the verdict has said person or machine as it ends: voicemail refined to IVR is no new call."""
        if not self.verdicts:
            return None
        side = is_machine(self.verdicts[-1][1].answer)
        at = self.verdicts[-1][0]
        for t, verdict in reversed(self.verdicts):
            if is_machine(verdict.answer) != side:
                break
            at = t
        return at

    @property
    def correct(self) -> bool:
        return self.verdict is not None and self.verdict.answer is self.case.label

    @property
    def amd_correct(self) -> bool:
        return self.verdict is not None and is_machine(self.verdict.answer) == is_machine(self.case.label)

    @property
    def taken_for_human_first(self) -> bool:
        """A machine first judged a person: the agent began its opener over the recording."""
        return is_machine(self.case.label) and bool(self.verdicts) and self.verdicts[0][1].answer is Answer.HUMAN

    @property
    def heard(self) -> str:
        return " | ".join(t.text for t in self.turns if t.text)


def is_machine(answer: Answer) -> bool:
    return answer in MACHINES


def keys_of(action: IvrAction | None) -> str:
    return action.keys if action is not None and action.kind == "keys" else ""


def goal_reached(target: IvrTarget, action: IvrAction | None) -> bool:
    return keys_of(action) == target.keys


@dataclass(frozen=True)
class _Speculation:
    utterance: int
    text: str
    speech_end_s: float
    commit_s: float
    stt_ms: float


class Replay:
    """One call's listening path over a recording, in audio time: ToneWatch, MachineEars, TurnTaker, Screener."""

    def __init__(
        self,
        case: AnswerCase,
        stt: WhisperSTT,
        smart_turn: SmartTurn,
        *,
        endpoint: EndpointSettings,
        policy: TurnPolicy,
        voicemail: VoicemailPolicy,
        stt_latency_s: float | None = None,
        detector: Callable[[], AnswerDetector] = AnswerDetector,
    ) -> None:
        self.case = case
        self.result = CaseResult(case)
        self._stt, self._smart_turn = stt, smart_turn
        self._policy, self._voicemail = policy, voicemail
        self._stt_latency_s = stt_latency_s
        self._fed = 0
        self._next_poll = POLL_S
        # ToneWatch
        self._beeps = BeepDetector()
        self._pending_beep: Beep | None = None
        self._last_sound = 0.0
        # MachineEars: (due, words) waiting for their transcription to finish, in order
        self._ears = _Ears(EARS_PAUSE_S, EARS_MAX_S, EARS_MIN_S)
        self._ears_free_at = 0.0
        self._words_due: list[tuple[float, Turn]] = []
        # TurnTaker
        vad = SileroVADAnalyzer(sample_rate=RATE)
        vad.set_sample_rate(RATE)
        self._endpointer = Endpointer(RATE, vad.voice_confidence, endpoint)
        self._utterance = 0
        self._spec: _Speculation | None = None
        self._last_turn: tuple[float, np.ndarray, int, str] | None = None
        # Screener
        self._detector = detector()
        goal = case.ivr.goal if case.ivr is not None else IvrGoal(language=case.language)
        self._navigator = IvrNavigator(goal)
        self._answer: Answer | None = None
        self._onset: float | None = None
        self._turn_start: float | None = None
        self._menu_text = ""
        self._menu_said_at: float | None = None
        self._voicemail_since: float | None = None
        self._done = False

    def run(self) -> CaseResult:
        """Feed the whole recording, then the quiet line while a turn or a timer is still due."""
        audio = self.case.audio
        for start in range(0, audio.size, CHUNK):
            self._step(audio[start : start + CHUNK])
        quiet = np.zeros(CHUNK, dtype=np.int16)
        end = self._fed / RATE
        while self._busy() and self._fed / RATE - end < MAX_TAIL_S:
            self._step(quiet)
        return self.result

    def _step(self, chunk: np.ndarray) -> None:
        self._tone_watch(chunk)
        self._machine_ears(chunk)
        for event in self._endpointer.feed(chunk):
            t = event.at / RATE
            self._due(t)
            self._on_event(event, t)
        now = self._fed / RATE
        while self._next_poll <= now + 1e-9:
            self._due(self._next_poll)
            self._poll(self._next_poll)
            self._next_poll += POLL_S
        self._due(now)

    def _busy(self) -> bool:
        """A transcription or one of the screener's timers is still due."""
        now = self._fed / RATE
        last = max([t.taken_s for t in self.result.turns] + [due for due, _ in self._words_due] + [0.0])
        menu = self._answer is Answer.IVR and self._menu_said_at is not None and not self._done
        return self._spec is not None or bool(self._words_due) or menu or now - last < 1.0

    def _latency(self, measured_s: float) -> float:
        return self._stt_latency_s if self._stt_latency_s is not None else measured_s

    def _transcribe(self, pcm: np.ndarray) -> tuple[str, float, np.ndarray]:
        audio = float_at(pcm, RATE, MODEL_RATE)
        started = time.perf_counter()
        text = self._stt.transcribe(audio, "en").text.strip()
        seconds = time.perf_counter() - started
        self.result.stt_ms.append(seconds * 1000.0)
        return text, seconds, audio

    def _due(self, now: float) -> None:
        """Deliver what has finished by `now`: MachineEars' words, then the speculative turn."""
        while self._words_due and self._words_due[0][0] <= now:
            due, piece = self._words_due.pop(0)
            self._on_machine_words(piece, due)
        spec = self._spec
        if spec is None or spec.commit_s > now:
            return
        self._spec = None
        if spec.utterance != self._utterance:
            return
        if spec.text:
            self._last_turn = (spec.speech_end_s, self._endpointer.utterance(), self._endpointer.utterance_start,
                               spec.text)  # fmt: skip
        else:
            self._last_turn = None
        self._endpointer.commit()
        self._on_turn(spec, spec.commit_s)

    # -- ToneWatch and MachineEars --------------------------------------------------------------

    def _tone_watch(self, pcm: np.ndarray) -> None:
        start_s = self._fed / RATE
        self._fed += pcm.size
        if is_audible(pcm):
            self._last_sound = self._fed / RATE
        pending = self._pending_beep
        if pending is not None:
            if is_audible(pcm) and start_s >= pending.end_s:
                self._pending_beep = None
            elif self._fed / RATE - pending.end_s >= QUIET_AFTER_BEEP_S:
                self._pending_beep = None
                self._on_beep(pending.end_s, self._fed / RATE)
        for tone in self._beeps.feed_events(pcm):
            if isinstance(tone, Beep):
                self._pending_beep = tone
            else:
                self._apply(self._detector.on_long_tone(tone.reported_s, tone.frequency_hz), tone.reported_s)

    def _machine_ears(self, pcm: np.ndarray) -> None:
        piece = self._ears.hear(pcm, self._fed / RATE)
        if piece is None or not self._wants_words():
            return
        start, end, audio = piece
        text, seconds, _ = self._transcribe(audio)
        # MachineEars transcribes one piece at a time, in order.
        self._ears_free_at = max(self._ears_free_at, self._fed / RATE) + self._latency(seconds)
        if text:
            self._words_due.append(
                (self._ears_free_at, Turn(self._ears_free_at, end, end - start, text, seconds * 1000))
            )

    def _wants_words(self) -> bool:
        return self._answer in (Answer.VOICEMAIL, Answer.IVR) and not self._done

    # -- TurnTaker ------------------------------------------------------------------------------

    def _on_event(self, event: SpeechEvent, t: float) -> None:
        if event.kind is EventKind.ONSET:
            self._utterance += 1
            onset = event.mark / RATE
            if self._last_turn and onset - self._last_turn[0] <= self._policy.continuation_s:
                _, audio, start, _ = self._last_turn
                self._last_turn = None
                self._endpointer.prepend(audio, start)
                self._on_retracted(t)
                return
            self._on_onset(onset, t)
        elif event.kind is EventKind.PAUSE:
            self._spec = self._speculate(event.mark / RATE, t)
        else:
            self._spec = None  # resumed: the speculation is cancelled

    def _speculate(self, speech_end: float, paused_at: float) -> _Speculation:
        text, stt_s, audio = self._transcribe(self._endpointer.utterance())
        started = time.perf_counter()
        prob = self._smart_turn.predict(audio)
        turn_s = time.perf_counter() - started
        policy = self._policy
        reason = "smart_turn" if prob >= policy.smart_turn_threshold else transcript_says_done(text, policy)
        if is_lead_in(text):
            limit = policy.lead_in_wait_s
        elif reason is None and looks_like_sentence(text):
            limit = policy.sentence_wait_s
        elif reason is None:
            limit = policy.max_wait_s
        else:
            limit = 0.0
        # STT and Smart Turn run side by side on a call; the turn waits for the slower one.
        busy = self._latency(max(stt_s, turn_s))
        return _Speculation(self._utterance, text, speech_end, paused_at + max(limit, busy), stt_s * 1000.0)

    # -- Screener -------------------------------------------------------------------------------

    def _on_onset(self, onset: float, now: float) -> None:
        self._onset = self._onset if self._onset is not None else onset
        if self._answer in (None, Answer.HUMAN):
            self._apply(self._detector.on_onset(onset), now)

    def _on_retracted(self, now: float) -> None:
        self._onset = self._turn_start
        if self._answer in (None, Answer.HUMAN):
            self._apply(self._detector.on_onset(now), now)

    def _on_turn(self, spec: _Speculation, now: float) -> None:
        end = spec.speech_end_s
        start = self._onset if self._onset is not None else end
        self._onset, self._turn_start = None, start
        self.result.turns.append(Turn(now, end, max(0.0, end - start), spec.text, spec.stt_ms))
        if self._done or self._answer is Answer.IVR:
            return  # a menu's words come from MachineEars
        verdict = self._detector.on_turn(end, spec.text, max(0.0, end - start))
        if verdict is not None:
            self._apply(verdict, now)
        if verdict is not None and verdict.answer is Answer.IVR:
            self._on_menu(spec.text, now)

    def _on_machine_words(self, piece: Turn, now: float) -> None:
        self.result.pieces.append(piece)
        if self._done:
            return
        if self._answer is Answer.VOICEMAIL:
            # Judged a machine by its length: its words tell whether it is a menu after all.
            self._apply(self._detector.on_turn(piece.speech_end_s, piece.text, piece.speech_s), now)
        if self._answer is Answer.IVR:
            self._on_menu(piece.text, now)

    def _on_beep(self, end_s: float, now: float) -> None:
        self._apply(self._detector.on_beep(end_s), now)
        if self._answer is Answer.VOICEMAIL:
            self._done = True  # the message is left after the beep

    def _poll(self, now: float) -> None:
        if self._done:
            return
        quiet_s = now - self._last_sound
        if self._answer in (None, Answer.HUMAN):
            self._apply(self._detector.poll(now, sounding=quiet_s < SCREENER_QUIET_S), now)
        if self._answer is Answer.VOICEMAIL and self._voicemail_since is not None:
            quiet = quiet_s >= self._voicemail.leave_after_silence_s
            if quiet or now - self._voicemail_since >= self._voicemail.max_wait_s:
                self._done = True
        elif self._answer is Answer.IVR and self._menu_said_at is not None and quiet_s >= MENU_OVER_S:
            self._act_on_menu(final=True)

    def _apply(self, verdict: Verdict | None, now: float) -> None:
        if verdict is None or self._done:
            return
        self._answer = verdict.answer
        self.result.verdicts.append((round(now, 3), verdict))
        if verdict.answer is Answer.VOICEMAIL:
            self._voicemail_since = now
            self._done = self._voicemail.action == "hang_up"
        elif verdict.answer is Answer.TONE:
            self._done = True

    def _on_menu(self, text: str, now: float) -> None:
        self._menu_text = f"{self._menu_text} {text}".strip()
        self._menu_said_at = now
        self._act_on_menu(final=False)

    def _act_on_menu(self, *, final: bool) -> None:
        action = self._navigator.preview(self._menu_text)
        if action is None or (not final and not action.serves_goal):
            if final:
                self._menu_said_at = None
            return
        self._navigator.commit(self._menu_text, action)
        self._menu_text, self._menu_said_at = "", None
        self.result.action = action
        self._done = True  # the first keys (or giving up) settle the case


class _Ears:
    """MachineEars' cutting: audible audio gathered into pieces that end at a pause or at a maximum length."""

    def __init__(self, pause_s: float, max_s: float, min_s: float) -> None:
        self._pause, self._max, self._min = int(pause_s * RATE), int(max_s * RATE), int(min_s * RATE)
        self._pieces: list[np.ndarray] = []
        self._size = self._quiet = 0
        self._started = 0.0

    def hear(self, pcm: np.ndarray, now: float) -> tuple[float, float, np.ndarray] | None:
        """The piece (start s, end s, audio) that this chunk completes, if it completes one."""
        loud = is_audible(pcm)
        if not self._pieces and not loud:
            return None
        if not self._pieces:
            self._started = now - pcm.size / RATE
        self._pieces.append(pcm)
        self._size += pcm.size
        self._quiet = 0 if loud else self._quiet + pcm.size
        if self._quiet < self._pause and self._size < self._max:
            return None
        audio = np.concatenate(self._pieces)
        audio = audio[: audio.size - self._quiet] if self._quiet < audio.size else audio
        self._pieces, self._size, self._quiet = [], 0, 0
        if audio.size < self._min:
            return None
        return self._started, self._started + audio.size / RATE, audio


def navigate(texts: Sequence[str], goal: IvrGoal) -> IvrAction | None:
    """What the navigator does with a menu's turns, heard as an IVR from the first word: acting at once on a
    match that serves the goal, otherwise on the whole menu."""
    navigator = IvrNavigator(goal)
    menu = ""
    for text in texts:
        menu = f"{menu} {text}".strip()
        action = navigator.preview(menu)
        if action is not None and action.serves_goal:
            return action
    return navigator.preview(menu) if menu else None


# -- the run -------------------------------------------------------------------------------------


@dataclass
class DetectionScores:
    """The benchmark's figures and every case's result."""

    amd_accuracy: float
    four_way_accuracy: float
    amd_decision_p50_ms: float | None
    amd_decision_p95_ms: float | None
    ivr_goal_rate: float | None
    cases: list[CaseResult]
    ivr_navigation_rate: float | None = None  # the navigator alone, on every IVR case's transcript
    stt_p50_ms: float | None = None
    corpus_s: float = 0.0
    runtime_s: float = 0.0

    @property
    def targets_met(self) -> bool:
        return (
            self.amd_accuracy >= TARGETS["amd_accuracy"]
            and (self.amd_decision_p50_ms or 1e9) <= TARGETS["amd_decision_p50_ms"]
            and (self.ivr_goal_rate or 0.0) >= TARGETS["ivr_goal_rate"]
        )

    def summary(self) -> dict[str, Any]:
        """The figures for the JSON line."""
        per_class = {}
        for label in Answer:
            mine = [r for r in self.cases if r.case.label is label]
            if mine:
                per_class[label.value] = {
                    "cases": len(mine),
                    "accuracy": _rate(sum(r.correct for r in mine), len(mine)),
                    "amd_accuracy": _rate(sum(r.amd_correct for r in mine), len(mine)),
                }
        return {
            "amd_accuracy": self.amd_accuracy,
            "four_way_accuracy": self.four_way_accuracy,
            "amd_decision_p50_ms": self.amd_decision_p50_ms,
            "amd_decision_p95_ms": self.amd_decision_p95_ms,
            "ivr_goal_rate": self.ivr_goal_rate,
            "ivr_navigation_rate": self.ivr_navigation_rate,
            "cases": len(self.cases),
            "undecided": sum(r.verdict is None for r in self.cases),
            "machines_taken_for_human_first": sum(r.taken_for_human_first for r in self.cases),
            "per_class": per_class,
            "stt_p50_ms": self.stt_p50_ms,
            "corpus_s": round(self.corpus_s, 1),
            "runtime_s": round(self.runtime_s, 1),
            "targets_met": self.targets_met,
        }


def _rate(hits: int, total: int) -> float | None:
    return round(hits / total, 3) if total else None


def score(results: Sequence[CaseResult], *, corpus_s: float = 0.0, runtime_s: float = 0.0) -> DetectionScores:
    """The figures over a set of results."""
    n = len(results)
    decided = [r.amd_decided_s * 1000.0 for r in results if r.amd_decided_s is not None]
    targets = [r for r in results if r.case.ivr is not None]
    stt = [ms for r in results for ms in r.stt_ms]
    return DetectionScores(
        amd_accuracy=_rate(sum(r.amd_correct for r in results), n) or 0.0,
        four_way_accuracy=_rate(sum(r.correct for r in results), n) or 0.0,
        amd_decision_p50_ms=pct(decided, 50),
        amd_decision_p95_ms=pct(decided, 95),
        ivr_goal_rate=_rate(sum(goal_reached(r.case.ivr, r.action) for r in targets if r.case.ivr), len(targets)),
        ivr_navigation_rate=_rate(
            sum(goal_reached(r.case.ivr, r.navigated) for r in targets if r.case.ivr), len(targets)
        ),
        cases=list(results),
        stt_p50_ms=pct(stt, 50),
        corpus_s=corpus_s,
        runtime_s=runtime_s,
    )


def load_models(settings: Settings | None = None) -> tuple[WhisperSTT, SmartTurn]:
    """The live call's STT (tiny.en, as `SpeechEngines` loads it) and Smart Turn, warmed."""
    s = settings or Settings()
    stt = WhisperSTT(tiny_en_dir(s.whisper_model_dir), window_s=s.stt_window_s, cpu_threads=s.stt_threads,
                     workers=s.stt_workers)  # fmt: skip
    smart_turn = SmartTurn()
    stt.warmup()
    smart_turn.warmup()
    return stt, smart_turn


def run(
    cases: Sequence[AnswerCase],
    *,
    models: tuple[WhisperSTT, SmartTurn] | None = None,
    settings: Settings | None = None,
    stt_latency_s: float | None = None,
    detector: Callable[[], AnswerDetector] = AnswerDetector,
    progress: bool = False,
) -> list[CaseResult]:
    """Replay every case through the listening path.

    `stt_latency_s` charges each transcription that long (None: its measured time); `detector` makes the
    detector under test, so a change to it can be measured before it ships.
    """
    s = settings or Settings()
    stt, smart_turn = models or load_models(s)
    endpoint = EndpointSettings(start_s=s.vad_start_s, stop_s=s.vad_stop_s)
    policy = TurnPolicy(max_wait_s=s.turn_max_wait_s)
    results = []
    for i, case in enumerate(cases, 1):
        replay = Replay(case, stt, smart_turn, endpoint=endpoint, policy=policy, voicemail=VoicemailPolicy(),
                        stt_latency_s=stt_latency_s, detector=detector)  # fmt: skip
        result = replay.run()
        if case.ivr is not None:
            result.navigated = navigate([t.text for t in result.turns], case.ivr.goal)
        results.append(result)
        if progress:
            verdict = result.verdict.answer.value if result.verdict else "undecided"
            print(f"  [{i}/{len(cases)}] {case.name}: {verdict}", flush=True)
    return results


# -- the report ----------------------------------------------------------------------------------


def class_table(results: Sequence[CaseResult]) -> str:
    rows = []
    for label in Answer:
        mine = [r for r in results if r.case.label is label]
        if not mine:
            continue
        ms = [r.amd_decided_s * 1000.0 for r in mine if r.amd_decided_s is not None]
        rows.append((
            label.value, len(mine), f"{sum(r.correct for r in mine)}/{len(mine)}",
            f"{sum(r.amd_correct for r in mine)}/{len(mine)}", sum(r.verdict is None for r in mine),
            sum(r.taken_for_human_first for r in mine), fmt_ms(pct(ms, 50)), fmt_ms(pct(ms, 95)),
        ))  # fmt: skip
    headers = ["answered by", "cases", "right", "AMD right", "undecided", "human first", "AMD p50 ms", "AMD p95 ms"]
    return table(headers, rows)


def misclassified_table(results: Sequence[CaseResult]) -> str:
    rows = []
    for r in results:
        if r.correct:
            continue
        said = r.verdict.answer.value if r.verdict else "undecided"
        reason = r.verdict.reason if r.verdict else "no verdict"
        at = f"{r.decided_s:.1f}" if r.decided_s is not None else "—"
        rows.append((r.case.name[:58], r.case.label.value, said, "ok" if r.amd_correct else "WRONG", at,
                     reason[:70], r.heard[:80]))  # fmt: skip
    return table(["case", "is", "judged", "AMD", "at s", "reason", "heard"], rows)


def ivr_table(results: Sequence[CaseResult]) -> str:
    rows = []
    for r in results:
        target = r.case.ivr
        if target is None:
            continue
        goal = target.goal
        wants = goal.extension or (goal.contact_name if goal.contact_name and not goal.extension else "")
        wants = wants or "/".join(goal.department_words[:2])
        pressed = keys_of(r.action) or (r.action.kind if r.action else "—")
        alone = keys_of(r.navigated) or (r.navigated.kind if r.navigated else "—")
        mark = "ok" if goal_reached(target, r.action) else "MISSED"
        why = r.action.reason if r.action else (f"judged {r.verdict.answer.value}" if r.verdict else "undecided")
        rows.append((r.case.name[:52], f"{wants} ({goal.language})"[:28], target.keys, pressed, alone, mark,
                     why[:60]))  # fmt: skip
    return table(["menu", "goal", "expect", "pressed", "nav alone", "goal", "why"], rows)


def report(scores: DetectionScores) -> str:
    """The tables and a line of figures."""
    s = scores
    lines = ["who answered (AMD decision time from the answer)", class_table(s.cases), ""]
    if any(not r.correct for r in s.cases):
        lines += ["misclassified", misclassified_table(s.cases), ""]
    lines += ["IVR goals", ivr_table(s.cases), ""]
    ivr = "—" if s.ivr_goal_rate is None else f"{s.ivr_goal_rate:.1%}"
    nav = "—" if s.ivr_navigation_rate is None else f"{s.ivr_navigation_rate:.1%}"
    lines.append(
        f"AMD accuracy {s.amd_accuracy:.1%} (4-way {s.four_way_accuracy:.1%}) over {len(s.cases)} cases; "
        f"decision p50 {fmt_ms(s.amd_decision_p50_ms)} ms, p95 {fmt_ms(s.amd_decision_p95_ms)} ms; "
        f"IVR goal {ivr} (navigator alone {nav}); STT p50 {fmt_ms(s.stt_p50_ms)} ms; "
        f"corpus {s.corpus_s:.0f} s, run {s.runtime_s:.0f} s"
    )
    return "\n".join(lines)


def evaluate(
    seed: int = 0,
    only: Sequence[str] | None = None,
    *,
    stt_latency_s: float | None = None,
    progress: bool = False,
) -> DetectionScores:
    """Build the corpus (the cases whose name contains one of `only`), replay it and score it."""
    started = time.perf_counter()
    cases = build_corpus(seed, only=only)
    if not cases:
        raise ValueError(f"no case name contains any of {list(only or [])}; names look like 'human/hello/…'")
    corpus_s = time.perf_counter() - started
    results = run(cases, stt_latency_s=stt_latency_s, progress=progress)
    return score(results, corpus_s=corpus_s, runtime_s=time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    """Build the corpus, replay it, print the tables and a final JSON line; 0 when the targets are met."""
    parser = argparse.ArgumentParser(prog="talktrack bench detection", description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="corpus seed (levels, pauses, line noise)")
    parser.add_argument("--only", nargs="*", default=None, help="cases whose name contains one of these")
    parser.add_argument("--stt-latency-ms", type=float, default=None,
                        help="charge every transcription this long instead of its measured time")  # fmt: skip
    parser.add_argument("--progress", action="store_true", help="print each case as it is replayed")
    parser.add_argument("--json-out", type=Path, default=None, help="also write the final JSON line here")
    args = parser.parse_args(argv)
    latency = None if args.stt_latency_ms is None else args.stt_latency_ms / 1000.0
    try:
        scores = evaluate(args.seed, args.only, stt_latency_s=latency, progress=args.progress)
    except ValueError as exc:
        parser.error(str(exc))
    print(report(scores))
    line = json.dumps({"bench": "detection", **scores.summary()})
    print(line)
    if args.json_out:
        args.json_out.write_text(line + "\n")
    return 0 if scores.targets_met else 1


if __name__ == "__main__":
    raise SystemExit(main())
