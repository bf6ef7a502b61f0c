"""Which paths a folder scan leaves alone: a small, gitignore-like matcher.

Patterns (fnmatch syntax) are matched like this:
- without a slash (``node_modules``, ``*.pyc``): against every path component
  below the root, so a matching folder hides everything inside it;
- with a slash (``docs/drafts``, ``/build``): against the path relative to the
  root, anchored at the root; a match on a folder covers its contents. ``*``
  may cross slashes here (fnmatch's rule, looser than git's);
- ending in a slash (``logs/``): only folders match.
There is no ``!`` negation: an ignored folder is never entered, so nothing
inside it could be re-included anyway.

Besides the patterns, hidden files and folders (a name starting with ".") and
Python virtual environments (a folder holding ``pyvenv.cfg``, whatever its name)
are ignored unless switched off. The defaults also keep obvious secrets (SSH
keys, key stores) out of the index.
"""
from __future__ import annotations

import fnmatch
import os
import re
from functools import lru_cache
from pathlib import Path, PurePath
from typing import Iterable, NamedTuple, Sequence

DEFAULT_IGNORE_PATTERNS: tuple[str, ...] = (
    # version control and tool state
    ".git", ".hg", ".svn", ".bzr", "_darcs", ".jj",
    # dependencies and virtual environments
    "node_modules", "bower_components", ".venv", "venv", "virtualenv", "site-packages",
    "__pypackages__", ".tox", ".nox",
    # caches
    "__pycache__", ".cache", ".mypy_cache", ".pytest_cache", ".ruff_cache",
    ".hypothesis", ".gradle", ".parcel-cache", ".sass-cache", ".next", ".nuxt",
    ".turbo", ".terraform", "htmlcov",
    # build output
    "build", "dist", "target", "*.egg-info", "_build", "cmake-build-*",
    # editor and OS litter
    ".idea", ".vscode", ".DS_Store", "Thumbs.db", "desktop.ini", "*.swp", "*.swo", "*~",
    "*.tmp", "*.part", "*.crdownload", "~$*",
    # compiled files
    "*.pyc", "*.pyo", "*.o", "*.so", "*.class",
    # secrets: never worth indexing, always worth not copying
    "id_rsa*", "id_ed25519*", "id_ecdsa*", "*.pem", "*.key", "*.p12", "*.pfx",
    "*.kdbx", ".env", ".env.*", ".netrc", ".pgpass",
)


def is_ignored(path: Path, root: Path, patterns: Sequence[str] = DEFAULT_IGNORE_PATTERNS,
               *, ignore_hidden: bool = True, detect_venvs: bool = True) -> bool:
    """Whether ``path`` (inside ``root``) should be left out of a scan.

    The root itself is never ignored. Checking a file also checks every folder
    between it and the root, so callers need not have pruned the walk.
    Raises ``ValueError`` when ``path`` is not inside ``root``.
    """
    relative = PurePath(path).relative_to(root)
    parts = relative.parts
    if not parts:
        return False
    path_is_dir: bool | None = None  # looked up only if a folder-only pattern needs it
    matchers = _compiled(tuple(patterns))
    for depth, name in enumerate(parts):
        last = depth == len(parts) - 1
        if ignore_hidden and name.startswith(".") and name not in (".", ".."):
            return True
        if detect_venvs and (not last or _is_dir(Path(path))):
            if _is_file(Path(root).joinpath(*parts[:depth + 1]) / "pyvenv.cfg"):
                return True
        prefix = "/".join(parts[:depth + 1])
        if matchers.name.match(name) or matchers.path.match(prefix):
            return True
        if matchers.folder_name.match(name) or matchers.folder_path.match(prefix):
            if not last:  # every component above the last one is a folder
                return True
            if path_is_dir is None:
                path_is_dir = _is_dir(Path(path))
            if path_is_dir:
                return True
    return False


def _is_file(path: Path) -> bool:
    """``Path.is_file`` that answers False for what cannot be looked at.

    A folder the person cannot read raises ``PermissionError`` on a stat inside
    it; the scan reports that folder as unreadable, it must not stop here.
    """
    try:
        return path.is_file()
    except OSError:
        return False


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:
        return False


_NEVER = r"(?!)"


class _Matchers(NamedTuple):
    name: re.Pattern[str]         # patterns without a slash, any entry
    path: re.Pattern[str]         # patterns with a slash, any entry
    folder_name: re.Pattern[str]  # ending in "/": folders only
    folder_path: re.Pattern[str]


@lru_cache(maxsize=16)
def _compiled(patterns: tuple[str, ...]) -> _Matchers:
    """Each group of patterns as one regular expression (a scan checks every
    path against every pattern: one match per group instead of ~70 fnmatch calls)."""
    groups: tuple[list[str], list[str], list[str], list[str]] = ([], [], [], [])
    for pattern in patterns:
        core = pattern.rstrip("/")
        if not core:
            continue
        anchored = "/" in core
        group = (2 if pattern.endswith("/") else 0) + (1 if anchored else 0)
        groups[group].append(fnmatch.translate(core.lstrip("/") if anchored else core))
    # fnmatch compares os.path.normcase()d names: case-insensitive on Windows.
    flags = re.IGNORECASE if os.path.normcase("A") == "a" else 0
    return _Matchers(*(re.compile("|".join(g) or _NEVER, flags) for g in groups))


def load_patterns(text: str) -> tuple[str, ...]:
    """Patterns from an ignore file's text: one per line, ``#`` comments, blanks skipped."""
    return tuple(line.strip() for line in text.splitlines()
                 if line.strip() and not line.lstrip().startswith("#"))


def with_defaults(extra: Iterable[str]) -> tuple[str, ...]:
    """The default patterns followed by ``extra`` (a person's own additions)."""
    return DEFAULT_IGNORE_PATTERNS + tuple(p for p in extra if p not in DEFAULT_IGNORE_PATTERNS)
