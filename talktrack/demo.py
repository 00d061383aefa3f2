"""`talktrack demo`: the bundled agent calls a scripted prospect on the simulated line."""

from __future__ import annotations

import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import datetime
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

from talktrack.bench.stats import fmt_ms, pct, table
from talktrack.brain.when import say_when
from talktrack.calls.agent import Agent, bundled_agent_dir
from talktrack.calls.engines import SpeechEngines
from talktrack.settings import Settings
from talktrack.testing.caller import check_media
from talktrack.testing.harness import SimulatedCall, simulate_call
from talktrack.testing.radicale import LocalRadicale, events_in
from talktrack.testing.scenario import load_scenario
from talktrack.testing.smtp import LocalSmtp
from talktrack.tools.outbox import Outbox


def bundled_scenario(name: str) -> Path:
    """Path of a scenario that ships with talktrack."""
    return Path(str(resources.files("talktrack.data").joinpath("scenarios", f"{name}.yaml")))


def _printer(started: float, agent_name: str) -> Callable[[str, str], None]:
    width = max(len(agent_name), len("Prospect"))
    agent, prospect = agent_name.ljust(width), "Prospect".ljust(width)
    labels = {"agent": agent, "prospect": prospect, "withdrawn": agent}

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


@asynccontextmanager
async def local_office(settings: Settings) -> AsyncIterator[Settings]:
    """A real calendar and mail server for the demo where none is configured: Radicale keeping its data
    under the data directory (so bookings stay inspectable), and an SMTP server on loopback."""
    async with AsyncExitStack() as stack:
        updates: dict[str, object] = {}
        if settings.caldav_url is None:
            radicale = stack.enter_context(LocalRadicale(settings.data_dir / "calendar"))
            updates |= {"caldav_url": radicale.calendar_url("demo", "sales"), "caldav_calendar": "Sales"}
        if settings.smtp_host is None:
            smtp = await stack.enter_async_context(LocalSmtp())
            updates |= {"smtp_host": smtp.host, "smtp_port": smtp.port, "smtp_starttls": False}
        yield settings.model_copy(update=updates)


def booking_report(call: SimulatedCall, settings: Settings) -> list[str]:
    """What the call booked, read back from the calendar and the outbox; problems start with "problem:"."""
    turns = [entry for entry in call.log.events if entry.get("kind") == "brain"]
    booked = [t["decision"] for t in turns if t.get("decision", {}).get("booking") == "booked"]
    if not booked:
        return []
    decision = booked[-1]
    start = datetime.fromisoformat(str(decision["start"]))
    tz = call.log.context["timezone"]
    uid = str(decision["uid"])
    lines = [f"  booked:    {start.astimezone(ZoneInfo(str(tz))):%a %Y-%m-%d %H:%M} {tz} — event {uid}"]
    storage = settings.data_dir / "calendar"
    found = [text for text in events_in(storage) if f"UID:{uid}" in text] if storage.is_dir() else []
    if storage.is_dir():
        lines.append(f"  calendar:  {settings.caldav_url} ({len(found)} event with this UID, stored under {storage})")
        if len(found) != 1:
            lines.append(f"  problem: expected exactly one event with UID {uid} in the calendar, found {len(found)}")
    said = [e["text"] for e in call.log.transcript if e["role"] == "agent" and "all set for" in e["text"]]
    called_at = datetime.fromtimestamp(call.log.started_at, ZoneInfo(str(tz)))
    spoken = say_when(start, str(tz), now=called_at, with_zone=True)
    if said and spoken in said[-1]:
        lines.append(f'  the agent said "{spoken}": the time of the event')
    else:
        lines.append(f"  problem: the agent never said the booked time ({spoken})")
    invites = [e for e in Outbox(settings.data_dir / "outbox").entries() if e.kind == "invite"]
    if invites:
        entry = invites[-1]
        lines.append(f"  invite:    {entry.status} to {entry.to} — `talktrack outbox {entry.id}` shows it")
    return lines


async def run_demo(
    agent_dir: Path | None = None, scenario_file: Path | None = None, data_dir: Path | None = None
) -> int:
    """Run the demo call with a real local calendar and mail server; returns an exit code."""
    settings = Settings() if data_dir is None else Settings(data_dir=data_dir)
    async with local_office(settings) as office_settings:
        return await _run_demo(agent_dir, scenario_file, office_settings)


async def _run_demo(agent_dir: Path | None, scenario_file: Path | None, settings: Settings) -> int:
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
        on_event=_printer(started, agent.playbook.persona.name),
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
    report = booking_report(call, settings)
    for line in report:
        print(line, file=sys.stderr if line.startswith("  problem") else sys.stdout)
    if any(line.startswith("  problem") for line in report):
        return 1
    if call.caller.failures:
        print("\n  problems seen by the prospect:", file=sys.stderr)
        for failure in call.caller.failures:
            print(f"   - {failure}", file=sys.stderr)
        return 1
    return 0
