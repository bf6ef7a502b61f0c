"""Read commands answered by the running instance, with almost nothing imported.

`engram search`, `ask`, `memories list` and `timeline` are what scripts call
in loops. While the desktop app or `engram daemon` runs, it holds the unlocked
store, the embedding model and the in-memory vector index; asking it over the
owner-only control channel costs a round trip instead of a key derivation, a
model load and a cold page cache. This module is that path: it parses only the
one command's arguments (the same definitions the full parser uses), sends the
request, and prints the reply with the same formatting the full command uses.
Anything it cannot handle — no instance, ``--help``, an argument error — is
handed back (``None``) to the full CLI, which then says what is wrong or
answers from the store opened in this process.

Imports stay at the standard library plus ``core.errors`` and the control
channel: everything heavier (numpy, the store, models) is what this skips.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any, Callable, Sequence

if TYPE_CHECKING:
    from datetime import datetime

from app.cli.terminal import shown
from core import timefmt

MEMORY_TYPES = ("core", "episodic", "semantic", "procedural")  # core.records.MEMORY_TYPES
MARK_OPEN, MARK_CLOSE = "«", "»"  # core.snippets (a test keeps them equal)
COMMANDS = ("search", "ask", "memories", "timeline")
Out = Callable[..., None]  # print one line: ``out(text, bold_marks=False)`` (Context.out)


# -- argument definitions shared with the full parser -----------------------------------
def search_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("query", help="words or a question")
    p.add_argument("-k", type=int, default=10, metavar="N", help="how many results (default 10)")
    p.add_argument("--since", metavar="TIME", help="only items from this time on")
    p.add_argument("--until", metavar="TIME", help="only items before this time")
    p.add_argument("--source", action="append", default=[], metavar="S",
                   help="only this source (note, screen, file, chat); repeatable")
    p.add_argument("--app", action="append", default=[], metavar="APP",
                   help="only items captured in this application; repeatable")
    p.add_argument("--type", action="append", default=[], dest="memory_type",
                   choices=MEMORY_TYPES,
                   help="only memories of this type (core, episodic, semantic, procedural); "
                        "repeatable")
    p.add_argument("--no-memories", action="store_true",
                   help="search captured items only, not the memories built from them")


def memories_list_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--type", choices=MEMORY_TYPES, action="append", default=[],
                   help="only memories of this type; repeatable")
    p.add_argument("--all", action="store_true",
                   help="also superseded memories and weak, faded ones")


def timeline_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("day", nargs="?", default="today",
                   help="YYYY-MM-DD, today (default), yesterday, …")


def ask_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("question", help="what you want to know")
    p.add_argument("--thread", type=int, metavar="ID",
                   help="continue this conversation (follow-up questions)")


# -- requests --------------------------------------------------------------------------------
def search_request(args: argparse.Namespace) -> dict[str, Any]:
    return {"op": "search", "query": args.query, "k": args.k, "since": args.since,
            "until": args.until, "sources": list(args.source), "apps": list(args.app),
            "types": list(args.memory_type), "memories": not args.no_memories}


def memories_request(args: argparse.Namespace) -> dict[str, Any]:
    return {"op": "memories", "types": list(args.type), "all": bool(args.all),
            "limit": 10_000}


# -- output (the full commands print with these too) ----------------------------------------
def _local(iso: str) -> datetime:
    from datetime import datetime

    return datetime.fromisoformat(iso).astimezone()


def format_hit(n: int, hit: dict[str, Any]) -> str:
    """One search result (``core.access.hit_json``) as three lines; a title, snippet or
    path can't add lines of its own."""
    snippet = shown(" ".join(hit["snippet"].split()))
    where = shown(hit.get("path") or hit.get("url") or "")
    kind = f"{hit['memory_type']} memory" if hit.get("memory_type") else hit["source"]
    ref = f"memory #{hit['id']}" if hit["kind"] == "memory" else f"#{hit['id']}"
    lines = [f"{n:>2}. [{kind}] {timefmt.moment(_local(hit['time']))}  {shown(hit['title'])}  "
             f"({ref})", f"    {snippet}"]
    if where:
        lines.append(f"    {where}")
    return "\n".join(lines)


