"""Store commands: add, search, status, forget, reindex, passphrase."""
from __future__ import annotations

import argparse
import os
import sys

from app.cli import fast
from app.cli.context import Context, add_command, asker, terminal_ask
from app.cli.ingest_cmds import print_file_status, watched
from core import keys
from core.errors import EngramError, NotFound, UsageError
from core.progress import Progress
from core.records import utcnow
from core.store import events as event_rows
from core.timeparse import parse_when
from core.units import format_bytes


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "add", cmd_add, "store a note", json_option=True)
    p.add_argument("text", help="the note's text")
    p.add_argument("--at", metavar="TIME", help="when it happened (ISO-8601; default: now)")

    p = add_command(sub, "search", cmd_search, "search everything stored", json_option=True)
    fast.search_arguments(p)

    add_command(sub, "status", cmd_status, "what is stored, where, and how it is protected",
                json_option=True)

    p = add_command(sub, "forget", cmd_forget,
                    "delete items everywhere (text, keyword index, vectors, images)",
                    json_option=True)
    p.add_argument("id", nargs="?", type=int, help="the id of one item (from search)")
    p.add_argument("--since", metavar="TIME", help="forget items from this time on")
    p.add_argument("--until", metavar="TIME", help="forget items before this time")
    p.add_argument("--source", metavar="S", help="only items of this source")
    p.add_argument("--yes", action="store_true", help="don't ask for confirmation")

    add_command(sub, "reindex", cmd_reindex,
                "compute missing vectors now (after a model change or an embedding error)")

    add_command(sub, "passphrase", cmd_passphrase,
                "set or change the passphrase that encrypts the store (re-encrypts it)")


# -- add / search -------------------------------------------------------------------
def cmd_add(ctx: Context) -> int:
    from core.access import add_note

    args = ctx.args
    if not args.text.strip():
        raise UsageError("The note is empty.")
    at = parse_when(args.at) if args.at else None
    note = add_note(ctx.engine().pipeline, args.text, at)
    ids, state = note["ids"], note["status"]
    if ctx.json:
        ctx.emit_json(note)
        return 0
    printed = " ".join(map(str, ids))
    if len(ids) > 1:
        printed += f" (a long note, stored as {len(ids)} parts)"
    ctx.out(printed if state == "added" else f"{printed} (already stored)")
    return 0


def cmd_search(ctx: Context) -> int:
    from app.client import answer

    if ctx.args.k < 1:
        raise UsageError("-k must be at least 1.")
    result = answer(ctx.paths, fast.search_request(ctx.args), lambda: ctx.engine(create=False))
    fast.print_search(result, ctx.json, ctx.out)
    return 0


# -- status ---------------------------------------------------------------------------
def cmd_status(ctx: Context) -> int:
    from app.bootstrap import store_exists

    paths = ctx.paths
    info: dict = {"data_dir": str(paths.data_dir), "key_backend": keys.describe_backend(paths)}
    if not store_exists(paths):
        info.update(initialised=False, events=0, sources={})
    else:
        from app.client import answer

        # The running instance answers when it is up: no key derivation, no model load.
        found = answer(paths, {"op": "status"}, lambda: ctx.engine(create=False))
        found["files"] = {"watched": [str(f) for f in watched(ctx.settings)], **found["files"]}
        info.update(initialised=True, **found)
    info["models_dir"] = str(paths.models_dir)
    info["capture"] = running_instance_status(ctx)
    if ctx.json:
        ctx.emit_json(info)
        return 0
    capture = info["capture"]
    if capture is None:
        ctx.out("Capture:       not running (start the desktop app or `engram daemon`)")
    else:
        from ingest.base import CaptureStatus

        status = CaptureStatus.from_json(capture)
        ctx.out(f"Capture:       {status.headline()}")
        for line in status.lines(width=12):
            ctx.out(line)
    ctx.out(f"Data folder:   {info['data_dir']}")
    ctx.out(f"Encryption:    whole database (ChaCha20-Poly1305); key from {info['key_backend']}")
    if not info["initialised"]:
        ctx.out("Store:         not created yet — `engram add \"…\"` creates it.")
        return 0
    ctx.out(f"Database:      {info['database']} ({format_bytes(info['database_bytes'])})")
    ctx.out(f"Items:         {info['events']}")
    for source, n in info["sources"].items():
        ctx.out(f"  {source:<12} {n}")
    mem = info["memories"]
    ctx.out("Memories:      " + (", ".join(f"{n} {t}" for t, n in mem.items()) or "none yet")
            + (f" ({info['memories_pending_events']} items not yet consolidated)"
               if info["memories_pending_events"] else ""))
    if info["embedding_model"]:
        pending = info["vectors_pending"]
        state = info["vectors_state"] + (f", {pending} waiting" if pending else "")
        ctx.out(f"Embeddings:    {info['embedding_model']} ({state})")
    else:
        ctx.out(f"Embeddings:    unavailable — keyword search only ({info['embedding_error']})")
    from app.cli.privacy_cmds import describe_policy
    from core.retention import RetentionPolicy

    keep, budget = describe_policy(RetentionPolicy.from_settings(ctx.settings))
    ctx.out(f"Retention:     keep captures {keep}; disk budget {budget} (`engram retention`)")
    print_file_status(ctx, info["files"])
    return 0


