"""Bringing things in: watched folders, one-shot folder indexing, chat-export imports.

`engram watch add DIR` indexes a folder once (with progress) and remembers it
in settings; the running instance (`engram daemon` or the desktop app) keeps
watched folders current and notices added or removed folders within seconds.
`engram watch remove DIR` stops watching; whether the folder's items are also
forgotten is asked on a terminal, or said with `--forget` / `--keep` (without
either and without a terminal they are kept: nothing is deleted unasked).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from app.cli.context import Context, add_command, shown
from core.config import Settings
from core.errors import NotFound, UsageError
from core.store import files as file_rows
from ingest.files.report import shown_path

SETTING = "watched_folders"
_SHOWN_PROBLEMS = 20


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    group = add_command(sub, "watch", _watch_help, "folders kept indexed: add, remove, list",
                        description="Watched folders: indexed once when added, then kept "
                        "current by the running instance (`engram daemon` or the app).")
    cmds = group.add_subparsers(dest="watch_command", metavar="ACTION")
    p = add_command(cmds, "add", cmd_watch_add, "index a folder now and keep it indexed",
                    json_option=True)
    p.add_argument("dir", metavar="DIR", help="the folder to watch")
    p = add_command(cmds, "remove", cmd_watch_remove, "stop watching a folder",
                    json_option=True)
    p.add_argument("dir", metavar="DIR", help="a watched folder")
    keep = p.add_mutually_exclusive_group()
    keep.add_argument("--forget", action="store_true",
                      help="also forget everything indexed from it")
    keep.add_argument("--keep", action="store_true",
                      help="keep what was indexed from it (searchable, no longer updated)")
    add_command(cmds, "list", cmd_watch_list, "show watched folders and what is indexed",
                json_option=True)

    p = add_command(sub, "index", cmd_index, "index a folder's documents once, without "
                    "watching it", json_option=True)
    p.add_argument("dir", metavar="DIR", help="the folder to index")

    from ingest.chats import FORMATS

    p = add_command(sub, "import", cmd_import, "import a chat export (ChatGPT, Claude, "
                    "WhatsApp, Telegram, Slack, JSONL)", json_option=True)
    p.add_argument("path", metavar="PATH", help="the export: file, zip or folder")
    p.add_argument("--format", default="auto", choices=("auto", *FORMATS),
                   help="the export's format (default: recognise it)")
    p.add_argument("--name", metavar="NAME",
                   help="conversation name where the export has none (WhatsApp, JSONL)")


def _watch_help(ctx: Context) -> int:
    raise UsageError("Say what to do: `engram watch add DIR`, `remove DIR` or `list`.")


# -- folders ----------------------------------------------------------------------------
def watched(settings: Settings) -> list[Path]:
    return [Path(p) for p in settings.get(SETTING) or []]


def folder_arg(text: str, *, must_exist: bool = True) -> Path:
    folder = Path(text).expanduser().resolve()
    if must_exist and not folder.is_dir():
        raise NotFound(f"{folder} is not a folder." if folder.exists()
                       else f"{folder} does not exist.")
    return folder


def covering(folder: Path, folders: list[Path]) -> Path | None:
    """The watched folder that ``folder`` is (or lies inside), if any."""
    for f in folders:
        if folder == f or f in folder.parents:
            return f
    return None


def indexer_for(ctx: Context):
    from ingest.files.indexer import FileIndexer, options_from_settings

    return FileIndexer(ctx.engine().pipeline, options_from_settings(ctx.settings))


def scan(ctx: Context, folder: Path, root: Path):
    if folder == ctx.paths.data_dir or ctx.paths.data_dir in folder.parents:
        raise UsageError("That is Engram's own data folder; choose another.")
    report = indexer_for(ctx).scan(folder, root=root, progress=ctx.progress("Indexing"))
    return report


def print_scan(ctx: Context, report, verb: str = "Indexed") -> None:
    ctx.out(f"{verb} {report.folder}: {report.files} files — {report.indexed} read, "
            f"{report.unchanged} unchanged, {report.skipped} skipped, "
            f"{report.removed} gone ({report.chunks_added} new passages, "
            f"{report.seconds:.1f} s)")
    for path, reason in report.problems[:_SHOWN_PROBLEMS]:
        ctx.out(f"  skipped {shown_path(path)}: {reason}")
    if len(report.problems) > _SHOWN_PROBLEMS:
        ctx.out(f"  … and {len(report.problems) - _SHOWN_PROBLEMS} more (see `engram status`)")
    for path, note in report.notes[:_SHOWN_PROBLEMS]:
        ctx.out(f"  partly read {shown_path(path)}: {note}")


def cmd_watch_add(ctx: Context) -> int:
    folder = folder_arg(ctx.args.dir)
    folders = watched(ctx.settings)
    outer = covering(folder, folders)
    report = scan(ctx, folder, outer or folder)
    if outer is None:
        # A folder inside the new one needs no watch of its own any more.
        kept = [f for f in folders if folder not in f.parents]
        ctx.settings.set(SETTING, [str(f) for f in kept + [folder]])
    if ctx.json:
        ctx.emit_json({**report.to_json(), "watched": str(outer or folder)})
        return 0
    print_scan(ctx, report)
    if outer is not None and outer != folder:
        ctx.out(f"It is already watched as part of {outer}.")
    elif outer is None:
        ctx.out("Watching it: the running instance (`engram daemon` or the app) keeps it "
                "current.")
    return 0


def cmd_watch_remove(ctx: Context) -> int:
    args = ctx.args
    folder = folder_arg(args.dir, must_exist=False)
    folders = watched(ctx.settings)
    if folder not in folders:
        raise NotFound(f"{folder} is not watched.", hint="See `engram watch list`.")
    forget = args.forget
    if not args.forget and not args.keep and sys.stdin.isatty() and not ctx.json:
        answer = input(f"Also forget everything indexed from {folder}? [y/N] ")
        forget = answer.strip().lower() in ("y", "yes")
    ctx.settings.set(SETTING, [str(f) for f in folders if f != folder])
    forgotten = 0
    if forget:
        from app.bootstrap import store_exists

        if store_exists(ctx.paths):
            report = indexer_for(ctx).forget_files([str(folder)], folder=str(folder))
            forgotten = report.chunks_removed
    if ctx.json:
        ctx.emit_json({"removed": str(folder), "forgotten": forgotten if forget else None})
    elif forget:
        ctx.out(f"No longer watching {folder}; forgot {forgotten} items from it.")
    else:
        ctx.out(f"No longer watching {folder}; what was indexed from it stays searchable "
                "(`engram watch remove --forget` to remove it).")
    return 0


def cmd_watch_list(ctx: Context) -> int:
    from app.bootstrap import store_exists

    folders = watched(ctx.settings)
    db = ctx.engine(create=False).store.reader() if folders and store_exists(ctx.paths) \
        else None
    rows = []
    for folder in folders:
        summary = file_rows.summary(db, folder=str(folder), examples=0) if db else None
        rows.append({"folder": str(folder), "exists": folder.is_dir(),
                     "indexed": summary.indexed if summary else 0,
                     "skipped": summary.skipped if summary else 0})
    if ctx.json:
        ctx.emit_json({"watched": rows})
        return 0
    if not rows:
        ctx.out("No folders are watched; add one with `engram watch add DIR`.")
    for row in rows:
        missing = "" if row["exists"] else "  (missing)"
        ctx.out(f"{row['folder']}  {row['indexed']} files indexed, "
                f"{row['skipped']} skipped{missing}")
    return 0


def cmd_index(ctx: Context) -> int:
    folder = folder_arg(ctx.args.dir)
    report = scan(ctx, folder, covering(folder, watched(ctx.settings)) or folder)
    if ctx.json:
        ctx.emit_json(report.to_json())
    else:
        print_scan(ctx, report)
    return 0


def file_status(settings: Settings, db) -> dict[str, Any]:
    """The files part of `engram status`: watched folders, counts, skipped files."""
    summary = file_rows.summary(db)
    return {"watched": [str(f) for f in watched(settings)], "indexed": summary.indexed,
            "skipped": summary.skipped, "skipped_reasons": dict(summary.reasons),
            "problems": [{"path": p, "reason": r} for p, r in summary.problems],
            "partly_read": summary.noted,
            "notes": [{"path": p, "note": n} for p, n in summary.notes]}


def print_file_status(ctx: Context, info: dict[str, Any]) -> None:
    n = len(info["watched"])
    ctx.out(f"Files:         {n} folder{'s' * (n != 1)} watched; {info['indexed']} files "
            f"indexed, {info['skipped']} skipped")
    examples: dict[str, list[str]] = {}
    for problem in info["problems"]:
        group = file_rows.reason_group(problem["reason"])
        examples.setdefault(group, []).append(problem["path"])
    for reason, count in info["skipped_reasons"].items():
        shown = examples.get(reason, [])[:3]
        more = " …" if count > len(shown) else ""
        ctx.out(f"  {reason:<24} {count:>5}  {', '.join(map(shown_path, shown))}{more}")
    if info.get("partly_read"):
        ctx.out(f"  {'partly read':<24} {info['partly_read']:>5}")
        for note in info["notes"][:3]:
            ctx.out(f"    {shown_path(note['path'])}: {note['note']}")


# -- chats ------------------------------------------------------------------------------
def cmd_import(ctx: Context) -> int:
    from core.progress import Progress
    from ingest.chats.importer import import_export

    args = ctx.args
    path = Path(args.path).expanduser()
    progress = ctx.progress("Importing messages")
    # The export is read (and validated) before the store is opened: a broken
    # file stops with nothing written. The engine opens with the first batch.
    summary = import_export(path, lambda batch: ctx.engine().pipeline.submit(batch),
                            progress=lambda p: progress(Progress(p.done)),
                            format=args.format, name=args.name)
    report = summary.report
    result = {
        "path": str(path), "format": report.format, "messages": report.imported,
        "imported": summary.added, "already_present": summary.already,
        "skipped": [{"where": s.where, "reason": s.reason, "detail": s.detail}
                    for s in report.skipped],
        "skipped_by_reason": report.skipped_by_reason,
        "ignored": dict(report.ignored),
        "notes": dict(report.notes),
        "read": report.total,
    }
    if ctx.json:
        ctx.emit_json(result)
        return 0
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    ctx.out(f"Imported {result['imported']} new messages from {shown(path.name)} ({report.format} "
            f"export); {result['already_present']} were already present.")
    if report.skipped:
        ctx.out(f"Skipped {len(report.skipped)}:")
        for item in report.skipped[:_SHOWN_PROBLEMS]:
            ctx.out(f"  {shown(item.where)}: {shown(item.describe())}")
        if len(report.skipped) > _SHOWN_PROBLEMS:
            ctx.out(f"  … and {len(report.skipped) - _SHOWN_PROBLEMS} more (see --json)")
    if report.ignored:
        ctx.out("Left out on purpose: " + ", ".join(
            f"{n} × {reason}" for reason, n in sorted(report.ignored.items())))
    if report.notes:
        ctx.out("Read with care: " + ", ".join(
            f"{n} × {what}" for what, n in sorted(report.notes.items())))
    return 0
