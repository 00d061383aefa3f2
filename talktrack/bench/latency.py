"""`talktrack bench latency`: voice-to-voice and barge-in stop over a scenario set, against a stock baseline."""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from talktrack.bench.stats import fmt_ms, pct, table
from talktrack.brain.context import CallContext
from talktrack.brain.engine import PlaybookBrain
from talktrack.calls.agent import Agent, bundled_agent_dir
from talktrack.calls.engines import SpeechEngines
from talktrack.calls.record import CallLog
from talktrack.settings import Settings
from talktrack.telephony.simline import LineConditions, LineEnd
from talktrack.testing.caller import CallerReport, ScriptedCaller, check_media
from talktrack.testing.harness import SimulatedCall, scenario_context, simulate_call
from talktrack.testing.scenario import Scenario, load_scenario


def bench_scenarios(paths: list[Path] | None) -> list[Scenario]:
    """The given scenario files, or the bundled benchmark set."""
    if not paths:
        folder = Path(str(resources.files("talktrack.data").joinpath("scenarios", "bench")))
        paths = sorted(folder.glob("*.yaml"))
    scenarios = [load_scenario(p) for p in paths]
    for scenario in scenarios:
        check_media(scenario)
    return scenarios


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    import os

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version()}


def _baseline_runner(agent: Agent):  # type: ignore[no-untyped-def]
    from talktrack.bench.baseline import run_baseline_call

    async def run(line: LineEnd, context: CallContext) -> CallLog:
        return await run_baseline_call(PlaybookBrain(agent.playbook, context), line)

    return run


async def run_set(
    agent: Agent,
    scenarios: list[Scenario],
    engines: SpeechEngines,
    settings: Settings,
    *,
    repeat: int,
    conditions: LineConditions,
    baseline: bool,
) -> list[SimulatedCall]:
    """Run every scenario ``repeat`` times, one call at a time."""
    calls: list[SimulatedCall] = []
    runner = _baseline_runner(agent) if baseline else None
    for _ in range(repeat):
        for scenario in scenarios:
            call = await simulate_call(agent, scenario, engines, settings, conditions=conditions, agent_runner=runner)
            calls.append(call)
            _progress(call)
    return calls


_WIRE = {
    "twilio": "the Twilio media-stream WebSocket",
    "telnyx": "the Telnyx media-stream WebSocket",
    "sip": "SIP/RTP (our SIP edge, a SIP phone as the prospect)",
    "webrtc": "WebRTC (the softphone's offer/answer, an aiortc peer as the prospect)",
}
TRANSPORTS = ("sim", "twilio", "telnyx", "sip", "webrtc")


def parse_transports(text: str) -> list[str]:
    """``"sim,twilio,sip"`` → the list; the simulated line always runs first (the reference)."""
    names = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [t for t in names if t not in TRANSPORTS]
    if unknown:
        choices = ", ".join(TRANSPORTS)
        raise argparse.ArgumentTypeError(f"unknown transport {', '.join(unknown)} (choose from {choices})")
    return ["sim"] + [t for t in dict.fromkeys(names) if t != "sim"]


async def run_set_over(
    transport: str,
    agent: Agent,
    scenarios: list[Scenario],
    engines: SpeechEngines,
    settings: Settings,
    *,
    repeat: int,
    conditions: LineConditions,
) -> list[SimulatedCall]:
    """The same, end to end over a real transport: a carrier media stream, SIP/RTP or WebRTC on loopback."""
    calls: list[SimulatedCall] = []
    async with _calls_over(transport, agent, engines, settings, conditions) as place:
        for _ in range(repeat):
            for scenario in scenarios:
                log, report, caller = await place(scenario)
                if log is None:
                    raise RuntimeError(f"{scenario.name}: the server kept no record of the call")
                calls.append(SimulatedCall(log=log, caller=report, session=None, scripted=caller))
                _progress(calls[-1])
    return calls


