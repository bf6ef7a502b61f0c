"""Ask and its conversations: `engram ask`, `engram threads`."""
from __future__ import annotations

import argparse
import sys

from app.cli.context import Context, add_command, shown
from core import timefmt
from core.errors import UsageError


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "ask", cmd_ask,
                    "ask a question; the answer comes from your memories, with sources",
                    json_option=True)
    p.add_argument("question", help="what you want to know")
    p.add_argument("--thread", type=int, metavar="ID",
                   help="continue this conversation (follow-up questions)")

    p = add_command(sub, "threads", cmd_threads, "your conversations with Engram",
                    json_option=True)
    p.add_argument("action", choices=("list", "show", "delete"), help="what to do")
    p.add_argument("id", nargs="?", type=int, help="the conversation (for show and delete)")


def cmd_ask(ctx: Context) -> int:
    from core.chat import Done, EvidenceFound, Token

    question = ctx.args.question.strip()
    if not question:
        raise UsageError("The question is empty.")
    asker = ctx.engine(create=False).asker()
    evidence, done = (), None
    streamed = False
    for item in asker.answer(question, ctx.args.thread):
        if isinstance(item, EvidenceFound):
            evidence = item.evidence
            if not ctx.json and item.time_range:
                ctx.warn(f"looking in: {item.time_range.phrase}")
        elif isinstance(item, Token) and not ctx.json:
            sys.stdout.write(shown(item.text, keep_lines=True))
            sys.stdout.flush()
            streamed = True
        elif isinstance(item, Done):
            done = item
    assert done is not None
    if ctx.json:
        ctx.emit_json({"answer": done.answer, "mode": done.mode, "thread": done.thread_id,
                       "citations": [c.to_json() for c in done.citations],
                       "evidence": [{"n": e.n, "quote": quote_for(question, e.hit),
                                     **e.hit.to_json()} for e in evidence],
                       **({"draft": done.draft} if done.draft else {}),
                       **({"first_token_seconds": round(done.first_token_seconds, 3)}
                          if done.first_token_seconds is not None else {})})
        return 0
    if streamed:
        ctx.out()
    if done.mode == "model-fallback":
        ctx.warn("the model's answer was not supported by its sources; showing the extractive "
                 "answer (--json has the model's draft)")
    if not streamed or done.mode != "model":  # what streamed was a draft, not the answer
        ctx.out(done.answer)
    if evidence:
        ctx.out("\nSources:")
        for e in evidence:
            h = e.hit
            ctx.out(f"  [{e.n}] {timefmt.moment(h.time)} · {h.source} · "
                    f"{shown(h.title)} (#{h.id})\n      “{shown(quote_for(question, h))}”")
    if done.notice and done.mode in ("model", "extractive"):
        ctx.warn(done.notice)
    ctx.out(f"\n(conversation {done.thread_id}: follow up with --thread {done.thread_id})")
    return 0


def quote_for(question: str, hit) -> str:  # type: ignore[no-untyped-def]
    from core.extractive import best_passage

    return best_passage(hit.text or hit.snippet, question)


def cmd_threads(ctx: Context) -> int:
    from core.threads import Threads

    threads = Threads(ctx.engine(create=False).store)
    action, tid = ctx.args.action, ctx.args.id
    if action != "list" and tid is None:
        raise UsageError(f"`engram threads {action}` needs a conversation id.")
    if action == "list":
        rows = threads.list()
        if ctx.json:
            ctx.emit_json([{"id": t.id, "title": t.title, "updated": t.updated.isoformat()}
                           for t in rows])
        elif not rows:
            ctx.out("No conversations yet — `engram ask \"…\"` starts one.")
        for t in rows if not ctx.json else ():
            ctx.out(f"{t.id:>4}  {timefmt.moment(t.updated):<18}  {shown(t.title)}")
    elif action == "show":
        t = threads.get(tid)
        if ctx.json:
            ctx.emit_json({"id": t.id, "title": t.title, "turns": [
                {"role": x.role, "text": x.text, "time": x.time.isoformat(),
                 "citations": list(x.citations)} for x in t.turns]})
        else:
            for x in t.turns:
                who = "You" if x.role == "user" else "Engram"
                ctx.out(f"{who} ({timefmt.moment(x.time)}):\n{x.text}\n")
    else:
        threads.delete(tid)
        ctx.out(f"Deleted conversation {tid}.")
    return 0
