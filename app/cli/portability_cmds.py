"""Taking everything out and putting it back: export, backup, restore.

Thin: the work is in core.portability (plain-file export/restore) and
core.backup (encrypted backups).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from app.cli.context import Context, add_command, asker
from core.errors import NotFound, UsageError


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "export", cmd_export,
                    "write everything you own as plain JSON files (decrypted, on purpose)",
                    json_option=True)
    p.add_argument("--out", required=True, metavar="DIR", help="a new or empty folder")

    p = add_command(sub, "backup", cmd_backup,
                    "write an encrypted copy of the store (same key) to one file",
                    json_option=True)
    p.add_argument("--out", required=True, metavar="FILE",
                   help="the backup file (an older Engram backup there is replaced)")

    p = add_command(sub, "restore", cmd_restore,
                    "restore an export folder or a backup file into a new or empty store",
                    json_option=True)
    p.add_argument("path", metavar="DIR|FILE", help="a folder from `engram export`, or a file "
                   "from `engram backup`")


def _refuse_if_running(ctx: Context) -> None:
    from app.control import NotRunning, request

    try:
        request(ctx.paths, {"op": "ping"}, timeout=2.0)
    except NotRunning:
        return
    raise UsageError("Engram is running for this data folder; quit the app or daemon "
                     "before restoring into it.")


def cmd_export(ctx: Context) -> int:
    from core.portability import export_store

    out = Path(ctx.args.out).expanduser()
    engine = ctx.engine(create=False)
    ctx.warn(f"writing an UNENCRYPTED copy of your data to {out}")
    settings = ctx.settings
    summary = export_store(
        engine.store, out, settings=settings.changed(),
        models={"embedding_model": settings.get("embedding_model"),
                "chat_model": settings.get("chat_model")},
        progress=ctx.progress("Exporting"))
    if ctx.json:
        ctx.emit_json({"folder": str(out), "counts": dict(summary.counts)})
    else:
        c = summary.counts
        ctx.out(f"Exported {c['events']} items, {c['memories']} memories "
                f"({c['memory_history']} history entries), {c['threads']} threads to {out}")
    return 0


def cmd_backup(ctx: Context) -> int:
    from core import keys
    from core.backup import backup_store

    engine = ctx.engine(create=False)
    record = keys.key_record(ctx.paths)
    info = backup_store(engine.store, engine.key.sqlite_hexkey(), record,
                        Path(ctx.args.out))
    if ctx.json:
        ctx.emit_json({"file": str(info.path), "database_bytes": info.db_bytes,
                       "created_at": info.created_at, "key": info.key_backend})
        return 0
    ctx.out(f"Encrypted backup written to {info.path}")
    if info.key_backend == "keyring":
        ctx.warn("the key is in this machine's OS keyring: the backup opens where that keyring "
                 "does. Set a passphrase (`engram passphrase`) to restore it anywhere.")
    else:
        ctx.out("It opens with your passphrase (`engram restore FILE`).")
    return 0


def cmd_restore(ctx: Context) -> int:
    source = Path(ctx.args.path).expanduser()
    if not source.exists():
        raise NotFound(f"{source} does not exist.")
    if source.is_dir():
        return _restore_export(ctx, source)
    from core.backup import restore_backup

    info = restore_backup(source, ctx.paths, asker())
    if ctx.json:
        ctx.emit_json({"restored": str(info.path), "created_at": info.created_at,
                       "key": info.key_backend})
    else:
        ctx.out(f"Restored the backup of {info.created_at} into {ctx.paths.data_dir}")
    return 0


def _restore_export(ctx: Context, folder: Path) -> int:
    from app.bootstrap import unlock
    from core.portability import read_manifest, restore_export
    from core.store import Store

    read_manifest(folder)  # a bad folder fails before a store is created for it
    _refuse_if_running(ctx)
    paths = ctx.paths
    key = unlock(paths, asker(), create=True)
    store = Store(paths.db_path, key.sqlite_hexkey(), backups_dir=paths.backups_dir)
    try:
        summary = restore_export(store, folder, progress=ctx.progress("Restoring"))
    finally:
        store.close()
    for name, value in summary.settings.items():
        ctx.settings.set(name, value)
    if ctx.json:
        ctx.emit_json({"restored": dict(summary.counts), "warnings": list(summary.warnings)})
        return 0
    c = summary.counts
    ctx.out(f"Restored {c['events']} items, {c['memories']} memories "
            f"({c['memory_history']} history entries), {c['threads']} threads and your "
            f"settings into {paths.data_dir}")
    for warning in summary.warnings:
        ctx.warn(warning)
    if c["events"]:
        ctx.out("Meaning search catches up as vectors are computed (the app or daemon does it "
                "in the background; `engram reindex` does it now).")
    return 0
