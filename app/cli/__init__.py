"""`engram ...` — the command line. Qt-free: Qt is imported only to open the window.

Each command group lives in its own module with a ``register(subparsers)``
function; handlers have the signature ``handler(ctx: Context) -> int``.
Errors a person can cause are ``EngramError``s and are presented once, here:
one line on stderr and the error's exit code.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from core.errors import DiskFull, EngramError

FAST_COMMANDS = ("search", "ask", "memories", "timeline", "--data-dir")


class _VersionAction(argparse.Action):
    """``--version``, computed only when asked (reads the build record, no models)."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:  # type: ignore[override]
        from app.about import version_line

        print(version_line())
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    from app.cli.context import add_common_options

    # Command groups, in the order their commands appear in --help.
    from app.cli import (ask_cmds, capture_cmds, ingest_cmds, memory_cmds, models_cmds,
                         portability_cmds, privacy_cmds, reach_cmds, screen_cmds, store_cmds,
                         system_cmds)

    parser = argparse.ArgumentParser(
        prog="engram",
        description="Engram: a private, local memory of what you see and work on. "
        "With no command, opens the desktop app.",
    )
    add_common_options(parser)
    parser.add_argument("--version", action=_VersionAction, nargs=0,
                        help="print Engram's version and build, then exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in (store_cmds, models_cmds, capture_cmds, screen_cmds, ask_cmds, ingest_cmds,
                   memory_cmds, privacy_cmds, portability_cmds, reach_cmds, system_cmds):
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[-1:] == ["--start-hidden"] and len(args_list) in (1, 3):
        # Started at login by Windows' Run key, which cannot set the environment.
        args_list.remove("--start-hidden")
        os.environ["ENGRAM_START_HIDDEN"] = "1"
    if not args_list or (len(args_list) == 2 and args_list[0] == "--data-dir"):
        # The desktop app: skip building every command's parser (and its imports).
        from app.cli.context import open_gui

        return open_gui(argparse.Namespace(data_dir=args_list[1] if args_list else None))
    if args_list[0] in FAST_COMMANDS:
        # While Engram runs, read commands ask it: no key derivation, no model load.
        from app.cli import fast

        code = fast.run(args_list)
        if code is not None:
            return code
    from app.cli.context import Context

    parser = build_parser()
    args = parser.parse_args(args_list)
    if args.command is None:
        from app.cli.context import open_gui

        return open_gui(args)
    ctx = Context(args)
    try:
        return int(args.func(ctx) or 0)
    except EngramError as exc:
        if isinstance(exc, DiskFull):
            ctx.discard_new_store()
        ctx.fail(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        print("engram: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        # A full disk (or a damaged, read-only store) met outside the store's writer:
        # writing settings or the key record, a checkpoint. One line, not a traceback.
        from core.store.db import translate_error

        translated = translate_error(exc, ctx.paths.db_path)
        if not isinstance(translated, EngramError):
            raise
        if isinstance(translated, DiskFull):
            ctx.discard_new_store()
        ctx.fail(translated)
        return translated.exit_code
    finally:
        ctx.close()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
