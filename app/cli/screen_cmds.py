"""`engram capture --once`: read the screen now and say what was stored, or why not."""
from __future__ import annotations

import argparse

from app.cli.context import Context, add_command
from app.control import NotRunning, request


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "capture", cmd_capture,
                    "capture the screen once now and say what was stored or why not",
                    json_option=True)
    p.add_argument("--once", action="store_true", required=True,
                   help="capture one frame now (continuous capture is `engram daemon`)")


def _paused_instance(ctx: Context) -> str | None:
    """When a running instance is paused, say until when; None otherwise."""
    try:
        reply = request(ctx.paths, {"op": "status"}, timeout=5.0)
    except NotRunning:
        return None
    if not reply.get("paused"):
        return None
    until = reply.get("paused_until")
    return f"capture is paused{f' until {until}' if until else ''} (`engram resume` to resume)"


def _latest_screen_event(ctx: Context) -> tuple[str | None, str | None, str] | None:
    from core.store import events as event_rows

    latest = event_rows.latest(ctx.engine().store.reader(), "screen")
    return (latest.app, latest.title, latest.text) if latest else None


def cmd_capture(ctx: Context) -> int:
    from ingest.screen.source import Outcome, ScreenSource

    paused = _paused_instance(ctx)
    if paused:
        outcome = Outcome("paused", paused)
    else:
        engine = ctx.engine()
        source = ScreenSource.from_settings(engine.settings)
        outcome = source.capture_once(engine.pipeline.submit, _latest_screen_event(ctx))
    if ctx.json:
        ctx.emit_json(outcome.to_json())
        return 0
    where = " — ".join(p for p in (outcome.app, outcome.title) if p)
    if outcome.status == "stored":
        redacted = sum((outcome.redacted or {}).values())
        extra = f", {redacted} secret(s) redacted" if redacted else ""
        ctx.out(f"Stored screen event {outcome.event_id}: {where} "
                f"({outcome.words} words{extra}, thumbnail {outcome.image_bytes // 1024} KB)")
    else:
        # The captured text itself is never printed: it is in the store, findable by search.
        suffix = f" [{where}]" if where else ""
        ctx.out(f"Not stored ({outcome.status}): {outcome.detail}{suffix}")
    return 0
