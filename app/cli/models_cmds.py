"""`engram models ...` — list, pull, add, use and remove local models.

None of these open the encrypted store or ask for its key: models are not
personal data, and a person should be able to fetch one before setting up.
"""
from __future__ import annotations

import argparse
import sys
import time


from app.cli.context import Context, add_command
from core.errors import Cancelled, UsageError
from core.models import catalog, install
from core.models.catalog import format_size
from core.progress import Progress, ProgressFn


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    group = add_command(sub, "models", _help, "list, download and choose local AI models",
                        description="Local GGUF models: the chat model that writes answers and "
                        "memories, and the embedding model used for search.")
    cmds = group.add_subparsers(dest="models_command", metavar="ACTION")

    add_command(cmds, "list", cmd_list, "show recommended and installed models, and which are "
                "in use", json_option=True)

    p = add_command(cmds, "pull", cmd_pull, "download a model from the catalog (resumes; "
                    "verifies its SHA-256)", json_option=True)
    p.add_argument("name", metavar="NAME", help="catalog name, see `engram models list`")
    p.add_argument("--url", help="download from this mirror instead (the catalog checksum "
                   "must still match)")

    p = add_command(cmds, "add", cmd_add, "import a local .gguf file (it is copied)",
                    json_option=True)
    p.add_argument("path", metavar="PATH.gguf", help="the GGUF file to import")
    p.add_argument("--role", choices=catalog.ROLES,
                   help="what the model is for (default: read from the file)")
    p.add_argument("--name", help="name to list it under (default: from the file name)")

    p = add_command(cmds, "use", cmd_use, "choose the installed model used for a role",
                    json_option=True)
    p.add_argument("name", metavar="NAME")
    p.add_argument("--role", choices=catalog.ROLES, required=True,
                   help="chat (writes answers and memories) or embedding (search)")

    p = add_command(cmds, "remove", cmd_remove, "delete an installed model (or a partial "
                    "download)", json_option=True)
    p.add_argument("name", metavar="NAME")


def _help(ctx: Context) -> int:
    raise UsageError("Say what to do with models: list, pull, add, use or remove "
                     "(see `engram models --help`).")


def cmd_list(ctx: Context) -> int:
    rows = catalog.list_models(ctx.paths, ctx.settings)
    ok, status = catalog.chat_model_status(ctx.paths, ctx.settings)
    if ctx.json:
        ctx.emit_json({"models": [r.as_dict() for r in rows],
                       "in_use": catalog.in_use_names(ctx.settings),
                       "chat_available": ok, "chat_status": status,
                       "models_dir": str(ctx.paths.models_dir)})
        return 0
    width = max(len(r.name) for r in rows) if rows else 10
    ctx.out(f"{'NAME':<{width}}  {'ROLE':<9}  {'SIZE':>8}  {'STATUS':<13}  LICENSE")
    for r in rows:
        if r.in_use:
            state = "in use"
        elif r.installed:
            state = "installed"
        elif r.source == "builtin":
            state = "not generated"
        elif r.partial_bytes and r.size_bytes:
            state = f"paused {r.partial_bytes * 100 // r.size_bytes}%"
        else:
            state = "available"
        star = "  (recommended)" if r.recommended and not r.installed else ""
        trust = r.trust
        if trust is not None and trust.label:
            why = f": {trust.reason}" if trust.reason else ""
            star += f"  ({trust.label} to write memories{why})"
        ctx.out(f"{r.name:<{width}}  {r.role:<9}  {format_size(r.size_bytes):>8}  {state:<13}  "
                f"{r.license or '-'}{star}")
    ctx.out()
    ctx.out(status)
    return 0


def _byte_progress(ctx: Context, label: str) -> ProgressFn:
    """A one-line progress bar on a terminal; silent otherwise (and with --json)."""
    tty = sys.stderr.isatty() and not ctx.json
    start = time.monotonic()
    state = {"last": 0.0, "first": -1}

    def report(p: Progress) -> None:
        done, total = p.done, p.total
        if state["first"] < 0:
            state["first"] = done  # resumed bytes don't count toward the speed
        now = time.monotonic()
        finished = total is not None and done >= total
        if not tty or (now - state["last"] < 0.1 and not finished):
            return
        state["last"] = now
        rate = (done - state["first"]) / max(now - start, 1e-6)
        if total:
            filled = int(30 * done / total)
            bar = f"[{'#' * filled}{'.' * (30 - filled)}] {done * 100 // total:3d}%"
            eta = f" {int((total - done) / rate)}s left" if rate > 0 and not finished else ""
        else:
            bar, eta = format_size(done), ""
        sys.stderr.write(f"\r\x1b[2K{label} {bar} {format_size(done)} "
                         f"{format_size(int(rate))}/s{eta}")
        if finished:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return report


