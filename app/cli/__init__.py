"""`engram ...` — the command line. Qt-free: Qt is imported only to open the window.

Each command group lives in its own module with a ``register(subparsers)``
function; handlers have the signature ``handler(ctx: Context) -> int``.
Errors a person can cause are ``EngramError``s and are presented once, here:
one line on stderr and the error's exit code.
"""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

from app.cli.context import Context, add_common_options
from core.errors import EngramError

# Command-group modules, in the order their commands appear in --help.
COMMAND_MODULES = (
    "app.cli.store_cmds",
    "app.cli.models_cmds",
    "app.cli.capture_cmds",
    "app.cli.screen_cmds",
    "app.cli.ask_cmds",
    "app.cli.ingest_cmds",
    "app.cli.memory_cmds",
    "app.cli.privacy_cmds",
    "app.cli.portability_cmds",
)


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(
        prog="engram",
        description="Engram: a private, local memory of what you see and work on. "
        "With no command, opens the desktop app.",
    )
    add_common_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # a group not written yet
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not args_list or (len(args_list) == 2 and args_list[0] == "--data-dir"):
        # The desktop app: skip building every command's parser (and its imports).
        from app.cli.context import open_gui

        return open_gui(argparse.Namespace(data_dir=args_list[1] if args_list else None))
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        from app.cli.context import open_gui

        return open_gui(args)
    ctx = Context(args)
    try:
        return int(args.func(ctx) or 0)
    except EngramError as exc:
        ctx.fail(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        print("engram: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    finally:
        ctx.close()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
