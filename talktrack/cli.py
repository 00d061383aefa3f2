"""The talktrack command line: demo, bench, and friends."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from talktrack.cli_knowledge import add_commands as add_knowledge_commands
from talktrack.errors import TalkTrackError


def _quiet_logs(verbose: bool) -> None:
    from loguru import logger

    logger.remove()
    logger.add(sys.stderr, level="DEBUG" if verbose else "WARNING")


def _cmd_demo(args: argparse.Namespace) -> int:
    from talktrack.demo import run_demo

    return asyncio.run(run_demo(agent_dir=args.agent, scenario_file=args.scenario, data_dir=args.data_dir))


def _cmd_bench(args: argparse.Namespace) -> int:
    from talktrack.bench import capacity, latency

    if args.what == "latency":
        return asyncio.run(latency.main(args))
    if args.what == "dialogue":
        from talktrack.bench import dialogue

        return asyncio.run(dialogue.main(args))
    if args.what == "knowledge":
        from talktrack.bench import knowledge

        return knowledge.main(args)
    if args.what == "detection":
        from talktrack.bench import detection

        return detection.main([])
    return asyncio.run(capacity.main(args))


def _cmd_serve(args: argparse.Namespace) -> int:
    from talktrack.serve import serve
    from talktrack.settings import Settings

    settings = Settings()
    if args.no_sip:
        settings.sip_enabled = False
    if args.sip_port is not None:
        settings.sip_port = args.sip_port
    return asyncio.run(serve(settings, host=args.host, port=args.port))


def _cmd_call(args: argparse.Namespace) -> int:
    from talktrack.settings import Settings

    context = {k: v for k, v in (("prospect_name", args.prospect_name), ("company", args.company)) if v}
    if args.transport == "sip":
        from talktrack.serve import call_over_sip

        return asyncio.run(call_over_sip(Settings(), to=args.to, agent_id=args.agent, context=context))
    if args.transport == "telnyx":
        from talktrack.telephony import telnyx_rest

        call_id = asyncio.run(
            telnyx_rest.place_call(
                Settings(), to=args.to, agent_id=args.agent, context=context, machine_detection=args.machine_detection
            )
        )
        print(f"call placed: {call_id} (Telnyx dials {args.to}; when answered it streams to the agent)")
        return 0
    from talktrack.telephony.twilio_rest import place_call

    sid = place_call(
        Settings(), to=args.to, agent_id=args.agent, context=context, machine_detection=args.machine_detection
    )
    print(f"call placed: {sid} (Twilio dials {args.to}; when answered it fetches the agent's TwiML)")
    return 0


def _cmd_outbox(args: argparse.Namespace) -> int:
    from talktrack.settings import Settings
    from talktrack.tools.outbox import Outbox

    data_dir = args.data_dir or Settings().data_dir
    outbox = Outbox(data_dir / "outbox")
    if args.id:
        print(outbox.render_message(outbox.get(args.id)))
        return 0
    entries = outbox.entries()
    if not entries:
        print(f"the outbox in {outbox.directory} is empty")
        return 0
    print(outbox.render_list(entries[-args.last :]))
    return 0


def _transports(text: str) -> str:
    from talktrack.bench.latency import parse_transports

    return ",".join(parse_transports(text))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and docs)."""
    parser = argparse.ArgumentParser(prog="talktrack", description="Self-hosted AI sales voice agent.")
    parser.add_argument("-v", "--verbose", action="store_true", help="show debug logs")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="a full simulated sales call on local models, with a latency table")
    demo.add_argument("--agent", type=Path, default=None, help="agent folder (default: the bundled Backbeam agent)")
    demo.add_argument("--scenario", type=Path, default=None, help="prospect scenario YAML (default: bundled demo)")
    demo.add_argument("--data-dir", type=Path, default=None, help="where recordings and records go")
    demo.set_defaults(func=_cmd_demo)

    serve = sub.add_parser("serve", help="run the server: HTTP API, Twilio/Telnyx endpoints, softphone page, SIP")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument("--sip-port", type=int, default=None, help="SIP UDP port (default TALKTRACK_SIP_PORT, 5060)")
    serve.add_argument("--no-sip", action="store_true", help="do not listen for SIP calls")
    serve.set_defaults(func=_cmd_serve)

    call = sub.add_parser(
        "call", help="place an outbound call: Twilio or Telnyx (`talktrack serve` must be reachable), or SIP"
    )
    call.add_argument("--transport", choices=["twilio", "telnyx", "sip"], default="twilio")
    call.add_argument(
        "--to", required=True, help="the prospect: E.164 number (+13125550142), or for SIP also sip:user@host[:port]"
    )
    call.add_argument("--agent", default="backbeam", help="agent id (a folder under TALKTRACK_AGENTS_DIR)")
    call.add_argument("--prospect-name", default=None)
    call.add_argument("--company", default=None)
    call.add_argument(
        "--machine-detection",
        default=None,
        help="carrier answering-machine detection: Twilio Enable|DetectMessageEnd, Telnyx detect|detect_beep|…",
    )
    call.set_defaults(func=_cmd_call)

    outbox = sub.add_parser("outbox", help="the e-mails agents sent (invites, follow-ups), newest last")
    outbox.add_argument("id", nargs="?", default=None, help="show this message (an id or its first characters)")
    outbox.add_argument("--last", type=int, default=20, help="how many to list (default 20)")
    outbox.add_argument("--data-dir", type=Path, default=None, help="data directory (default TALKTRACK_DATA_DIR)")
    outbox.set_defaults(func=_cmd_outbox)

    bench = sub.add_parser("bench", help="benchmarks that print p50/p95 and a JSON line")
    bench.add_argument("what", choices=["latency", "capacity", "dialogue", "knowledge", "detection"])
    bench.add_argument("--scenarios", type=Path, nargs="*", default=None, help="scenario files (default: bundled set)")
    bench.add_argument("--repeat", type=int, default=1, help="run each scenario this many times")
    bench.add_argument(
        "--transport",
        type=_transports,
        default="sim",
        help="latency: comma list of sim, twilio, telnyx, sip, webrtc (the simulated line always runs as reference)",
    )
    bench.add_argument("--no-baseline", action="store_true", help="skip the stock-Pipecat baseline peer")
    bench.add_argument("--max-calls", type=int, default=16, help="capacity: the largest N to try")
    bench.add_argument("--start-calls", type=int, default=4, help="capacity: the first N to try")
    bench.add_argument("--p95-limit-ms", type=float, default=800.0, help="capacity: p95 voice-to-voice limit")
    bench.add_argument("--latency-ms", type=float, default=0.0, help="one-way line latency to simulate")
    bench.add_argument("--jitter-ms", type=float, default=0.0, help="line jitter to simulate")
    bench.add_argument("--loss", type=float, default=0.0, help="share of frames the line loses (0-1)")
    bench.add_argument("--no-audio", dest="audio", action="store_false", help="dialogue: text dialogues only")
    bench.add_argument("--dialogues", type=Path, nargs="*", default=None, help="dialogue: files (default: bundled)")
    bench.add_argument("--pages", type=int, default=500, help="knowledge: pages in the knowledge base")
    bench.add_argument("--json-out", type=Path, default=None, help="also write the final JSON line here")
    bench.set_defaults(func=_cmd_bench)
    add_knowledge_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; bad input ends with one clear message and exit code 2, never a traceback."""
    args = build_parser().parse_args(argv)
    _quiet_logs(args.verbose)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        return int(args.func(args))
    except TalkTrackError as exc:
        print(f"talktrack: {exc.message}", file=sys.stderr)
        if exc.fix:
            print(f"  fix: {exc.fix}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
