"""`talktrack demo`: the bundled agent calls a scripted prospect on the simulated line."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from talktrack.bench.stats import fmt_ms, pct, table
from talktrack.calls.agent import Agent, bundled_agent_dir
from talktrack.calls.engines import SpeechEngines
from talktrack.settings import Settings
from talktrack.testing.caller import check_media
from talktrack.testing.harness import SimulatedCall, simulate_call
from talktrack.testing.scenario import load_scenario


def bundled_scenario(name: str) -> Path:
    """Path of a scenario that ships with talktrack."""
    return Path(str(resources.files("talktrack.data").joinpath("scenarios", f"{name}.yaml")))


def _printer(started: float) -> Callable[[str, str], None]:
    labels = {"agent": "Sarah   ", "prospect": "Prospect", "withdrawn": "Sarah   "}

    def on_event(who: str, text: str) -> None:
        if who == "heard":
            return
        if who == "withdrawn":
            text = "(stops: the prospect was still talking)"
        print(f"  {time.monotonic() - started:6.1f}s  {labels.get(who, who)}  {text}", flush=True)

    return on_event


def latency_rows(call: SimulatedCall) -> list[list[object]]:
    """One row per prospect utterance: ground-truth delays from the caller, engine split from the record."""
    rows: list[list[object]] = []
    records = list(call.log.turns)
    for utt, measure in zip([u for u in call.caller.utterances if u.end > 0], call.caller.turns, strict=True):
        # Match the engine's turn whose estimated speech end is closest to the true one.
        rec = min(records, key=lambda r: abs((call.log.t0 + r.speech_end_s) - utt.end), default=None)
        if rec is not None and abs((call.log.t0 + rec.speech_end_s) - utt.end) > 1.0:
            rec = None
        text = utt.text if len(utt.text) <= 38 else utt.text[:35] + "..."
        rows.append(
            [
                text + (" [barge-in]" if utt.barge_in else ""),
                fmt_ms(measure.v2v_ms),
                fmt_ms(measure.bargein_stop_ms),
                fmt_ms(rec.endpoint_ms) if rec else "—",
                fmt_ms(rec.stt_ms) if rec else "—",
                f"{rec.brain_ms:.1f}" if rec else "—",
                rec.decision if rec else "",
            ]
        )
    return rows


async def run_demo(
    agent_dir: Path | None = None, scenario_file: Path | None = None, data_dir: Path | None = None
) -> int:
    """Run the demo call; prints the live transcript and a latency table; returns an exit code."""
    settings = Settings() if data_dir is None else Settings(data_dir=data_dir)
    agent = Agent.load(agent_dir or bundled_agent_dir())
    scenario = load_scenario(scenario_file or bundled_scenario("demo"))
    check_media(scenario)
    print(f"talktrack demo — agent '{agent.agent_id}', scenario '{scenario.name}'")
    print("  loading local speech models (Whisper tiny.en, Smart Turn v3.2, Piper joe-medium)...", flush=True)
    engines = SpeechEngines.load(settings)
    out_dir = settings.data_dir / "calls"
    started = time.monotonic()
    print("  ringing... (the opener is synthesized while the phone rings)\n", flush=True)
    call = await simulate_call(
        agent,
        scenario,
        engines,
        settings,
        on_event=_printer(started),
        transcribe_agent=True,
        save_to=out_dir,
    )
    print(
        f"\n  call ended after {time.monotonic() - started:.1f}s — outcome: {call.log.outcome}"
        f" (hung up by the {call.caller.hung_up_by})\n"
    )
    print("Latency per prospect turn (ms). v2v and barge-in stop are measured by the prospect from the audio;")
    print("endpoint (speech end → turn decided), STT and brain come from the engine's own timeline.\n")
    headers = ["prospect said", "v2v", "barge-in stop", "endpoint", "stt", "brain", "turn end by"]
    print(table(headers, latency_rows(call)))
    v2v, barge = call.caller.v2v_ms, call.caller.bargein_ms
    print(
        f"\n  voice-to-voice: p50 {fmt_ms(pct(v2v, 50))} ms, p95 {fmt_ms(pct(v2v, 95))} ms over {len(v2v)} turns;"
        f" barge-in stop: {', '.join(fmt_ms(b) for b in barge) or '—'} ms"
    )
    print(f"  recording: {call.log.recording}")
    print(f"  record:    {out_dir / (call.log.call_id + '.json')}")
    if call.caller.failures:
        print("\n  problems seen by the prospect:", file=sys.stderr)
        for failure in call.caller.failures:
            print(f"   - {failure}", file=sys.stderr)
        return 1
    return 0
