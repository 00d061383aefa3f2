"""Between answering and opening: a person gets the opener; a voicemail, a phone menu or a tone do not.

Two processors around the turn taker. `ToneWatch` (before it) hears beeps and long tones in the raw
audio. `Screener` (after it) holds the far end's turns back from the responder until `AnswerDetector`
has decided who answered, then:

* a person: the held greeting goes on to the responder, which opens;
* voicemail: the agent's policy (`Playbook.voicemail`): hang up, or leave the personalised message
  as soon as the beep ends — or after `leave_after_silence_s` of quiet when no beep comes;
* a phone menu: `IvrNavigator` chooses keys for each menu and the line sends them; whoever answers
  after the keys is screened afresh (a person, the contact's voicemail, another menu);
* a fax or a line tone: hang up.

The agent never speaks while undecided: the responder's listen-first wait covers that.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pipecat.frames.frames import Frame, InputAudioRawFrame, SystemFrame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from talktrack.audio.beep import Beep, BeepDetector
from talktrack.audio.levels import is_audible
from talktrack.calls.detection import Answer, AnswerDetector, Verdict, machine_cue
from talktrack.calls.frames import ProspectOnsetFrame, ProspectTurnFrame, TurnRetractedFrame
from talktrack.calls.ivr import IvrGoal, IvrNavigator, normalize
from talktrack.calls.machine_ears import MachineSpeechFrame
from talktrack.calls.record import CallLog

_POLL_S = 0.05
_QUIET_S = 0.3  # this long without an audible frame: the far end has paused
_MENU_OVER_S = 1.5  # this long quiet after a menu's last option: it has been read out


@dataclass
class ToneFrame(SystemFrame):
    """A beep ended (``kind="beep"``) or a steady tone has sounded too long for one (``"long_tone"``)."""

    kind: str = "beep"
    at: float = 0.0  # monotonic time of the beep's end
    frequency_hz: float = 0.0


@dataclass(frozen=True)
class VoicemailPolicy:
    action: Literal["leave_message", "hang_up"] = "leave_message"
    message: str = ""
    leave_after_silence_s: float = 2.5  # no beep: leave the message once the greeting has been quiet this long
    max_wait_s: float = 40.0  # a greeting that never ends: leave the message anyway


class ToneWatch(FrameProcessor):
    """Runs the beep detector over the far end's audio and reports tones downstream.

    A beep counts once `quiet_after_s` of quiet has followed it: the beep that ends a greeting is
    followed by silence (the recorder listens), a tone inside music or speech is not.
    """

    def __init__(self, rate: int, *, quiet_after_s: float = 0.2) -> None:
        super().__init__(name="tone-watch")
        self._detector = BeepDetector()
        self._rate = rate
        self._quiet_after_s = quiet_after_s
        self._fed = 0
        self._pending: Beep | None = None
        self.last_sound = 0.0  # monotonic time of the last audible frame (speech, music or tone)

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, InputAudioRawFrame) and direction is FrameDirection.DOWNSTREAM:
            await self._hear(np.frombuffer(frame.audio, dtype=np.int16))
        await self.push_frame(frame, direction)

    async def _hear(self, pcm: np.ndarray) -> None:
        start_s = self._fed / self._rate
        self._fed += pcm.size
        if is_audible(pcm):
            self.last_sound = time.monotonic()
        if self._pending is not None:
            if is_audible(pcm) and start_s >= self._pending.end_s:
                self._pending = None  # sound right after it: part of music or speech, not the beep
            elif self._fed / self._rate - self._pending.end_s >= self._quiet_after_s:
                beep, self._pending = self._pending, None
                await self._report("beep", beep.end_s, beep.frequency_hz)
        for tone in self._detector.feed_events(pcm):
            if isinstance(tone, Beep):
                self._pending = tone
            else:
                await self._report("long_tone", tone.reported_s, tone.frequency_hz)

    async def _report(self, kind: str, stream_s: float, frequency_hz: float) -> None:
        # The detector's clock is the audio itself: map its seconds onto the monotonic clock.
        at = time.monotonic() - (self._fed / self._rate - stream_s)
        await self.push_frame(ToneFrame(kind=kind, at=at, frequency_hz=frequency_hz))


class Screener(FrameProcessor):
    """Holds the far end's turns until it is known who answered, and deals with machines itself."""

    def __init__(
        self,
        *,
        log: CallLog,
        voicemail: VoicemailPolicy,
        ivr_goal: IvrGoal,
        send_keys: Callable[[str], Awaitable[None]] | None,
        leave_message: Callable[[str], Awaitable[None]],
        end_call: Callable[[str], Awaitable[None]],
        stand_down: Callable[[], None],
        last_sound: Callable[[], float],
        restart_listening: Callable[[], Awaitable[None]] | None = None,
        words_pending: Callable[[], bool] = lambda: False,
        carrier_answered_by: str | None = None,
    ) -> None:
        super().__init__(name="screener")
        self._log = log
        self._voicemail = voicemail
        self._navigator = IvrNavigator(ivr_goal)
        self._send_keys = send_keys
        self._leave_message = leave_message
        self._end_call = end_call
        self._stand_down = stand_down
        self.last_sound = last_sound  # when the line last carried sound (ToneWatch hears every frame)
        self._restart_listening = restart_listening
        self._words_pending = words_pending  # MachineEars is still transcribing a piece of the menu
        self._carrier = carrier_answered_by
        self._detector = AnswerDetector()
        self._answer: Answer | None = None
        self._held: ProspectTurnFrame | None = None
        self._onset: float | None = None
        self._turn_start: float | None = None
        self._menu_text = ""
        self._menu_said_at: float | None = None
        self._voicemail_since: float | None = None
        self._keys_at = 0.0  # when we last pressed keys on a menu
        self._done = False
        self._poller: asyncio.Task[None] | None = None

    @property
    def answer(self) -> Answer | None:
        return self._answer

    def wants_words(self) -> bool:
        """Whether a machine is talking whose words (a menu's options) should be transcribed piece by piece."""
        return self._answer in (Answer.VOICEMAIL, Answer.IVR) and not self._done

    def may_greet(self, quiet_s: float = 1.0) -> bool:
        """Whether the agent may say hello into a silent line: not to a machine, nor over a tone or music."""
        return self._answer in (None, Answer.HUMAN) and time.monotonic() - self.last_sound() >= quiet_s

    def _rel(self, t: float | None = None) -> float:
        return self._log.rel(t)

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if self._poller is None:
            self._poller = self.create_task(self._poll(), name="screener-poll")
            if self._carrier:
                await self._apply(self._detector.on_carrier(self._rel(), self._carrier))
        if isinstance(frame, ToneFrame):
            await self._on_tone(frame)
            return
        if isinstance(frame, MachineSpeechFrame):
            await self._on_machine_words(frame)
            return
        if isinstance(frame, ProspectOnsetFrame):
            self._onset = self._onset if self._onset is not None else frame.at
            if self._answer is None or self._revisable_human():
                await self._apply(self._detector.on_onset(self._rel(frame.at)))
            if self._answer not in (None, Answer.HUMAN):
                return  # the responder must not hear a machine's onsets (no barge-in bookkeeping)
        elif isinstance(frame, ProspectTurnFrame):
            await self._on_turn(frame)
            return
        elif isinstance(frame, TurnRetractedFrame):
            # They only paused: the turn that follows spans both parts, from the first part's onset.
            self._onset = self._turn_start
            if self._answer is None or self._answer is Answer.HUMAN:
                await self._apply(self._detector.on_onset(self._rel()))
            if self._answer is not Answer.HUMAN:
                return
        await self.push_frame(frame, direction)

    async def cleanup(self) -> None:
        await super().cleanup()
        if self._poller is not None and not self._poller.done():
            await self.cancel_task(self._poller)

    def _revisable_human(self) -> bool:
        return self._answer is Answer.HUMAN and self._detector.verdict is not None

    # -- events --------------------------------------------------------------------------

    async def _on_turn(self, frame: ProspectTurnFrame) -> None:
        end = frame.timing.get("speech_end", time.monotonic())
        start = self._onset if self._onset is not None else end
        self._onset, self._turn_start = None, start
        if self._keys_at and frame.timing.get("onset", start) < self._keys_at:
            self._log.event("machine_turn", text=frame.text)  # the rest of a menu already answered
            return
        if self._answer is Answer.IVR:
            # The menu's own words arrive piece by piece from MachineEars; a turn matters only when it
            # starts after our keys and is no menu: someone (or something) new picked up. Screen afresh.
            if not self._keys_at or machine_cue(frame.text, normalize(frame.text)):
                self._log.event("machine_turn", text=frame.text)
                return
            self._log.event("ivr_left", text=frame.text)
            self._detector, self._answer = AnswerDetector(), None
            self._menu_text, self._menu_said_at = "", None
        if self._answer in (None, Answer.HUMAN, Answer.VOICEMAIL):
            verdict = self._detector.on_turn(self._rel(end), frame.text, max(0.0, end - start))
            if verdict is not None:
                self._held = frame if verdict.answer is Answer.HUMAN else None
                await self._apply(verdict)
                if verdict.answer is Answer.HUMAN:
                    return
            elif self._answer is None and frame.text:
                self._held = frame  # undecided: keep it until the detector decides
                self._log.event("screening_held", text=frame.text)
                return
        answer: Answer | None = self._answer  # (as `_apply` left it)
        if answer is Answer.HUMAN:
            await self.push_frame(frame)
        elif answer is Answer.IVR:
            await self._on_menu(frame.text)
        else:
            self._log.event("machine_said", text=frame.text)

    async def _on_tone(self, frame: ToneFrame) -> None:
        self._log.event(frame.kind, frame.at, hz=round(frame.frequency_hz))
        if frame.kind == "long_tone":
            await self._apply(self._detector.on_long_tone(self._rel(frame.at), frame.frequency_hz))
            return
        verdict = self._detector.on_beep(self._rel(frame.at))
        if verdict is not None:
            await self._apply(verdict)
        if self._answer is Answer.VOICEMAIL:
            await self._voicemail_now("after the beep")

    async def _on_machine_words(self, frame: MachineSpeechFrame) -> None:
        if frame.start < self._keys_at or self._done:
            return  # the rest of a menu already answered
        self._log.event("machine_words", text=frame.text)
        if self._answer is Answer.VOICEMAIL:
            # Judged a machine by its length: its words tell whether it is a menu after all.
            await self._apply(self._detector.on_turn(self._rel(frame.end), frame.text, frame.end - frame.start))
        if self._answer is Answer.IVR:
            await self._on_menu(frame.text)

    async def _poll(self) -> None:
        while not self._done:
            await asyncio.sleep(_POLL_S)
            now = time.monotonic()
            if self._answer is None or self._answer is Answer.HUMAN:
                sounding = now - self.last_sound() < _QUIET_S
                await self._apply(self._detector.poll(self._rel(now), sounding=sounding))
            quiet_s = now - self.last_sound()
            if self._answer is Answer.VOICEMAIL and self._voicemail_since is not None:
                # Not while a piece of the greeting is still being transcribed: it may show a menu.
                quiet = quiet_s >= self._voicemail.leave_after_silence_s and not self._words_pending()
                if quiet or now - self._voicemail_since >= self._voicemail.max_wait_s:
                    await self._voicemail_now("no beep; the greeting ended" if quiet else "the greeting never ended")
            elif self._answer is Answer.IVR and self._menu_said_at is not None and quiet_s >= _MENU_OVER_S:
                if not self._words_pending() or quiet_s >= _MENU_OVER_S + 3.0:
                    await self._act_on_menu(final=True)  # the menu has finished: choose from all of it

    # -- verdicts -------------------------------------------------------------------------

    async def _apply(self, verdict: Verdict | None) -> None:
        if verdict is None or self._done:
            return
        previous, self._answer = self._answer, verdict.answer
        self._log.event("answered_by", answer=verdict.answer.value, at_s=verdict.at_s, reason=verdict.reason)
        if verdict.answer is Answer.HUMAN:
            held, self._held = self._held, None
            if held is not None:
                await self.push_frame(held)
            return
        if previous is Answer.HUMAN:
            self._stand_down()  # the "person" was the start of a recording: the responder stops talking
        self._held = None
        if verdict.answer is Answer.VOICEMAIL:
            if self._voicemail.action == "hang_up":
                await self._finish("voicemail", "policy: hang up on voicemail")
            else:
                self._voicemail_since = time.monotonic()
        elif verdict.answer is Answer.TONE:
            await self._finish("fax_or_tone", verdict.reason)

    async def _voicemail_now(self, why: str) -> None:
        if self._done or self._voicemail.action != "leave_message":
            return
        self._done = True
        self._log.event("voicemail_message", why=why)
        await self._leave_message(self._voicemail.message)

    async def _finish(self, outcome: str, why: str) -> None:
        if self._done:
            return
        self._done = True
        self._log.event("screened_out", outcome=outcome, why=why)
        await self._end_call(outcome)

    # -- phone menus ----------------------------------------------------------------------

    async def _on_menu(self, text: str) -> None:
        self._menu_text = f"{self._menu_text} {text}".strip()
        self._menu_said_at = time.monotonic()
        await self._act_on_menu(final=False)

    async def _act_on_menu(self, *, final: bool) -> None:
        """Act as soon as an option serves the goal; otherwise once the whole menu has been heard."""
        action = self._navigator.preview(self._menu_text)
        if action is None or (not final and not action.serves_goal):
            if final:
                self._menu_said_at = None
            return
        self._navigator.commit(self._menu_text, action)
        self._menu_text, self._menu_said_at = "", None
        self._log.event("ivr", action=action.kind, keys=action.keys, reason=action.reason)
        if action.kind == "give_up":
            await self._finish("ivr_failed", action.reason)
        elif action.kind == "keys" and self._send_keys is not None:
            await self._send_keys(action.keys)
            self._keys_at = time.monotonic()
            if self._restart_listening is not None:
                await self._restart_listening()
            # Whoever picks up after the keys is screened afresh: a person, their voicemail, another menu.
            self._detector = AnswerDetector()
            self._answer = None
        elif action.kind == "keys":
            await self._finish("ivr_failed", "this line cannot send keys")
