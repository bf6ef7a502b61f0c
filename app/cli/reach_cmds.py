"""Reaching Engram from elsewhere: `engram mcp` (for other AI tools) and `engram timeline`."""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys

from app.cli.context import Context, add_command


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "mcp", cmd_mcp,
                    "serve your memory to other AI tools over MCP (stdio; read-only unless "
                    "writes are allowed)", json_option=True)
    p.add_argument("--allow-writes", action="store_true",
                   help="let clients add notes (the `remember` tool) for this session")
    p.add_argument("--print-config", action="store_true",
                   help="print what to paste into Claude Desktop, Cursor, VS Code … and exit")

    p = add_command(sub, "timeline", cmd_timeline,
                    "one day: time per app and its episodes", json_option=True)
    from app.cli import fast

    fast.timeline_arguments(p)


def mcp_command(ctx: Context) -> list[str]:
    """How a client starts this Engram's MCP server (absolute paths)."""
    beside = os.path.join(os.path.dirname(sys.executable), "engram")  # the venv's script
    exe = beside if os.access(beside, os.X_OK) else shutil.which("engram")
    here = os.path.abspath(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    if os.path.basename(here) == "engram" and os.access(here, os.X_OK):
        exe = here
    command = [exe, "mcp"] if exe else [sys.executable, "-m", "app", "mcp"]
    if getattr(ctx.args, "data_dir", None):
        command += ["--data-dir", str(ctx.paths.data_dir)]
    return command


def cmd_mcp(ctx: Context) -> int:
    from app.mcp import client_configs

    if ctx.args.print_config:
        configs = client_configs(mcp_command(ctx))
        if ctx.json:
            ctx.emit_json(configs)
            return 0
        for client, config in configs.items():
            ctx.out(f"# {client}")
            ctx.out(config if isinstance(config, str) else json.dumps(config, indent=2))
            ctx.out()
        ctx.out("# When neither the app nor `engram daemon` is running, the server opens the "
                "store itself:\n# with a passphrase (no OS keyring) add \"env\": "
                "{\"ENGRAM_PASSPHRASE\": \"…\"} to the entry — the client's file then holds it "
                "in clear.")
        return 0
    from app.mcp import serve

    return serve(ctx.paths, ctx.settings, allow_writes=ctx.args.allow_writes)


def cmd_timeline(ctx: Context) -> int:
    from app.cli import fast
    from app.client import answer

    result = answer(ctx.paths, {"op": "timeline", "day": ctx.args.day},
                    lambda: ctx.engine(create=False))
    fast.print_timeline(result, ctx.json, ctx.out)
    return 0