@asynccontextmanager
async def _calls_over(
    transport: str, agent: Agent, engines: SpeechEngines, settings: Settings, conditions: LineConditions
) -> AsyncIterator[Callable[[Scenario], Awaitable[tuple[CallLog | None, CallerReport, ScriptedCaller]]]]:
    """Serve talktrack for ``transport`` and yield a function that places one scripted call through it."""
    if transport == "sip":
        from talktrack.testing.sip_harness import serve_sip, simulate_sip_call

        async with serve_sip(settings, engines) as service:
            yield lambda scenario: simulate_sip_call(service, scenario, called_user=agent.agent_id)
        return
    from talktrack.api.app import create_app
    from talktrack.testing.stream_harness import serve_app, simulate_stream_call

    if transport == "webrtc":  # ICE on loopback only: no interface but lo is needed
        settings = settings.model_copy(update={"webrtc_loopback_only": True})
    app = create_app(settings, engines)
    async with serve_app(app) as base:
        if transport == "webrtc":
            from talktrack.testing.webrtc_harness import simulate_webrtc_call

            yield lambda scenario: simulate_webrtc_call(
                app, base, agent.agent_id, scenario_context(agent, scenario), scenario
            )
        else:
            yield lambda scenario: simulate_stream_call(
                app,
                base,
                agent.agent_id,
                scenario_context(agent, scenario),
                scenario,
                carrier=transport,
                conditions=conditions,
            )


def _progress(call: SimulatedCall) -> None:
    v2v = call.caller.v2v_ms
    print(
        f"  {call.caller.scenario:20s} {len(v2v)} turns, v2v p50 {fmt_ms(pct(v2v, 50))} ms, outcome {call.log.outcome}",
        flush=True,
    )


def summarize(calls: list[SimulatedCall]) -> dict[str, Any]:
    """Pooled p50/p95 of the caller-side measurements."""
    v2v = [v for c in calls for v in c.caller.v2v_ms]
    barge = [b for c in calls for b in c.caller.bargein_ms]
    answered = sum(1 for c in calls for t in c.caller.turns if t.v2v_ms is not None)
    asked = sum(1 for c in calls for u in c.caller.utterances if u.kind == "say")
    return {
        "v2v_p50_ms": pct(v2v, 50),
        "v2v_p95_ms": pct(v2v, 95),
        "bargein_stop_p50_ms": pct(barge, 50),
        "bargein_stop_p95_ms": pct(barge, 95),
        "turns": len(v2v),
        "bargeins": len(barge),
        "prospect_lines": asked,
        "answered": answered,
        "failures": [f"{c.caller.scenario}: {f}" for c in calls for f in c.caller.failures],
    }


def _per_scenario(calls: list[SimulatedCall]) -> list[list[object]]:
    rows: list[list[object]] = []
    names = sorted({c.caller.scenario for c in calls})
    for name in names:
        mine = [c for c in calls if c.caller.scenario == name]
        v2v = [v for c in mine for v in c.caller.v2v_ms]
        barge = [b for c in mine for b in c.caller.bargein_ms]
        rows.append(
            [
                name,
                len(v2v),
                fmt_ms(pct(v2v, 50)),
                fmt_ms(pct(v2v, 95)),
                fmt_ms(max(v2v) if v2v else None),
                len(barge),
                fmt_ms(pct(barge, 95)),
            ]
        )
    return rows


@dataclass
class BenchSetup:
    """What every benchmark starts from."""

    settings: Settings
    agent: Agent
    scenarios: list[Scenario]
    conditions: LineConditions
    engines: SpeechEngines


def setup(args: argparse.Namespace, title: str) -> BenchSetup:
    """Read the inputs (bad ones fail before any model loads), print the title, load the engines."""
    settings = Settings()
    agent = Agent.load(bundled_agent_dir())
    scenarios = bench_scenarios(args.scenarios)
    conditions = LineConditions(latency_ms=args.latency_ms, jitter_ms=args.jitter_ms, loss=args.loss)
    print(
        f"{title}; {len(scenarios)} scenarios, line one-way {args.latency_ms:g} ms (+{args.jitter_ms:g} ms jitter,"
        f" {args.loss:.0%} loss); loading models...",
        flush=True,
    )
    return BenchSetup(settings, agent, scenarios, conditions, SpeechEngines.load(settings))


