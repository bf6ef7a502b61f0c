"""The database key: random in the OS keyring, or derived from a passphrase.

SQLite3 Multiple Ciphers encrypts the whole database with a 32-byte key. Where a
secure OS keyring works (Secret Service, Keychain, Windows Credential Locker) the
key is random and kept there (service ``engram``). Otherwise (no D-Bus, a locked
keyring without a display, only an insecure backend such as keyrings.alt's
``PlaintextKeyring``) it is derived with Argon2id from a passphrase: from
``ENGRAM_PASSPHRASE`` if set (headless use), else from the ``ask`` callback.

``<data dir>/key.json`` (0600, atomic) records the backend, a format version and,
for a passphrase, the KDF name, parameters and salt; never the key. It also holds a
check value, HMAC-SHA256(key, label) cut to 16 bytes: one-way, so it reveals nothing
about the key, and testing a guessed passphrase against it costs the same Argon2 run
as testing it against the database. It lets ``load_key`` reject a wrong passphrase
(and ask again) before the database is touched, so a typo can never become the key
of a fresh database, and it catches a keyring entry that belongs to another one.

API: ``DatabaseKey(key, backend, detail).sqlite_hexkey()``; ``key_exists(paths)``;
``create_key(paths, ask, prefer="auto"|"keyring"|"passphrase")``; ``load_key(paths,
ask)``; ``new_passphrase_key(paths, passphrase) -> (key, commit)`` for a passphrase
change; ``describe_backend(paths)`` (never unlocks); ``secure_keyring_available()``.
``ask(prompt, confirm)`` returns the passphrase, or None if the person cancelled;
with ``confirm=True`` the callback asks twice and returns only a matching pair.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import keyring
from argon2.low_level import ARGON2_VERSION, Type, hash_secret_raw
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail, null

from core.config import Paths, ensure_private_dir, write_private_file
from core.errors import BadInput, Cancelled, KeyUnavailable, UsageError, WrongPassphrase

log = logging.getLogger(__name__)

Ask = Callable[[str, bool], str | None]

FORMAT = 1
SERVICE = "engram"
PASSPHRASE_ENV = "ENGRAM_PASSPHRASE"
KEY_LEN = 32
# Measured on the busy 2-core build box: 64 MiB, t=3, p=1 takes 0.27-0.29 s (t=2: 0.20 s,
# t=4: 0.33-0.38 s, 128 MiB t=2: 0.44 s). 64 MiB/t=3 is RFC 9106's second recommended
# profile; p=1 because on a 2-core laptop the other core is busy capturing.
ARGON2_PARAMS: dict[str, int] = {"memory_kib": 64 * 1024, "time_cost": 3, "parallelism": 1}
_CHECK_LABEL = b"engram/key-check/v1"
_ASK_ATTEMPTS = 3
_UNLOCK_HINT = ("Unlock your keyring (log in to the desktop session) and try again. Engram did "
                "not create a new key: that would make the existing database unreadable.")


@dataclass(frozen=True)
class DatabaseKey:
    """The unlocked database key. ``repr`` never shows the key bytes."""

    key: bytes = field(repr=False)
    backend: str  # "keyring" or "passphrase"
    detail: str  # e.g. "OS keyring (SecretService Keyring)", "passphrase (Argon2id, 64 MiB, t=3)"

    def __post_init__(self) -> None:
        if len(self.key) != KEY_LEN:
            raise ValueError("a database key must be 32 bytes")

    def sqlite_hexkey(self) -> str:
        """The key as hex, for ``PRAGMA hexkey='...'`` (and ``hexrekey``)."""
        return self.key.hex()


def key_exists(paths: Paths) -> bool:
    """True when this data dir already has a key (key.json is present)."""
    return paths.key_info_path.exists()


def secure_keyring_available() -> tuple[bool, str]:
    """Whether a secure OS keyring works now: (usable, backend name or why not).

    Works = a set/get/delete round trip of a random probe secret succeeds. With a
    locked keyring on a desktop this may show the system's unlock prompt.
    """
    backend, reason = _secure_backend()
    if backend is None:
        return False, reason
    user, value = f"probe:{secrets.token_hex(8)}", secrets.token_hex(16)
    try:
        backend.set_password(SERVICE, user, value)
        ok = backend.get_password(SERVICE, user) == value
        backend.delete_password(SERVICE, user)
    except Exception as exc:  # D-Bus errors, InitError, KeyringLocked...: all mean "not usable"
        return False, f"{reason} failed: {type(exc).__name__}: {exc}"
    return (True, reason) if ok else (False, f"{reason} did not return what it stored")


def create_key(paths: Paths, ask: Ask | None, *, prefer: str = "auto") -> DatabaseKey:
    """Create the key of a new data dir and record it in key.json.

    ``prefer``: "auto" (keyring if secure and working, else passphrase), "keyring"
    (KeyUnavailable if it cannot be used) or "passphrase". Refuses when key.json or
    the database exists already: a new key would make existing data unreadable.
    """
    if prefer not in ("auto", "keyring", "passphrase"):
        raise UsageError(f"Unknown key backend {prefer!r}; use auto, keyring or passphrase.")
    if key_exists(paths):
        raise UsageError(f"A database key already exists for {paths.data_dir}.")
    if paths.db_path.exists():
        raise KeyUnavailable(f"The database {paths.db_path} exists but its key.json is missing.",
                             hint="Restore key.json from a backup; Engram will not create a new "
                             "key for existing data.")
    ensure_private_dir(paths.data_dir)
    usable, reason = secure_keyring_available() if prefer != "passphrase" else (False, "")
    if usable:
        return _create_keyring_key(paths)
    if prefer == "keyring":
        raise KeyUnavailable(f"The OS keyring cannot hold the database key: {reason}.",
                             hint="Unlock the keyring, or choose a passphrase instead.")
    why = f"No usable OS keyring ({reason}), so the key comes from a passphrase." if reason else ""
    passphrase = _get_passphrase(ask, "Choose a passphrase for Engram's encrypted database",
                                 confirm=True, why=why)
    db_key, info = _derive_new(passphrase)
    _publish_new(paths, info)
    return db_key


def load_key(paths: Paths, ask: Ask | None) -> DatabaseKey:
    """Unlock the existing key that key.json describes; never creates one.

    Raises KeyUnavailable (keyring locked or entry gone, no way to ask),
    WrongPassphrase, Cancelled, or BadInput (empty passphrase).
    """
    return unlock_record(_read_info(paths), ask, where=f"the database in {paths.data_dir}")


def key_record(paths: Paths) -> dict[str, Any]:
    """The key record of a data dir (key.json): backend, KDF parameters, salt and the
    one-way check value. Never the key; safe to keep beside an encrypted backup."""
    return _read_info(paths)


def unlock_record(info: dict[str, Any], ask: Ask | None, *, where: str) -> DatabaseKey:
    """Unlock the key a key record describes (``where`` names it in messages)."""
    info = _validated(info, where)
    if info["backend"] == "keyring":
        return _load_keyring_key(info)
    from_env = PASSPHRASE_ENV in os.environ
    prompt = "Passphrase for Engram's encrypted database"
    for _ in range(1 if from_env else _ASK_ATTEMPTS):
        key = _derive(_get_passphrase(ask, prompt, confirm=False), info["kdf"])
        if _matches(key, info):
            return DatabaseKey(key, "passphrase", _passphrase_detail(info["kdf"]))
        prompt = "Wrong passphrase, try again"
    source = PASSPHRASE_ENV if from_env else "The passphrase"
    raise WrongPassphrase(f"{source} does not unlock {where}.", hint="Nothing was changed.")


def install_key(paths: Paths, key: DatabaseKey, info: dict[str, Any]) -> None:
    """Give a new data dir an existing key (a restored backup keeps its key).

    A passphrase key needs only its record (salt, parameters, check). A keyring
    key is stored again under this data dir's own keyring entry, so a later
    passphrase change in the original data dir cannot take it away.
    """
    if not _matches(key.key, info):
        raise KeyUnavailable("The key does not match its key record.")
    if info["backend"] != "keyring":
        _publish_new(paths, info)
        return
    backend, name = _secure_backend()
    if backend is None:
        raise KeyUnavailable(f"The backup's key lives in an OS keyring, and none is usable "
                             f"here: {name}.", hint=_UNLOCK_HINT)
    username = _keyring_username(paths)
    record = {**info, "keyring": {"service": SERVICE, "username": username,
                                  "backend_name": name}}
    try:
        existing = backend.get_password(SERVICE, username)
        if existing is not None and existing != key.key.hex():
            raise KeyUnavailable(f"The keyring already holds another database key "
                                 f"({SERVICE} / {username}).")
        _publish_new(paths, record)
        if existing is None:
            backend.set_password(SERVICE, username, key.key.hex())
    except KeyUnavailable:
        raise
    except Exception as exc:
        paths.key_info_path.unlink(missing_ok=True)
        raise KeyUnavailable(f"Could not store the key in {name}: {type(exc).__name__}.") from None


def new_passphrase_key(paths: Paths, passphrase: str) -> tuple[DatabaseKey, Callable[[], None]]:
    """Derive a new key (fresh salt) for a passphrase change, without saving anything.

    Rekey the database with the returned key, then call ``commit()``: it writes the
    new key.json and removes the old keyring entry, if any. If the rekey fails, don't
    call it, and the old setup keeps working.
    """
    old = _read_info(paths)
    db_key, info = _derive_new(_checked(passphrase))

    def commit() -> None:
        write_private_file(paths.key_info_path, json.dumps(info, indent=2).encode())
        if old["backend"] != "keyring":
            return
        try:
            backend, _ = _secure_backend()
            if backend is not None:
                backend.delete_password(old["keyring"]["service"], old["keyring"]["username"])
        except Exception as exc:
            # The change itself succeeded; a stale entry only opens pre-change backups.
            log.warning("Could not remove the old key from the keyring: %s", type(exc).__name__)

    return db_key, commit


def describe_backend(paths: Paths) -> str:
    """One line for ``engram status``: where the key lives. Never unlocks anything."""
    if not key_exists(paths):
        return "no key yet"
    try:
        info = _read_info(paths)
    except KeyUnavailable as exc:
        return f"unreadable key file ({exc.message})"
    if info["backend"] == "keyring":
        return f"OS keyring ({info['keyring'].get('backend_name', 'unknown backend')})"
    return _passphrase_detail(info["kdf"])


# Keyring -----------------------------------------------------------------------------
def _name(backend: KeyringBackend) -> str:
    return str(getattr(type(backend), "name", type(backend).__name__))


def _insecurity(backend: KeyringBackend) -> str | None:
    """Why ``backend`` must not hold the key, or None if it may."""
    cls = type(backend)
    if isinstance(backend, fail.Keyring):
        return "no OS keyring backend is available"
    if isinstance(backend, null.Keyring):
        return "the keyring is disabled (null backend)"
    if cls.__module__.startswith("keyrings.alt") or "Plaintext" in cls.__name__:
        return f"{_name(backend)} stores secrets unencrypted"
    try:
        priority = float(cls.priority)
    except Exception as exc:  # a backend signals "not viable here" by raising
        return f"{_name(backend)} is not viable: {exc}"
    return None if priority >= 1 else f"{_name(backend)} is not recommended (priority {priority:g})"


def _secure_backend() -> tuple[KeyringBackend | None, str]:
    """The backend to keep the key in and its name, or (None, why not).

    A chainer writes to its first member, which may be plaintext; we pick its best
    secure member and talk to it directly, so the key can never land in another.
    """
    try:
        current = keyring.get_keyring()
    except Exception as exc:
        return None, f"the keyring could not start: {type(exc).__name__}: {exc}"
    members = current.backends if isinstance(current, chainer.ChainerBackend) else [current]
    reasons = [_insecurity(member) for member in members]
    for member, reason in zip(members, reasons):
        if reason is None:
            return member, _name(member)
    return None, "; ".join(r for r in reasons if r) or "no OS keyring backend is available"


def _create_keyring_key(paths: Paths) -> DatabaseKey:
    backend, name = _secure_backend()
    if backend is None:
        raise KeyUnavailable(f"The OS keyring cannot hold the database key: {name}.")
    username = _keyring_username(paths)
    where = f"{SERVICE} / {username} in {name}"
    try:
        leftover = backend.get_password(SERVICE, username)
    except Exception as exc:
        raise KeyUnavailable(f"Reading {where} failed: {type(exc).__name__}.") from None
    if leftover is not None:  # maybe the only key of a database whose key.json was lost
        raise KeyUnavailable(f"The keyring already holds a database key ({where}).",
                             hint="Restore key.json, or delete that entry if its database is gone.")
    key = secrets.token_bytes(KEY_LEN)
    info = {"format": FORMAT, "backend": "keyring", "check": _check(key),
            "keyring": {"service": SERVICE, "username": username, "backend_name": name}}
    _publish_new(paths, info)  # first: its exclusive creation settles two racing first runs
    try:
        backend.set_password(SERVICE, username, key.hex())
    except Exception as exc:
        paths.key_info_path.unlink(missing_ok=True)
        # Only the type: a backend's message could echo what it was given.
        raise KeyUnavailable(f"Could not store the key in {name}: {type(exc).__name__}.") from None
    return DatabaseKey(key, "keyring", f"OS keyring ({name})")


def _keyring_username(paths: Paths) -> str:
    resolved = str(paths.data_dir.resolve()).encode()
    return f"db-key:{hashlib.sha256(resolved).hexdigest()[:16]}"


def _load_keyring_key(info: dict[str, Any]) -> DatabaseKey:
    backend, name = _secure_backend()
    if backend is None:
        raise KeyUnavailable(f"The database key is in the OS keyring, which is unavailable: "
                             f"{name}.", hint=_UNLOCK_HINT)
    service, username = info["keyring"]["service"], info["keyring"]["username"]
    where = f"{service} / {username} in {name}"
    try:
        stored = backend.get_password(service, username)
    except Exception as exc:
        raise KeyUnavailable(f"Reading the key from {where} failed: {type(exc).__name__}.",
                             hint=_UNLOCK_HINT) from None
    if stored is None:
        raise KeyUnavailable(f"The database key is missing from the OS keyring ({where}).",
                             hint=_UNLOCK_HINT)
    try:
        key = bytes.fromhex(stored)
    except ValueError:
        key = b""
    if len(key) != KEY_LEN or not _matches(key, info):
        raise KeyUnavailable(f"The keyring entry {where} is not the key of this database.")
    return DatabaseKey(key, "keyring", f"OS keyring ({name})")


# Passphrase --------------------------------------------------------------------------
MIN_PASSPHRASE_CHARS = 10
MIN_DISTINCT_CHARS = 5
# Long enough but guessed first by anyone who tries.
_COMMON = frozenset({"password123", "passw0rd123", "1234567890", "0123456789", "qwertyuiop",
                     "asdfghjkl;", "iloveyou123", "letmein1234", "password1234"})


def passphrase_problem(passphrase: str) -> str | None:
    """Why ``passphrase`` is too weak to choose for the database, or None when it will do.

    The whole database is only as strong as this: at least ``MIN_PASSPHRASE_CHARS``
    characters, ``MIN_DISTINCT_CHARS`` different ones, and not a well-known password.
    """
    text = unicodedata.normalize("NFC", passphrase).strip()
    advice = ("A few unrelated words (“lamp river cobalt seven”) are easy to remember and "
              "hard to guess.")
    if len(text) < MIN_PASSPHRASE_CHARS:
        return (f"Use at least {MIN_PASSPHRASE_CHARS} characters (this one has {len(text)}). "
                + advice)
    if len(set(text.casefold())) < MIN_DISTINCT_CHARS or text.casefold() in _COMMON:
        return "That passphrase is too easy to guess. " + advice
    return None


def passphrase_unlocks(paths: Paths, passphrase: str) -> bool:
    """Whether ``passphrase`` is the one the data dir's key comes from (Argon2, ≈0.3 s).

    False for a keyring key (there is no passphrase to match)."""
    info = _validated(_read_info(paths), f"the database in {paths.data_dir}")
    if info["backend"] != "passphrase" or not passphrase:
        return False
    return _matches(_derive(_checked(passphrase), info["kdf"]), info)


def _checked(passphrase: str) -> str:
    if not passphrase:
        raise BadInput("The passphrase is empty.", hint="Choose a non-empty passphrase.")
    # The same passphrase typed through different input methods must give the same key.
    return unicodedata.normalize("NFC", passphrase)


def _get_passphrase(ask: Ask | None, prompt: str, *, confirm: bool, why: str = "") -> str:
    env = os.environ.get(PASSPHRASE_ENV)
    if env is not None:  # the environment wins: headless runs must never block on a prompt
        return _checked(env)
    if ask is None:
        unlock = " or unlock the OS keyring and retry" if why else ""
        raise KeyUnavailable(f"{why} No passphrase was given and Engram cannot ask here.".strip(),
                             hint=f"Set {PASSPHRASE_ENV} (headless use), or run Engram in a "
                             f"terminal or the desktop app so it can ask{unlock}.")
    answer = ask(prompt, confirm)
    if answer is None:
        raise Cancelled("Unlocking the database was cancelled.")
    problem = passphrase_problem(answer) if confirm and answer else None
    if problem:  # a person choosing one now (the environment is a headless admin's choice)
        raise BadInput("That passphrase is too weak.", hint=problem)
    return _checked(answer)


def _derive(passphrase: str, kdf: dict[str, Any]) -> bytes:
    return hash_secret_raw(
        secret=passphrase.encode("utf-8"), salt=base64.b64decode(kdf["salt"]),
        time_cost=kdf["time_cost"], memory_cost=kdf["memory_kib"],
        parallelism=kdf["parallelism"], hash_len=KEY_LEN, type=Type.ID, version=kdf["version"],
    )


def _derive_new(passphrase: str) -> tuple[DatabaseKey, dict[str, Any]]:
    kdf = {"name": "argon2id", "version": ARGON2_VERSION, **ARGON2_PARAMS,
           "salt": base64.b64encode(secrets.token_bytes(16)).decode(), "normalize": "NFC"}
    key = _derive(passphrase, kdf)
    info = {"format": FORMAT, "backend": "passphrase", "kdf": kdf, "check": _check(key)}
    return DatabaseKey(key, "passphrase", _passphrase_detail(kdf)), info


def _passphrase_detail(kdf: dict[str, Any]) -> str:
    return f"passphrase (Argon2id, {kdf['memory_kib'] // 1024} MiB, t={kdf['time_cost']})"


# key.json ----------------------------------------------------------------------------
def _check(key: bytes) -> str:
    return base64.b64encode(hmac.new(key, _CHECK_LABEL, hashlib.sha256).digest()[:16]).decode()


def _matches(key: bytes, info: dict[str, Any]) -> bool:
    return hmac.compare_digest(_check(key), info["check"])


def _publish_new(paths: Paths, info: dict[str, Any]) -> None:
    """Create key.json atomically, failing if another process created it first."""
    target = paths.key_info_path
    staged = target.with_name(f".{target.name}.{os.getpid()}.new")
    write_private_file(staged, json.dumps(info, indent=2).encode())
    try:
        os.link(staged, target)  # atomic and, unlike os.replace, never overwrites
    except FileExistsError:
        raise UsageError(f"Another Engram process just created the key for {paths.data_dir}.",
                         hint="Run the command again.") from None
    except OSError:  # a file system without hard links
        if target.exists():
            raise
        os.replace(staged, target)
    finally:
        staged.unlink(missing_ok=True)


def _read_info(paths: Paths) -> dict[str, Any]:
    path = paths.key_info_path
    try:
        info = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise KeyUnavailable(f"No database key is set up for {paths.data_dir}.") from None
    except (OSError, ValueError) as exc:
        raise KeyUnavailable(f"The key file {path} is unreadable: {exc}.") from None
    return _validated(info, f"The key file {path}")


def _validated(info: Any, what: str) -> dict[str, Any]:
    """``info`` if it is a well-formed key record, else KeyUnavailable naming ``what``."""
    try:
        if info["format"] > FORMAT:
            raise KeyUnavailable(f"{what} was written by a newer Engram.")
        if info["backend"] == "keyring":
            ok = all(isinstance(info["keyring"][k], str) for k in ("service", "username"))
        else:  # bounds, so a tampered file cannot make us allocate gigabytes or spin for hours
            kdf = info["kdf"]
            ok = (info["backend"] == "passphrase" and kdf["name"] == "argon2id"
                  and 8 <= kdf["memory_kib"] <= 4 * 1024 * 1024 and 1 <= kdf["time_cost"] <= 64
                  and 1 <= kdf["parallelism"] <= 64 and kdf["version"] in (0x10, 0x13)
                  and len(base64.b64decode(kdf["salt"])) >= 16)
        ok = ok and isinstance(info["check"], str)
    except (KeyError, TypeError, ValueError):
        ok = False
    if not ok:
        raise KeyUnavailable(f"{what} is damaged or not an Engram key record.")
    return info