def print_search(result: dict[str, Any], as_json: bool, out: Out) -> None:
    if as_json:
        print(_dumps({"query": result["query"],
                    "results": [{k: v for k, v in h.items() if k != "has_image"}
                                for h in result["results"]]}))
        return
    if not result["results"]:
        out(f"No matches for “{result['query']}”.")
    bold = sys.stdout.isatty()
    for n, hit in enumerate(result["results"], 1):
        out(format_hit(n, hit), bold_marks=bold)


def memory_line(m: dict[str, Any]) -> str:
    """One memory (``core.access.memory_json``) as `engram memories list` prints it."""
    if m["type"] == "episodic":
        body = f"{shown(m['title'])} " \
               f"({timefmt.span(_local(m['started_at']), _local(m['ended_at']))})"
    else:
        body = shown(m["text"].replace("\n", " · "))
    marks = []
    if not m["current"]:
        marks.append(f"superseded by #{m['superseded_by']}" if m["superseded_by"]
                     else "no longer true")
    if m["weak"]:
        marks.append("faded")
    if (m.get("fields") or {}).get("edited"):
        marks.append("edited")
    tail = f"  [{', '.join(marks)}]" if marks else ""
    return f"  #{m['id']:<5} {body[:150]}{tail}"


def print_memories(result: dict[str, Any], as_json: bool, out: Out) -> None:
    found = result["memories"]
    if as_json:
        print(_dumps({"memories": found}))
        return
    if not found:
        out("No memories yet. `engram consolidate` builds them from what was captured.")
        return
    for memory_type in MEMORY_TYPES:
        of_type = [m for m in found if m["type"] == memory_type]
        if of_type:
            out(f"{memory_type.capitalize()} ({len(of_type)})")
            for m in of_type:
                out(memory_line(m))


def print_timeline(result: dict[str, Any], as_json: bool, out: Out) -> None:
    if as_json:
        print(_dumps(result))
        return
    from datetime import date

    day = timefmt.day(date.fromisoformat(result["day"]), long=True)
    out(f"{day}: {result['items']} items"
        + (" (" + ", ".join(f"{n} {s}" for s, n in result["sources"].items()) + ")"
           if result["sources"] else ""))
    if result["apps"]:
        out("Time per app:")
        for a in result["apps"]:
            minutes = f"{a['screen_minutes']:>6.1f} min" if a["screen_minutes"] else " " * 10
            out(f"  {minutes}  {a['items']:>5} items  {shown(a['app'])}")
    if result["episodes"]:
        out("Episodes:")
        for ep in result["episodes"]:
            out(f"  {timefmt.span(_local(ep['start']), _local(ep['end']), with_day=False)}  "
                f"{shown(ep['title'] or ep['text'][:80])}  (memory #{ep['id']})")


def print_ask(result: dict[str, Any], as_json: bool, out: Out,
              warn: Callable[[str], None]) -> None:
    """An answer from ``core.access.ask`` as `engram ask` prints it."""
    if as_json:
        keep = ("n", "quote", "id", "kind", "source", "time", "title", "snippet", "score",
                "external_id", "app", "path", "url", "conversation", "speaker", "memory_type",
                "end_time")
        print(_dumps({"answer": result["answer"], "mode": result["mode"],
                    "thread": result["thread"], "citations": result["citations"],
                    "evidence": [{k: e[k] for k in keep if k in e} for e in result["evidence"]],
                    **({"draft": result["draft"]} if result.get("draft") else {})}))
        return
    if result.get("looked_in"):
        warn(f"looking in: {result['looked_in']}")
    out(result["answer"])
    if result["mode"] == "model-fallback":
        warn("the model's answer was not supported by its sources; showing the extractive "
             "answer (--json has the model's draft)")
    if result["evidence"]:
        out("\nSources:")
        for e in result["evidence"]:
            out(f"  [{e['n']}] {timefmt.moment(_local(e['time']))} · {e['source']} · "
                f"{shown(e['title'])} (#{e['id']})\n      “{shown(e['quote'])}”")
    if result.get("notice") and result["mode"] in ("model", "extractive"):
        warn(result["notice"])
    out(f"\n(conversation {result['thread']}: follow up with --thread {result['thread']})")


def _dumps(value: Any) -> str:
    # JSON goes out as ``Context.emit_json`` writes it: raw, not escaped for a terminal.
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)