async def main(args: argparse.Namespace) -> int:
    """Entry point of `talktrack bench latency`."""
    s = setup(args, f"bench latency: each scenario x {args.repeat}")
    settings, agent, scenarios, conditions, engines = s.settings, s.agent, s.scenarios, s.conditions, s.engines
    started = time.monotonic()
    ours = await run_set(agent, scenarios, engines, settings, repeat=args.repeat, conditions=conditions, baseline=False)
    result: dict[str, Any] = {"bench": "latency", "transport": "sim", **summarize(ours)}
    headers = ["scenario", "turns", "v2v p50", "v2v p95", "v2v max", "barge-ins", "stop p95"]
    print("\ntalktrack on the simulated line (ms, measured by the prospect from the audio)")
    print(table(headers, _per_scenario(ours)))
    transports = parse_transports(args.transport)
    for carrier in transports[1:]:
        print(f"\nthe same scenarios over {_WIRE[carrier]}...", flush=True)
        over = await run_set_over(
            carrier, agent, scenarios, engines, settings, repeat=args.repeat, conditions=conditions
        )
        t = summarize(over)
        print(f"\ntalktrack over {_WIRE[carrier]} (ms)")
        print(table(headers, _per_scenario(over)))
        result[carrier] = {k: t[k] for k in ("v2v_p50_ms", "v2v_p95_ms", "bargein_stop_p95_ms", "turns", "failures")}
        if t["v2v_p50_ms"] is not None and result["v2v_p50_ms"] is not None:
            result[carrier]["p50_delta_vs_sim_ms"] = round(t["v2v_p50_ms"] - result["v2v_p50_ms"], 1)
    if not args.no_baseline:
        print("\nrunning the same scenarios through the stock Pipecat pipeline...", flush=True)
        base = await run_set(
            agent, scenarios, engines, settings, repeat=args.repeat, conditions=conditions, baseline=True
        )
        b = summarize(base)
        print("\nstock Pipecat baseline (ms)")
        print(table(headers, _per_scenario(base)))
        result["baseline"] = {k: b[k] for k in ("v2v_p50_ms", "v2v_p95_ms", "bargein_stop_p95_ms", "turns")}
        for key in ("v2v_p50_ms", "v2v_p95_ms"):
            if result[key] and b[key]:
                result[f"ratio_{key.removesuffix('_ms')}"] = round(result[key] / b[key], 2)
    result["seconds"] = round(time.monotonic() - started, 1)
    result["machine"] = machine()
    print("\nsummary")
    base = result.get("baseline", {})
    others = [result[t] for t in transports[1:]]
    rows = [
        [
            label,
            fmt_ms(result[key]),
            *[fmt_ms(o.get(key)) for o in others],
            fmt_ms(base.get(key)),
            result.get(ratio, "—"),
        ]
        for label, key, ratio in (
            ("v2v p50 (ms)", "v2v_p50_ms", "ratio_v2v_p50"),
            ("v2v p95 (ms)", "v2v_p95_ms", "ratio_v2v_p95"),
            ("barge-in stop p95 (ms)", "bargein_stop_p95_ms", ""),
        )
    ]
    rows.append(["turns measured", result["turns"], *[o.get("turns", "—") for o in others], base.get("turns", "—"), ""])
    print(table(["metric", "sim", *transports[1:], "stock baseline (sim)", "ratio to baseline"], rows))
    if result["failures"]:
        print(f"\n{len(result['failures'])} scenario problems:")
        for failure in result["failures"]:
            print(f"  - {failure}")
    line = json.dumps(result)
    if args.json_out:
        await asyncio.to_thread(Path(args.json_out).write_text, line + "\n")
    print(line)
    return 0