def running_instance_status(ctx: Context) -> dict | None:
    """What the running daemon/app says about capture, or None if none runs."""
    from app.control import NotRunning, request

    try:
        reply = request(ctx.paths, {"op": "status"}, timeout=5.0)
    except NotRunning:
        return None
    reply.pop("ok", None)
    return reply


# -- forget ---------------------------------------------------------------------------
def cmd_forget(ctx: Context) -> int:
    args = ctx.args
    ranged = args.since or args.until or args.source
    if args.id is None and not ranged:
        raise UsageError("Say what to forget: an id, or --since/--until/--source.")
    if args.id is not None and ranged:
        raise UsageError("Give either an id or a range, not both.")
    engine = ctx.engine(create=False, make_room=True)
    db = engine.store.reader()
    if args.id is not None:
        ids = [args.id]
        if not event_rows.get_many(db, ids):
            raise NotFound(f"No item with id {args.id}.")
    else:
        since = parse_when(args.since) if args.since else None
        until = parse_when(args.until) if args.until else None
        ids = event_rows.select_ids(db, since=since, until=until, source=args.source)
        if ids and not args.yes and sys.stdin.isatty() and not ctx.json:
            answer = input(f"Forget {len(ids)} items for good? [y/N] ").strip().lower()
            if answer not in ("y", "yes"):
                ctx.out("Nothing forgotten.")
                return 1
    removed = list(engine.pipeline.forget(ids).removed)
    if ctx.json:
        ctx.emit_json({"forgotten": removed})
    else:
        ctx.out(f"Forgot {len(removed)} item{'s' if len(removed) != 1 else ''}.")
    return 0


# -- reindex --------------------------------------------------------------------------
def cmd_reindex(ctx: Context) -> int:
    engine = ctx.engine(create=False)
    if engine.pipeline.embedder is None:
        raise EngramError(f"The embedding model is unavailable: {engine.embedder_error}")
    total = engine.backfill.pending()
    report = ctx.progress("Embedding")
    done = 0
    while True:
        n = engine.backfill.run_once(batch_size=256)
        if not n:
            break
        done += n
        report(Progress(done, total))
    ctx.out(f"Vectors complete ({done} computed).")
    return 0


# -- passphrase -----------------------------------------------------------------------
def cmd_passphrase(ctx: Context) -> int:
    from app.bootstrap import store_exists, unlock
    from core.rekey import change_passphrase

    paths = ctx.paths
    if not store_exists(paths):
        raise NotFound(f"There is no Engram store at {paths.data_dir} yet.")
    old = unlock(paths, asker(), create=False)
    new_pass = os.environ.get("ENGRAM_NEW_PASSPHRASE") or (
        terminal_ask("New passphrase", True) if sys.stdin.isatty() else None)
    if not new_pass:
        raise UsageError("No new passphrase given (type one, or set ENGRAM_NEW_PASSPHRASE).")
    result = change_passphrase(paths, old, new_pass)
    for name in result.backups_removed:
        ctx.warn(f"removed backup {name}: it could not be re-encrypted")
    ctx.out("Passphrase changed; the store is re-encrypted with the new key.")
    if os.environ.get(keys.PASSPHRASE_ENV):
        ctx.warn(f"{keys.PASSPHRASE_ENV} still holds the old passphrase; update it.")
    return 0