# -- the fast path ---------------------------------------------------------------------------
class _Fallback(Exception):
    """Leave this invocation to the full CLI."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise _Fallback(message)

    def exit(self, status: int = 0, message: str | None = None) -> None:  # type: ignore[override]
        raise _Fallback(message)


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    top = _Parser(prog="engram", add_help=False)
    top.add_argument("--data-dir")
    sub = top.add_subparsers(dest="command")
    definitions = {"search": search_arguments, "ask": ask_arguments,
                   "timeline": timeline_arguments}
    for name, define in definitions.items():
        p = sub.add_parser(name, add_help=False)
        p.add_argument("--data-dir", default=argparse.SUPPRESS)
        p.add_argument("--json", action="store_true")
        define(p)
    memories = sub.add_parser("memories", add_help=False)
    memories.add_argument("--data-dir", default=argparse.SUPPRESS)
    actions = memories.add_subparsers(dest="action")
    listing = actions.add_parser("list", add_help=False)
    listing.add_argument("--data-dir", default=argparse.SUPPRESS)
    listing.add_argument("--json", action="store_true")
    memories_list_arguments(listing)
    args = top.parse_args(list(argv))
    if args.command == "memories" and getattr(args, "action", None) != "list":
        raise _Fallback("not a list")
    return args


def _data_dir(value: str | None) -> str:
    # As core.config.resolve_paths, without importing it (platformdirs only if needed).
    chosen = value or os.environ.get("ENGRAM_HOME")
    if not chosen:
        import platformdirs

        chosen = platformdirs.user_data_dir("engram", appauthor=False)
    return os.path.realpath(os.path.expanduser(chosen))


class _Where:
    """The two paths the control channel needs (``core.config.Paths`` costs imports)."""

    def __init__(self, data_dir: str) -> None:
        self.data_dir = data_dir
        self.runtime_dir = os.path.join(data_dir, "run")


def run(argv: Sequence[str]) -> int | None:
    """Answer ``argv`` through the running instance; None to fall back to the full CLI."""
    if not argv or argv[0] not in COMMANDS and not (
            argv[0] == "--data-dir" and len(argv) > 2 and argv[2] in COMMANDS):
        return None
    if "-h" in argv or "--help" in argv:
        return None
    try:
        args = _parse(argv)
    except _Fallback:
        return None
    data_dir = _data_dir(args.data_dir)
    if not os.path.exists(os.path.join(data_dir, "run", "control.key")):
        return None  # nothing running here: the full CLI opens the store
    if args.command == "search":
        if args.k < 1:
            return None  # the full command says why
        request, show = search_request(args), print_search
    elif args.command == "memories":
        request, show = memories_request(args), print_memories
    elif args.command == "timeline":
        request, show = {"op": "timeline", "day": args.day}, print_timeline
    else:
        if not args.question.strip():
            return None
        request = {"op": "ask", "question": args.question, "thread": args.thread}
        show = lambda r, j, o: print_ask(r, j, o, _warn)  # noqa: E731
    from app.control import NotRunning, request as ask_instance
    from core.errors import EngramError

    paths = _Where(data_dir)
    try:
        reply = ask_instance(paths, {**request, "op": f"access.{request['op']}"},
                             timeout=300.0 if request["op"] == "ask" else 30.0)
    except NotRunning:
        return None
    except EngramError as exc:
        if args.json:
            print(json.dumps({"error": exc.message, "hint": exc.hint}))
        print(f"engram: error: {shown(exc.message)}", file=sys.stderr)
        if exc.hint:
            print(f"  {shown(exc.hint, keep_lines=True)}", file=sys.stderr)
        return exc.exit_code
    reply.pop("ok", None)
    try:
        show(reply, args.json, _out)
        sys.stdout.flush()
    except BrokenPipeError:
        pass
    return 0


def _out(text: str = "", *, bold_marks: bool = False) -> None:
    """As ``Context.out``: control characters shown as escapes, marks in bold if asked."""
    text = shown(text, keep_lines=True)
    if bold_marks:
        text = text.replace(MARK_OPEN, "\x1b[1m").replace(MARK_CLOSE, "\x1b[0m")
    print(text)


def _warn(text: str) -> None:
    print(f"engram: {shown(text, keep_lines=True)}", file=sys.stderr)
