"""Resumable, verified downloads of model files.

The bytes go to ``<partial dir>/<file>.part``; a retry resumes with an HTTP
``Range`` request. Only a file whose SHA-256 matches the catalog is moved (one
atomic rename, same filesystem) into the models folder, so the models folder
never holds a half-written or unverified model. What stays behind on failure:

* no connection at all (no network, DNS failure, refused): nothing — the
  ``.part`` file is created only once the server starts sending;
* the connection broke mid-way, or the person cancelled: the ``.part`` in the
  separate partial folder, so the next pull resumes instead of starting over;
* a checksum mismatch: nothing (the bad bytes are deleted).

Name resolution is bounded separately: urllib's timeout does not cover DNS,
which on a machine without network can hang for a long time.
"""
from __future__ import annotations

import concurrent.futures
import hashlib
import http.client
import os
import socket
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from core.errors import Cancelled, ModelError, NetworkError
from core.progress import Cancel, Progress, ProgressFn

CHUNK = 1 << 20
CONNECT_TIMEOUT = 10.0  # seconds for DNS and for connect; also the per-read stall limit
USER_AGENT = "engram-model-download/1"
_RETRY_HINT = "Check your internet connection and run the command again."


@dataclass(frozen=True)
class Download:
    """What to fetch and what it must hash to."""

    url: str
    sha256: str
    size: int | None
    label: str  # shown in progress and messages


def _resolve(host: str, port: int, timeout: float) -> None:
    """Fail fast when the name cannot be resolved (no network, no DNS)."""
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        pool.submit(socket.getaddrinfo, host, port).result(timeout)
    except concurrent.futures.TimeoutError:
        raise NetworkError(f"Could not look up {host} within {timeout:.0f} s: no network?",
                           hint=_RETRY_HINT) from None
    except OSError as exc:
        raise NetworkError(f"Could not look up {host}: {exc.strerror or exc}. No network?",
                           hint=_RETRY_HINT) from None
    finally:
        pool.shutdown(wait=False)  # a stuck lookup thread must not hold the caller


def _hash_existing(path: Path, h: "hashlib._Hash", cancel: Cancel | None) -> int:
    done = 0
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            if cancel is not None and cancel.cancelled:
                raise Cancelled("Download cancelled.")
            h.update(chunk)
            done += len(chunk)
    return done


def _open(url: str, offset: int, timeout: float) -> "urllib.response.addinfourl":
    req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    if offset:
        req.add_header("Range", f"bytes={offset}-")
    return urllib.request.urlopen(req, timeout=timeout)  # noqa: S310 - http(s) only, checked


def fetch(d: Download, part: Path, dest: Path, *, progress: ProgressFn | None = None,
          cancel: Cancel | None = None, timeout: float = CONNECT_TIMEOUT,
          validate: Callable[[Path], object] | None = None) -> Path:
    """Download ``d`` into ``part`` (resuming), verify it, and move it to ``dest``.

    ``validate(part)`` runs after the checksum and before the move; if it
    raises, the file is deleted. Raises ``NetworkError`` (connection problems;
    resumable), ``ModelError`` (checksum or size mismatch; nothing kept) or
    ``Cancelled`` (resumable).
    """
    parsed = urllib.parse.urlsplit(d.url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ModelError(f"Cannot download {d.label}: unsupported URL {d.url!r}.")
    _resolve(parsed.hostname, parsed.port or (443 if parsed.scheme == "https" else 80), timeout)

    h = hashlib.sha256()
    offset = _hash_existing(part, h, cancel) if part.exists() else 0
    if d.size is not None and offset > d.size:  # not ours, or the file changed upstream
        part.unlink()
        h, offset = hashlib.sha256(), 0
    total = d.size
    try:
        if d.size is None or offset < d.size:
            resp = _open(d.url, offset, timeout)
            with resp:
                if offset and resp.status != 206:  # server ignored Range: start over
                    h, offset = hashlib.sha256(), 0
                length = resp.headers.get("Content-Length")
                if total is None and length is not None and length.isdigit():
                    total = offset + int(length)
                part.parent.mkdir(parents=True, exist_ok=True)
                with part.open("ab" if offset else "wb") as out:
                    done = offset
                    if progress:
                        progress(Progress(done, total, d.label))
                    while chunk := resp.read(CHUNK):
                        out.write(chunk)
                        h.update(chunk)
                        done += len(chunk)
                        if progress:
                            progress(Progress(done, total, d.label))
                        if cancel is not None and cancel.cancelled:
                            raise Cancelled(f"Download of {d.label} paused at "
                                            f"{done * 100 // max(total or done, 1)}%; "
                                            "pull again to resume.")
                    out.flush()
                    os.fsync(out.fileno())
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset > 0:
            pass  # "nothing after your offset": we may already have every byte; verify below
        else:
            _drop_if_empty(part)
            raise NetworkError(f"The server refused the download of {d.label}: HTTP {exc.code} "
                               f"{exc.reason}.", hint=f"URL: {d.url}") from None
    except (urllib.error.URLError, OSError, TimeoutError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", None) or exc
        if isinstance(exc, http.client.IncompleteRead):
            reason = "the connection was closed before the file was complete"
        _drop_if_empty(part)
        kept = part.stat().st_size if part.exists() else 0
        tail = (f" {kept / 1e6:.0f} MB are kept; run the same command to resume."
                if kept else "")
        raise NetworkError(f"Could not download {d.label}: {reason}.{tail}",
                           hint="Check your internet connection and try again.") from None
    have = part.stat().st_size if part.exists() else 0
    if d.size is not None and have != d.size:
        if have < d.size:
            raise NetworkError(f"The download of {d.label} ended early ({have:,} of {d.size:,} "
                               "bytes); run the same command to resume.")
        part.unlink(missing_ok=True)
        raise ModelError(f"The server sent {have:,} bytes for {d.label}, expected {d.size:,}; "
                         "the file was discarded.")
    digest = h.hexdigest()
    if digest.lower() != d.sha256.lower():
        part.unlink(missing_ok=True)
        raise ModelError(f"The downloaded {d.label} does not match its published checksum "
                         f"(SHA-256 {digest[:16]}…, expected {d.sha256[:16]}…); it was deleted "
                         "and nothing was installed.",
                         hint="The server may have sent a different or damaged file; "
                              "try again later.")
    if validate is not None:
        try:
            validate(part)
        except BaseException:
            part.unlink(missing_ok=True)
            raise
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.replace(part, dest)  # same filesystem: the model appears complete or not at all
    return dest


def _drop_if_empty(part: Path) -> None:
    try:
        if part.exists() and part.stat().st_size == 0:
            part.unlink()
    except OSError:
        pass
