"""Running capture: daemon, pause, resume (the running instance's control channel)."""
from __future__ import annotations

import argparse
import re
import signal
import sys

from app.cli.context import Context, add_command
from app.control import request
from core.errors import UsageError
from ingest.base import CaptureStatus

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(m|min|mins|minutes?|h|hours?)$")


def register(sub: argparse._SubParsersAction) -> None:
    add_command(sub, "daemon", cmd_daemon,
                "run capture in the background without a window, until Ctrl-C or SIGTERM")
    p = add_command(sub, "pause", cmd_pause,
                    "pause capture in the running instance (e.g. `pause 15m`, `pause 1h`)",
                    json_option=True)
    p.add_argument("duration", nargs="?",
                   help="how long, e.g. 15m or 1h (default: until `engram resume`)")
    add_command(sub, "resume", cmd_resume, "resume capture in the running instance",
                json_option=True)


def parse_minutes(text: str) -> float:
    match = _DURATION.match(text.strip().lower())
    if not match:
        raise UsageError(f"Can't read the duration {text!r}.", hint="Use e.g. 15m, 90min or 1h.")
    value = float(match.group(1))
    return value * 60 if match.group(2).startswith("h") else value


def _print_capture(ctx: Context, reply: dict) -> None:
    if ctx.json:
        ctx.emit_json({k: v for k, v in reply.items() if k != "ok"})
        return
    status = CaptureStatus.from_json(reply)
    ctx.out(f"Capture: {status.headline()}")
    for line in status.lines():
        ctx.out(line)


def cmd_pause(ctx: Context) -> int:
    minutes = parse_minutes(ctx.args.duration) if ctx.args.duration else None
    _print_capture(ctx, request(ctx.paths, {"op": "pause", "minutes": minutes}))
    return 0


def cmd_resume(ctx: Context) -> int:
    _print_capture(ctx, request(ctx.paths, {"op": "resume"}))
    return 0


def cmd_daemon(ctx: Context) -> int:
    from app.bootstrap import build_sources
    from app.instance import Instance

    engine = ctx.engine(background=True)
    instance = Instance(engine, build_sources(engine))

    def on_signal(signum: int, _frame: object) -> None:
        ctx.warn(f"received {signal.Signals(signum).name}; stopping capture")
        instance.stopped.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    instance.start()
    names = ", ".join(s.name for s in instance.supervisor.statuses()) or "none enabled"
    ctx.warn(f"daemon running for {ctx.paths.data_dir} (sources: {names}); Ctrl-C to stop")
    sys.stderr.flush()
    while not instance.stopped.wait(0.5):
        pass
    instance.stop()
    ctx.warn("stopped")
    return 0