def cmd_pull(ctx: Context) -> int:
    name = ctx.args.name
    entry = catalog.find_entry(name)
    if entry is not None and not ctx.json and entry.size_bytes:
        ctx.warn(f"downloading {entry.title} ({format_size(entry.size_bytes)}, "
                 f"licence: {entry.license})")
    try:
        model, now_in_use = install.pull(ctx.paths, ctx.settings, name, url=ctx.args.url,
                                         progress=_byte_progress(ctx, name))
    except KeyboardInterrupt:
        raise Cancelled(f"Download of {name} interrupted; run `engram models pull {name}` "
                        "again to resume.") from None
    return _report_installed(ctx, model, now_in_use, verb="installed")


def cmd_add(ctx: Context) -> int:
    from core.models.runtime import probe_loadable

    model, now_in_use = install.add_local(
        ctx.paths, ctx.settings, ctx.args.path, role=ctx.args.role, name=ctx.args.name,
        progress=_byte_progress(ctx, "copying"), check_loads=probe_loadable)
    return _report_installed(ctx, model, now_in_use, verb="imported")


def _report_installed(ctx: Context, model: catalog.InstalledModel, now_in_use: bool,
                      *, verb: str) -> int:
    if ctx.json:
        ctx.emit_json({"name": model.name, "role": model.role, "path": str(model.path),
                       "size_bytes": model.size_bytes, "sha256": model.sha256,
                       "architecture": model.architecture,
                       "context_length": model.context_length,
                       "has_chat_template": model.has_chat_template, "in_use": now_in_use})
        return 0
    ctx.out(f"{verb} {model.name} ({model.role}, {format_size(model.size_bytes)}, "
            f"{model.architecture or '?'}, context {model.context_length or '?'}) "
            f"at {model.path}")
    if model.role == "chat" and not model.has_chat_template:
        ctx.warn("this file has no chat template; Engram will use the generic chatml format")
    if now_in_use:
        ctx.out(f"It is now the {model.role} model in use.")
    elif not _in_use(ctx, model):
        ctx.out(f"To use it: engram models use {model.name} --role {model.role}")
    return 0


def _in_use(ctx: Context, model: catalog.InstalledModel) -> bool:
    return catalog.in_use_names(ctx.settings).get(model.role) == model.name


def cmd_use(ctx: Context) -> int:
    model = install.use(ctx.paths, ctx.settings, ctx.args.name, ctx.args.role)
    if ctx.json:
        ctx.emit_json({"role": ctx.args.role, "name": model.name, "path": str(model.path)})
    else:
        ctx.out(f"{model.name} is now the {ctx.args.role} model.")
        if ctx.args.role == "embedding":
            ctx.out("Search results use the new model once your items are re-embedded.")
    return 0


def cmd_remove(ctx: Context) -> int:
    removed = install.remove(ctx.paths, ctx.settings, ctx.args.name)
    if ctx.json:
        ctx.emit_json({"removed": removed.name,
                       "path": str(removed.model.path) if removed.model else None,
                       "partial_bytes": removed.partial_bytes,
                       "roles_cleared": list(removed.roles_cleared)})
        return 0
    if removed.model is None:
        ctx.out(f"deleted the unfinished download of {removed.name} "
                f"({format_size(removed.partial_bytes)})")
        return 0
    ctx.out(f"removed {removed.name} ({format_size(removed.model.size_bytes)} freed)")
    if "chat" in removed.roles_cleared:
        ok, status = catalog.chat_model_status(ctx.paths, ctx.settings)
        ctx.out(status)
    if "embedding" in removed.roles_cleared:
        ctx.out(f"Search now uses the built-in {catalog.BUILTIN_EMBEDDING_NAME} again.")
    return 0
