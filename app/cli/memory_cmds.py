"""Memory commands: `engram memories list|show|add|edit|pin|delete|history|undo`, `engram consolidate`."""
from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

from app.cli import fast
from app.cli.context import Context, add_command, add_common_options, shown
from core.errors import NotFound, UsageError
from core.memory.service import MemoryEdit
from core.memory.types import MEMORY_TYPES, Change, Memory
from core.records import utcnow


def register(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser("memories", help="see and correct what Engram has learned about you",
                           description="See and correct what Engram has learned: core facts "
                           "about you, episodes, facts, procedures — with sources and history.")
    add_common_options(group, top=False)
    actions = group.add_subparsers(dest="memories_command", metavar="ACTION", required=True)

    p = add_command(actions, "list", cmd_list, "list current memories, by type", json_option=True)
    fast.memories_list_arguments(p)
    p = add_command(actions, "show", cmd_show, "one memory with its sources, links and history",
                    json_option=True)
    p.add_argument("id", type=int, help="the memory's id")
    p = add_command(actions, "add", cmd_add, "write a memory yourself", json_option=True)
    p.add_argument("text", help="what Engram should remember")
    p.add_argument("--type", choices=MEMORY_TYPES, default="core",
                   help="its type (default: core, a fact about you)")
    p = add_command(actions, "edit", cmd_edit, "replace a memory's text (undoable)",
                    json_option=True)
    p.add_argument("id", type=int, help="the memory's id")
    p.add_argument("text", help="the corrected text")
    p = add_command(actions, "pin", cmd_pin, "pin a memory: it never fades (undoable)",
                    json_option=True)
    p.add_argument("id", type=int, help="the memory's id")
    p.add_argument("--off", action="store_true", help="unpin it instead")
    p = add_command(actions, "delete", cmd_delete, "delete a memory (undoable)", json_option=True)
    p.add_argument("id", type=int, help="the memory's id")
    p.add_argument("--purge", action="store_true",
                   help="also erase its content from history (cannot be undone)")
    p = add_command(actions, "history", cmd_history, "every change to a memory", json_option=True)
    p.add_argument("id", type=int, help="the memory's id")
    p = add_command(actions, "undo", cmd_undo, "undo a change (ids from `memories history`)",
                    json_option=True)
    p.add_argument("change_id", type=int, metavar="CHANGE_ID", help="the change to undo")

    p = add_command(sub, "consolidate", cmd_consolidate,
                    "build memories from new events now (resumes where it stopped)",
                    json_option=True)
    p.add_argument("--no-model", action="store_true",
                   help="use only the rule-based builder even when a chat model is set up")
    p.add_argument("--batch-size", type=int, default=200, metavar="N",
                   help="events per batch (one transaction each; default 200)")


# -- formatting -----------------------------------------------------------------------
def _when(value: datetime | None) -> str:
    from core import timefmt

    return timefmt.moment(value) if value else "-"


def memory_json(m: Memory, now: datetime) -> dict[str, Any]:
    from core.access import memory_json as as_json

    return as_json(m, now)


def _change_line(c: Change) -> str:
    what = c.note or ""
    if c.scrubbed:
        what += " (content removed: a source was forgotten)"
    if c.undone_by:
        what += f" (undone by change {c.undone_by})"
    srcs = f" +sources {list(c.sources_added)}" if c.sources_added else ""
    return f"  change {c.change_id:<5} {_when(c.at)}  {c.action:<14} by {c.actor:<7} {what}{srcs}"


# -- handlers -------------------------------------------------------------------------
def cmd_list(ctx: Context) -> int:
    from app.client import answer

    result = answer(ctx.paths, fast.memories_request(ctx.args), lambda: ctx.engine(create=False))
    fast.print_memories(result, ctx.json, ctx.out)
    return 0


def cmd_show(ctx: Context) -> int:
    from core.retrieval import event_title

    details = ctx.engine(create=False).memories.details(ctx.args.id)
    if details is None:
        raise NotFound(f"No memory with id {ctx.args.id}.")
    m, now = details.item.memory, utcnow()
    sources, links, changes = details.sources, details.related, details.history
    if ctx.json:
        ctx.emit_json({
            "memory": memory_json(m, now),
            "sources": [{"id": e.id, "source": e.source, "time": e.started_at.isoformat(),
                         "title": event_title(e), "text": e.text[:500]}
                        for e in sources],
            "links": [{"id": o.id, "kind": kind, "type": o.type, "text": o.text}
                      for o, kind in links],
            "history": [c.to_json() for c in changes]})
        return 0
    ctx.out(f"#{m.id} · {m.type} · {shown(m.title)}")
    ctx.out(m.text)
    status = "current" if m.current else f"superseded by #{m.superseded_by}"
    ctx.out(f"  {status}; true from {_when(m.valid_from)}"
            + (f" until {_when(m.valid_until)}" if m.valid_until else "")
            + f"; importance {m.importance:.2f}; strength {memory_json(m, now)['strength']:.2f}")
    ctx.out(f"Sources ({len(sources)}):")
    for e in sources[:20]:
        ctx.out(f"  event {e.id:<6} {_when(e.started_at)}  [{e.source}] {shown(event_title(e))}: "
                f"{' '.join(e.text.split())[:90]}")
    if len(sources) > 20:
        ctx.out(f"  … and {len(sources) - 20} more")
    if links:
        ctx.out("Linked:")
        for o, kind in links:
            ctx.out(f"  #{o.id:<5} ({kind}) {shown(o.title[:100])}")
    ctx.out("History:")
    for c in changes:
        ctx.out(_change_line(c))
    return 0


def cmd_add(ctx: Context) -> int:
    result = ctx.engine().memories.add(ctx.args.text, ctx.args.type)
    return _done(ctx, result, f"Added memory #{result.memory_id}")


def cmd_edit(ctx: Context) -> int:
    result = ctx.engine(create=False).memories.edit(ctx.args.id, ctx.args.text)
    return _done(ctx, result, f"Updated memory #{result.memory_id}")


def cmd_pin(ctx: Context) -> int:
    result = ctx.engine(create=False).memories.pin(ctx.args.id, not ctx.args.off)
    return _done(ctx, result, f"{'Unpinned' if ctx.args.off else 'Pinned'} memory "
                              f"#{result.memory_id}")


def cmd_delete(ctx: Context) -> int:
    result = ctx.engine(create=False).memories.delete(ctx.args.id, purge=ctx.args.purge)
    if ctx.args.purge:
        if ctx.json:
            ctx.emit_json({"memory_id": result.memory_id, "change_id": result.change_id,
                           "undoable": False})
        else:
            ctx.out(f"Deleted memory #{result.memory_id} and its history's content.")
        return 0
    return _done(ctx, result, f"Deleted memory #{result.memory_id}")


def _done(ctx: Context, result: MemoryEdit, message: str) -> int:
    if ctx.json:
        ctx.emit_json({"memory_id": result.memory_id, "change_id": result.change_id,
                       "undoable": True})
    else:
        ctx.out(f"{message} (undo: engram memories undo {result.change_id}).")
    return 0


def cmd_history(ctx: Context) -> int:
    changes = ctx.engine(create=False).memories.history(ctx.args.id)
    if not changes:
        raise NotFound(f"No memory with id {ctx.args.id} has any history.")
    if ctx.json:
        ctx.emit_json({"memory_id": ctx.args.id, "history": [c.to_json() for c in changes]})
        return 0
    for c in changes:
        ctx.out(_change_line(c))
        if c.before and c.after and c.before.get("text") != c.after.get("text"):
            ctx.out(f"      was: {str(c.before.get('text'))[:120]}")
            ctx.out(f"      now: {str(c.after.get('text'))[:120]}")
    return 0


def cmd_undo(ctx: Context) -> int:
    result = ctx.engine(create=False).memories.undo(ctx.args.change_id)
    if ctx.json:
        ctx.emit_json({"undone": ctx.args.change_id, "change_id": result.change_id})
    else:
        ctx.out(f"Undid change {ctx.args.change_id} (as change {result.change_id}).")
    return 0


def cmd_consolidate(ctx: Context) -> int:
    if ctx.args.batch_size < 1:
        raise UsageError("--batch-size must be at least 1.")
    engine = ctx.engine(create=False)
    extractor = None if ctx.args.no_model else engine.memory_extractor()
    report = engine.memories.build(extractor=extractor, batch_size=ctx.args.batch_size,
                                   progress=ctx.progress("Consolidating"))
    label = getattr(engine, "memory_model_label", "") if extractor is None else ""
    note = (f"The chat model is {label}: memories were written by the rules alone "
            f"(setting memories_small_model turns it on anyway).") if label else ""
    if ctx.json:
        ctx.emit_json({**report.to_json(), "model_note": note})
        return 0
    if note:
        ctx.out(note)
    ctx.out(f"Consolidated {report.events} events in {report.batches} "
            f"batch{'es' if report.batches != 1 else ''}"
            + (" (with the chat model)." if report.model_used else " (rule-based)."))
    for memory_type in MEMORY_TYPES:
        c = report.count(memory_type)
        if c.added or c.merged or c.superseded or c.ignored or c.rejected:
            ctx.out(f"  {memory_type:<11} {c.added} added, {c.merged} merged, "
                    f"{c.superseded} superseded, {c.ignored} duplicates ignored"
                    + (f", {c.rejected} rejected" if c.rejected else ""))
    if report.rejected_reasons:
        why = ", ".join(f"{n} {r.replace('_', ' ')}" for r, n in report.rejected_reasons.items())
        ctx.out(f"  model output refused: {why}")
    if report.model_failures:
        ctx.warn(f"the chat model gave no usable output for {report.model_failures} chunk(s)")
    return 0
