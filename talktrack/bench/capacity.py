"""`talktrack bench capacity`: the most concurrent simulated calls one box holds at p95 v2v <= the limit."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any

from talktrack.bench.latency import machine, setup, summarize
from talktrack.bench.stats import fmt_ms, table
from talktrack.calls.agent import Agent
from talktrack.calls.engines import SpeechEngines
from talktrack.settings import Settings
from talktrack.telephony.simline import LineConditions
from talktrack.testing.harness import SimulatedCall, simulate_call
from talktrack.testing.scenario import Scenario

# Calls do not all answer at the same instant on a real campaign either.
STAGGER_S = 0.4


async def run_concurrent(
    n: int,
    agent: Agent,
    scenarios: list[Scenario],
    engines: SpeechEngines,
    settings: Settings,
    conditions: LineConditions,
) -> list[SimulatedCall]:
    """Run ``n`` calls at once, cycling through the scenarios."""

    async def one(i: int) -> SimulatedCall:
        await asyncio.sleep(i * STAGGER_S)
        return await simulate_call(agent, scenarios[i % len(scenarios)], engines, settings, conditions=conditions)

    return list(await asyncio.gather(*(one(i) for i in range(n))))


async def main(args: argparse.Namespace) -> int:
    """Entry point of `talktrack bench capacity`."""
    b = setup(
        args, f"bench capacity: up to {args.max_calls} concurrent calls, limit p95 v2v <= {args.p95_limit_ms:g} ms"
    )
    settings, agent, scenarios, conditions, engines = b.settings, b.agent, b.scenarios, b.conditions, b.engines
    started = time.monotonic()
    rows: list[list[object]] = []
    levels: list[dict[str, Any]] = []
    best = 0
    n = max(1, args.start_calls)
    step = max(1, n)
    while n <= args.max_calls:
        calls = await run_concurrent(n, agent, scenarios, engines, settings, conditions)
        s = summarize(calls)
        ok = (
            s["v2v_p95_ms"] is not None
            and s["v2v_p95_ms"] <= args.p95_limit_ms
            and s["answered"] >= s["prospect_lines"] * 0.9
        )
        levels.append(
            {
                "calls": n,
                **{k: s[k] for k in ("v2v_p50_ms", "v2v_p95_ms", "bargein_stop_p95_ms", "turns")},
                "answered": s["answered"],
                "prospect_lines": s["prospect_lines"],
                "ok": ok,
            }
        )
        rows.append(
            [
                n,
                s["turns"],
                fmt_ms(s["v2v_p50_ms"]),
                fmt_ms(s["v2v_p95_ms"]),
                fmt_ms(s["bargein_stop_p95_ms"]),
                f"{s['answered']}/{s['prospect_lines']}",
                "yes" if ok else "no",
            ]
        )
        print(
            f"  {n:3d} calls: v2v p50 {fmt_ms(s['v2v_p50_ms'])} ms, p95 {fmt_ms(s['v2v_p95_ms'])} ms,"
            f" answered {s['answered']}/{s['prospect_lines']} -> {'ok' if ok else 'over the limit'}",
            flush=True,
        )
        if not ok:
            break
        best = n
        n += step
    print()
    print(table(["calls", "turns", "v2v p50", "v2v p95", "stop p95", "answered", "within limit"], rows))
    result = {
        "bench": "capacity",
        "max_calls": best,
        "p95_limit_ms": args.p95_limit_ms,
        "levels": levels,
        "v2v_p50_ms": next((lv["v2v_p50_ms"] for lv in levels if lv["calls"] == best), None),
        "v2v_p95_ms": next((lv["v2v_p95_ms"] for lv in levels if lv["calls"] == best), None),
        "bargein_stop_p95_ms": next((lv["bargein_stop_p95_ms"] for lv in levels if lv["calls"] == best), None),
        "turns": sum(lv["turns"] for lv in levels),
        "seconds": round(time.monotonic() - started, 1),
        "machine": machine(),
    }
    line = json.dumps(result)
    if args.json_out:
        await asyncio.to_thread(Path(args.json_out).write_text, line + "\n")
    print(line)
    return 0
