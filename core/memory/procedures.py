"""Numbered steps and shell command sequences → procedures (pure).

Three shapes are recognised in an event's text:

- numbered lists, one step per line ("1. Open settings" / "2) Click VPN"), or
  inline in one chat message ("1. brunch 2. walk to the river");
- shell sessions: lines after a prompt ("$ sudo systemctl restart openvpn",
  "ana@box:~$ ls"), as on a terminal screen;
- code blocks (```sh … ```) whose lines are commands.

A procedure needs at least two steps; its title is the line that introduces it
("To fix the VPN:") when there is one.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from core.memory.text import shorten, squash

MIN_STEPS = 2
MAX_STEPS = 30

_NUMBERED = re.compile(r"^\s*(?:step\s+)?(\d{1,2})[.):]\s+(\S.*)$", re.IGNORECASE)
_INLINE_START = re.compile(r"(?:^|\s)1[.)]\s+\S")
_INLINE_SPLIT = re.compile(r"(?:^|\s)(\d{1,2})[.)]\s+")
_PROMPT = re.compile(r"^\s*(?:\(\S+\)\s*)?(?:[\w.-]+@[\w.-]+(?::\S*)?\s*)?[$%]\s+(\S.*)$")
_FENCE = re.compile(r"^\s*```\s*([\w+-]*)\s*$")
_SHELL_LANGS = frozenset({"sh", "bash", "shell", "console", "zsh", "fish", "powershell", "ps",
                          "cmd", "terminal"})
KNOWN_COMMANDS = frozenset("""
sudo apt apt-get dnf yum pacman brew pip pip3 pipx python python3 uv poetry npm npx yarn pnpm
node git cd ls mkdir rm cp mv cat less grep find sed awk curl wget ssh scp rsync tar unzip zip
docker podman kubectl helm systemctl journalctl service chmod chown ln export source make
cmake cargo go rustc gcc java mvn gradle nmcli ip ifconfig ping dig nslookup openvpn wg
wg-quick nano vim vi emacs code touch echo kill killall ps top htop df du mount umount
psql mysql sqlite3 redis-cli engram tesseract ffmpeg convert ollama conda virtualenv
""".split())
_INTRO_HINT = re.compile(r"\b(how to|to (?:fix|install|set up|setup|configure|restart|reset|"
                         r"update|run|build|deploy|connect)|steps?|instructions|recipe|fix|"
                         r"setup|install)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Procedure:
    """Steps in order, what introduced them, and whether they are shell commands."""

    title: str
    steps: tuple[str, ...]
    commands: bool

    @property
    def text(self) -> str:
        lines = [f"{self.title}:"] + [f"{n}. {s}" for n, s in enumerate(self.steps, 1)]
        return "\n".join(lines)


def procedures(text: str, *, context: str | None = None) -> list[Procedure]:
    """Every procedure in ``text``; ``context`` (window or conversation title) names
    one that has no introducing line."""
    lines = text.splitlines()
    found = _numbered(lines, context) + _commands(lines, context)
    if not found and len(lines) <= 3:
        found = _inline(text, context)
    return found


def _intro(lines: list[str], index: int, context: str | None, steps: list[str],
           commands: bool) -> str:
    """The line just before a list ("To fix the VPN:"), else a name made from context."""
    for back in (1, 2):
        j = index - back
        if j < 0:
            break
        line = squash(lines[j]).strip("#*> ")
        if not line:
            continue
        intro_like = line.endswith(":") or bool(_INTRO_HINT.search(line))
        # Before commands, the line above is usually another command's output:
        # only a line that reads like an introduction names them.
        if (len(line) <= 120 and not _NUMBERED.match(line) and not _PROMPT.match(line)
                and (intro_like or not commands)):
            return shorten(line.rstrip(":"), 90)
        break
    if commands:
        head = steps[0].split()[0] if steps[0].split() else "shell"
        where = f" in {context}" if context else ""
        return shorten(f"Commands{where}: {head} …", 90)
    return shorten(f"Steps{f' ({context})' if context else ''}: {steps[0]}", 90)


def _numbered(lines: list[str], context: str | None) -> list[Procedure]:
    out: list[Procedure] = []
    i = 0
    while i < len(lines):
        m = _NUMBERED.match(lines[i])
        if not m or int(m.group(1)) != 1:
            i += 1
            continue
        start, expected, steps = i, 1, []
        while i < len(lines):
            m = _NUMBERED.match(lines[i])
            if m and int(m.group(1)) == expected:
                steps.append(squash(m.group(2)))
                expected += 1
                i += 1
            elif not lines[i].strip() or (steps and lines[i].startswith(("   ", "\t"))):
                i += 1  # blank lines and indented continuations stay inside the list
            else:
                break
        if MIN_STEPS <= len(steps) <= MAX_STEPS:
            out.append(Procedure(_intro(lines, start, context, steps, False),
                                 tuple(shorten(s, 200) for s in steps), False))
    return out


def _inline(text: str, context: str | None) -> list[Procedure]:
    """"1. brunch at 11 2. walk to the river" in one line or message."""
    flat = squash(text)
    first = _INLINE_START.search(flat)
    if not first:
        return []
    intro = flat[:first.start()].strip()
    parts = _INLINE_SPLIT.split(flat[first.start():])
    # parts: ['', '1', 'step one ', '2', 'step two ', …]
    steps: list[str] = []
    expected = 1
    for k in range(1, len(parts) - 1, 2):
        if int(parts[k]) != expected:
            break
        steps.append(parts[k + 1].strip())
        expected += 1
    steps = [s for s in steps if s]
    if not (MIN_STEPS <= len(steps) <= MAX_STEPS):
        return []
    title = shorten(intro.rstrip(":"), 90) if intro else _intro([], 0, context, steps, False)
    return [Procedure(title, tuple(shorten(s, 200) for s in steps), False)]


def _commands(lines: list[str], context: str | None) -> list[Procedure]:
    out: list[Procedure] = []
    commands: list[str] = []
    start = 0
    in_fence, fence_shell, fence_start = False, False, 0

    def flush(intro_at: int) -> None:
        nonlocal commands
        unique = list(dict.fromkeys(commands))  # a re-run command is one step
        if MIN_STEPS <= len(unique) <= MAX_STEPS:
            out.append(Procedure(_intro(lines, intro_at, context, unique, True),
                                 tuple(shorten(c, 200) for c in unique), True))
        commands = []

    for i, line in enumerate(lines):
        fence = _FENCE.match(line)
        if fence:
            if not in_fence:
                flush(start)
                in_fence, fence_shell, fence_start = True, fence.group(1).lower() in _SHELL_LANGS, i
            else:
                in_fence = False
                flush(fence_start)
                start = i + 1
            continue
        if in_fence:
            cmd = line.strip()
            prompt = _PROMPT.match(line)
            if prompt:
                cmd = prompt.group(1).strip()
            elif not fence_shell and not looks_like_command(cmd):
                continue
            if cmd and not cmd.startswith("#"):
                commands.append(cmd)
            continue
        prompt = _PROMPT.match(line)
        if prompt and looks_like_command(prompt.group(1)):
            if not commands:
                start = i
            commands.append(prompt.group(1).strip())
    if not in_fence:
        flush(start)
    return out


def looks_like_command(line: str) -> bool:
    """A shell command line: it starts with a known program (or ./script)."""
    head = line.strip().split(" ", 1)[0] if line.strip() else ""
    return head in KNOWN_COMMANDS or head.startswith(("./", "~/", "/usr/", "/opt/"))


def steps_signature(steps: tuple[str, ...] | list[str]) -> list[str]:
    """Steps in a comparison form, for telling a repeat from a new procedure."""
    return [" ".join(s.lower().split()) for s in steps]
