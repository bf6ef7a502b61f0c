"""`engram autostart on|off|status` and `engram about`: this installation itself."""
from __future__ import annotations

import argparse
from dataclasses import asdict

from app.cli.context import Context, add_command


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "autostart", cmd_autostart,
                    "start Engram at login (in the tray), or stop doing so", json_option=True)
    p.add_argument("state", nargs="?", choices=("on", "off", "status"), default="status",
                   help="on, off, or status (default)")
    add_command(sub, "about", cmd_about,
                "version, build, llama.cpp and the CPU code it uses, where data lives",
                json_option=True)


def cmd_autostart(ctx: Context) -> int:
    from app.autostart import autostart_status, set_autostart

    state = ctx.args.state
    status = (autostart_status() if state == "status"
              else set_autostart(state == "on", ctx.paths.data_dir))
    if ctx.json:
        ctx.emit_json(asdict(status))
    elif status.enabled:
        ctx.out(f"Start at login: on ({status.where})")
        ctx.out(f"  runs: {status.command}")
    else:
        ctx.out(f"Start at login: off ({status.where} is not set)")
    return 0


def cmd_about(ctx: Context) -> int:
    from app.about import about

    info = about(ctx.paths)
    if ctx.json:
        ctx.emit_json(info)
        return 0
    llama = info.pop("llama_cpp", {})
    ctx.out(f"Engram {info['version']} ({info['build']})")
    for key in ("python", "qt", "platform", "program", "data_dir", "database", "models_dir",
                "settings", "start_at_login"):
        ctx.out(f"  {key.replace('_', ' ')}: {info[key]}")
    for key, value in llama.items():
        if key != "system_info":
            ctx.out(f"  llama.cpp {key.replace('_', ' ')}: {value}")
    if "system_info" in llama:
        ctx.out(f"  llama.cpp features: {llama['system_info']}")
    return 0
