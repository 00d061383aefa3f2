"""The answer corpus, the offline listening replay and the detection benchmark's scoring and report."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import numpy as np
import pytest

from talktrack.bench.answer_corpus import (
    RATE,
    AnswerCase,
    IvrTarget,
    Speaker,
    answer_tone,
    build_corpus,
    cadence,
    fsk,
    have_prompts,
    join,
    level,
    parse_transcripts,
    recipes,
    say,
)
from talktrack.bench.detection import CaseResult, Replay, main, navigate, score
from talktrack.calls.detection import Answer, Verdict
from talktrack.calls.ivr import IvrAction, IvrGoal
from talktrack.calls.screener import VoicemailPolicy
from talktrack.calls.turn_taker import TurnPolicy
from talktrack.speech.endpointing import EndpointSettings
from talktrack.speech.stt_whisper import SttResult
from talktrack.testing.tones import beep, silence


def test_transcript_lines_become_a_dict() -> None:
    text = "; Core sounds\n\nvm-intro: Please leave your message after the tone.\ndigits/0: cero\ndigits/0: diez\n"
    assert parse_transcripts(text) == {"vm-intro": "Please leave your message after the tone.", "digits/0": "cero"}


def test_the_corpus_has_every_kind_in_number() -> None:
    every = recipes()
    labels = Counter(r.label for r in every)
    assert len(every) >= 100
    assert all(labels[label] >= 10 for label in Answer)
    assert len({r.name for r in every}) == len(every)
    assert all(r.ivr is None or r.ivr.keys for r in every)
    assert any(r.language == "es" for r in every if r.label is Answer.HUMAN)
    assert any(r.hard for r in every if r.label is Answer.VOICEMAIL)


def test_tone_cases_are_the_same_on_every_build() -> None:
    first, again = build_corpus(3, only=["fax_or_tone/"]), build_corpus(3, only=["fax_or_tone/"])
    assert [c.name for c in first] == [c.name for c in again]
    assert all(np.array_equal(a.audio, b.audio) for a, b in zip(first, again, strict=True))
    assert all(c.audio.dtype == np.int16 and c.label is Answer.TONE for c in first)
    other = build_corpus(4, only=["fax_or_tone/busy"])[0]
    assert not np.array_equal(other.audio, first[[c.name for c in first].index(other.name)].audio)


def test_audio_helpers() -> None:
    assert join([beep(1000, 0.5), 0.25]).size == int(0.75 * RATE)
    assert cadence(beep(1100, 0.5), 3.0, 3).size == int(10.5 * RATE)
    assert fsk([0, 1] * 150, 1650, 1850, 300).size == RATE
    assert answer_tone(3.3).size == int(3.3 * RATE)
    loud = level(beep(440, 1.0, -6), -22.0)
    rms = np.sqrt(np.mean(loud.astype(np.float64) ** 2)) / 32768
    assert 20 * np.log10(rms) == pytest.approx(-22.0, abs=0.3)


def test_the_navigator_acts_on_a_contact_at_once_and_on_a_department_at_the_end() -> None:
    turns = ["Thank you for calling Acme.", "To reach Dana Whitfield, press 4.", "For sales, press 1."]
    assert navigate(turns, IvrGoal(contact_name="Dana Whitfield")) == IvrAction(
        "keys", "4", "the contact's name: 'reach dana whitfield'"
    )
    action = navigate(turns, IvrGoal())
    assert action is not None and action.keys == "1" and not action.serves_goal
    assert navigate(["Hello?"], IvrGoal()) is None


def _case(label: Answer, ivr: IvrTarget | None = None) -> AnswerCase:
    return AnswerCase(f"{label.value}/x", label, silence(0.1), "", "test", ivr=ivr)


def test_scores_count_people_against_machines_and_the_kind() -> None:
    def judged(label: Answer, answer: Answer | None, at: float, **kw: Any) -> CaseResult:
        result = CaseResult(_case(label, kw.get("ivr")))
        if answer is not None:
            result.verdicts.append((at, Verdict(answer, at, "test")))
        result.action = kw.get("action")
        return result

    sales = IvrTarget(IvrGoal(), "1")
    results = [
        judged(Answer.HUMAN, Answer.HUMAN, 1.0),
        judged(Answer.VOICEMAIL, Answer.IVR, 2.0),  # a machine all the same: AMD right, 4-way wrong
        judged(Answer.IVR, Answer.IVR, 3.0, ivr=sales, action=IvrAction("keys", "1")),
        judged(Answer.TONE, None, 0.0),  # undecided: wrong both ways
    ]
    scores = score(results)
    assert scores.amd_accuracy == 0.75 and scores.four_way_accuracy == 0.5
    assert scores.amd_decision_p50_ms == 2000.0
    assert scores.ivr_goal_rate == 1.0
    summary = scores.summary()
    assert summary["undecided"] == 1 and summary["per_class"]["voicemail"]["amd_accuracy"] == 1.0


def test_the_amd_decision_is_when_person_or_machine_was_last_settled() -> None:
    result = CaseResult(_case(Answer.IVR))
    for at, answer in ((1.0, Answer.HUMAN), (3.0, Answer.VOICEMAIL), (8.0, Answer.IVR)):
        result.verdicts.append((at, Verdict(answer, at, "test")))
    assert result.amd_decided_s == 3.0 and result.decided_s == 8.0  # refining the machine's kind is no AMD call
    assert result.taken_for_human_first and result.correct


class _HeardText:
    """Stands in for Whisper: every utterance is heard as the same words."""

    def __init__(self, text: str) -> None:
        self.text, self.calls = text, 0

    def transcribe(self, audio: np.ndarray, language: str | None = None) -> SttResult:
        self.calls += 1
        return SttResult(self.text, "en", 1.0, audio.size / 16.0, False, 0.0)


class _Done:
    def predict(self, audio: np.ndarray) -> float:
        return 1.0


def _replay(case: AnswerCase, heard: str) -> tuple[CaseResult, _HeardText]:
    stt = _HeardText(heard)
    replay = Replay(
        case, stt, _Done(),  # type: ignore[arg-type]
        endpoint=EndpointSettings(stop_s=0.16), policy=TurnPolicy(), voicemail=VoicemailPolicy(), stt_latency_s=0.3,
    )  # fmt: skip
    return replay.run(), stt


def test_the_replay_hears_a_steady_tone_without_stt() -> None:
    [case] = build_corpus(only=["fax_or_tone/fax-ced-v21"])
    result, stt = _replay(case, "")
    assert result.verdict is not None and result.verdict.answer is Answer.TONE
    assert result.decided_s is not None and 1.5 <= result.decided_s <= 2.0  # the 1.6 s long-tone rule
    assert stt.calls == 0


def test_the_replay_takes_a_turn_and_hears_the_beep() -> None:
    voice = Speaker("espeak", "en-us+f3")
    greeting = join([0.5, say(voice, "Hello?"), 3.0])
    result, stt = _replay(AnswerCase("human/test", Answer.HUMAN, greeting, "Hello?", voice.id), "Hello?")
    assert result.verdict is not None and result.verdict.answer is Answer.HUMAN
    assert result.decided_s is not None and result.decided_s < 2.0 and stt.calls >= 1
    assert result.turns[0].text == "Hello?"
    machine = join([0.5, say(voice, "Please leave a message after the tone."), 0.4, beep(1000, 0.5, -12), 2.0])
    case = AnswerCase("voicemail/test", Answer.VOICEMAIL, machine, "", voice.id)
    result, _ = _replay(case, "Please leave a message after the tone.")
    assert [v.answer for _, v in result.verdicts][-1] is Answer.VOICEMAIL


def test_an_unknown_case_name_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--only", "no-such-case"])
    assert exc.value.code == 2 and "no-such-case" in capsys.readouterr().err


@pytest.mark.integration
@pytest.mark.skipif(not have_prompts("en"), reason="the Asterisk prompts are not installed")
def test_the_bench_runs_end_to_end(capsys: pytest.CaptureFixture[str]) -> None:
    only = ["human/asterisk-hello", "voicemail/asterisk/intro-only", "ivr/asterisk/followme", "fax_or_tone/fax-ced"]
    code = main(["--only", *only])
    out = capsys.readouterr().out
    figures = json.loads(out.strip().splitlines()[-1])
    assert code in (0, 1)
    for key in ("amd_accuracy", "four_way_accuracy", "amd_decision_p50_ms", "amd_decision_p95_ms", "ivr_goal_rate",
                "cases", "targets_met"):  # fmt: skip
        assert key in figures
    assert figures["cases"] == 6
    assert "who answered" in out and "IVR goals" in out
    assert figures["amd_accuracy"] >= 0.5  # a floor: the full run is the judge
