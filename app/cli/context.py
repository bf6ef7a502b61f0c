"""What every CLI command gets: paths, settings, the engine (opened lazily), output."""
from __future__ import annotations

import argparse
import getpass
import json
import shutil
import sys
from typing import TYPE_CHECKING, Any, Callable

from app.cli.terminal import shown
from core.config import Paths, Settings, resolve_paths
from core.errors import EngramError
from core.progress import Progress, ProgressFn

if TYPE_CHECKING:
    from app.bootstrap import Engine

Handler = Callable[["Context"], int]

def add_common_options(parser: argparse.ArgumentParser, *, top: bool = True) -> None:
    """``--data-dir`` works before or after the command name."""
    default = None if top else argparse.SUPPRESS
    parser.add_argument(
        "--data-dir",
        default=default,
        metavar="DIR",
        help="where Engram keeps its encrypted store (default: ENGRAM_HOME or the "
        "platform's user data folder)",
    )


def add_command(
    sub: "argparse._SubParsersAction[argparse.ArgumentParser]",
    name: str,
    handler: Handler,
    help: str,
    *,
    json_option: bool = False,
    description: str | None = None,
) -> argparse.ArgumentParser:
    """Add a subcommand with the options every command has."""
    parser = sub.add_parser(name, help=help, description=description or help)
    add_common_options(parser, top=False)
    if json_option:
        parser.add_argument("--json", action="store_true", help="print results as JSON")
    parser.set_defaults(func=handler)
    return parser


def terminal_ask(prompt: str, confirm: bool) -> str | None:
    """Ask for a passphrase on the terminal."""
    first = getpass.getpass(f"{prompt}: ")
    if confirm:
        second = getpass.getpass("Type it again to confirm: ")
        if first != second:
            raise EngramError("The two passphrases differ; nothing was changed.")
    return first


def asker() -> "Callable[[str, bool], str | None] | None":
    """How to ask for a passphrase here: on the terminal, or not at all."""
    return terminal_ask if sys.stdin.isatty() else None


class Context:
    """Per-invocation state shared by command handlers."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.paths: Paths = resolve_paths(getattr(args, "data_dir", None))
        self.json: bool = bool(getattr(args, "json", False))
        self._settings: Settings | None = None
        self._engine: "Engine | None" = None
        self._new_folder = False

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = Settings(self.paths.settings_path)
        return self._settings

    def engine(self, *, create: bool = True, background: bool = False,
               make_room: bool = False) -> "Engine":
        """Open (and on first use create) the encrypted store and models.
        ``make_room``: the command deletes, so a full disk may use the reserve file."""
        if self._engine is None:
            from app.bootstrap import open_engine

            self._new_folder = not self.paths.data_dir.exists()
            self._engine = open_engine(
                self.paths, settings=self.settings, ask=asker(), create=create,
                background=background, make_room=make_room,
            )
        return self._engine

    # -- output -----------------------------------------------------------------
    def emit_json(self, value: Any) -> None:
        json.dump(value, sys.stdout, ensure_ascii=False, indent=2, default=str)
        sys.stdout.write("\n")

    def out(self, text: str = "", *, bold_marks: bool = False) -> None:
        """Print a line (or lines) of output; control characters in it are shown as
        escapes. ``bold_marks`` prints «matched» words in bold instead of the marks."""
        text = shown(text, keep_lines=True)
        if bold_marks:
            from core.snippets import MARK_CLOSE, MARK_OPEN

            text = text.replace(MARK_OPEN, "\x1b[1m").replace(MARK_CLOSE, "\x1b[0m")
        print(text)

    def warn(self, text: str) -> None:
        print(f"engram: {shown(text, keep_lines=True)}", file=sys.stderr)

    def progress(self, label: str) -> ProgressFn:
        """A progress callback that redraws one stderr line when it's a terminal."""
        tty = sys.stderr.isatty() and not self.json

        def report(p: Progress) -> None:
            if not tty:
                return
            done, total, current = p.done, p.total, p.label
            of = f"/{total}" if total else ""
            tail = f" {shown(current[-50:])}" if current else ""
            sys.stderr.write(f"\r\x1b[2K{label}: {done}{of}{tail}")
            if total is not None and done >= total:
                sys.stderr.write("\n")
            sys.stderr.flush()

        return report

    def fail(self, exc: EngramError) -> None:
        if self.json:
            json.dump({"error": exc.message, "hint": exc.hint}, sys.stdout)
            sys.stdout.write("\n")
        print(f"engram: error: {shown(exc.message)}", file=sys.stderr)
        if exc.hint:
            print(f"  {shown(exc.hint, keep_lines=True)}", file=sys.stderr)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None

    def discard_new_store(self) -> None:
        """After a full disk stopped the very first command: remove the store this
        invocation created, so no half-made folder is left behind."""
        if not self._new_folder:
            return
        self.close()
        shutil.rmtree(self.paths.data_dir, ignore_errors=True)
        self._new_folder = False


def open_gui(args: argparse.Namespace) -> int:
    """`engram` with no command: the desktop app."""
    from app.main import main as gui_main

    return int(gui_main(resolve_paths(getattr(args, "data_dir", None))) or 0)
