"""core.keys: keyring path, passphrase fallback, key.json hygiene, passphrase change.

Keyring backends are chosen through the real mechanism (``keyring.set_keyring``);
the fakes below are unregistered from keyring's backend registry right after
definition so they can never be auto-selected in another test of this process.
Most tests lower the Argon2 cost for speed; ``test_real_argon2_parameters``
uses the shipped ones (measured 0.27-0.29 s per derivation on the 2-core box).
"""
from __future__ import annotations

import base64
import json
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import apsw
import keyring
import keyring.backend
import keyring.errors
import pytest
from keyring.backends import chainer, fail, null

from core import keys
from core.config import Paths, resolve_paths
from core.errors import BadInput, Cancelled, KeyUnavailable, UsageError, WrongPassphrase


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A secure-looking in-memory backend (priority 1, like a real OS keyring)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        del self.store[(service, username)]


class PlaintextKeyring(MemoryKeyring):
    """Named like keyrings.alt's file backend; high priority so only the name flags it."""

    priority = 5  # type: ignore[assignment]


class LowPriorityKeyring(MemoryKeyring):
    priority = 0.5  # type: ignore[assignment]


class LockedKeyring(keyring.backend.KeyringBackend):
    """What a locked Secret Service with no display does: every call fails."""

    priority = 5  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.InitError("Failed to unlock the collection!")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.InitError("Failed to unlock the collection!")

    def delete_password(self, service: str, username: str) -> None:
        raise keyring.errors.InitError("Failed to unlock the collection!")


class MixedChain(chainer.ChainerBackend):
    backends = [PlaintextKeyring(), MemoryKeyring()]  # plaintext first, as a chainer would write


class InsecureChain(chainer.ChainerBackend):
    backends = [PlaintextKeyring(), LowPriorityKeyring()]


class FlakyKeyring(MemoryKeyring):
    """Passes the probe, then refuses to store the real key (e.g. keyring locked meanwhile)."""

    def set_password(self, service: str, username: str, password: str) -> None:
        if username.startswith("db-key:"):
            raise keyring.errors.PasswordSetError("collection locked")
        super().set_password(service, username, password)


FAKES = (MemoryKeyring, FlakyKeyring, PlaintextKeyring, LowPriorityKeyring, LockedKeyring,
         MixedChain, InsecureChain)
for _fake in FAKES:
    keyring.backend.KeyringBackend._classes.discard(_fake)  # type: ignore[attr-defined]


SHIPPED_ARGON2 = dict(keys.ARGON2_PARAMS)


@pytest.fixture(autouse=True)
def _isolate(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(keys.PASSPHRASE_ENV, raising=False)
    fast = {"memory_kib": 1024, "time_cost": 1, "parallelism": 1}
    monkeypatch.setattr(keys, "ARGON2_PARAMS", fast)
    original = keyring.get_keyring()
    yield
    keyring.set_keyring(original)


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    return resolve_paths(tmp_path / "data")


@pytest.fixture
def memory_keyring() -> MemoryKeyring:
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    return backend


def make_db(path: Path, db_key: keys.DatabaseKey) -> None:
    con = apsw.Connection(str(path))
    con.execute(f"PRAGMA hexkey='{db_key.sqlite_hexkey()}'")
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE notes(body TEXT); INSERT INTO notes VALUES ('secret note')")
    con.close()


def read_db(path: Path, hexkey: str) -> list[tuple[str]]:
    con = apsw.Connection(str(path))
    try:
        con.execute(f"PRAGMA hexkey='{hexkey}'")
        return [tuple(row) for row in con.execute("SELECT body FROM notes")]
    finally:
        con.close()


def assert_no_key_in(path: Path, key: bytes) -> None:
    data = path.read_bytes()
    for form in (key, key.hex().encode(), key.hex().upper().encode(), base64.b64encode(key),
                 base64.urlsafe_b64encode(key), base64.b64encode(key).rstrip(b"=")):
        assert form not in data


# --- keyring path -------------------------------------------------------------------


def test_keyring_stores_and_loads_the_same_key(paths: Paths, memory_keyring: MemoryKeyring) -> None:
    created = keys.create_key(paths, ask=None)
    assert created.backend == "keyring" and len(created.key) == 32
    [(service, username)] = memory_keyring.store
    assert service == "engram" and username.startswith("db-key:")
    loaded = keys.load_key(paths, ask=None)
    assert loaded.key == created.key and loaded.backend == "keyring"
    assert keys.describe_backend(paths) == "OS keyring (test keys MemoryKeyring)"
    assert_no_key_in(paths.key_info_path, created.key)
    assert created.key.hex() not in repr(created)


def test_keyring_usernames_differ_per_data_dir(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    first = keys.create_key(resolve_paths(tmp_path / "a"), ask=None)
    second = keys.create_key(resolve_paths(tmp_path / "b"), ask=None)
    assert len(memory_keyring.store) == 2 and first.key != second.key


def test_vanished_keyring_entry_is_reported_and_nothing_is_overwritten(
    paths: Paths, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys.create_key(paths, ask=None)
    before = paths.key_info_path.read_bytes()
    memory_keyring.store.clear()
    monkeypatch.setenv(keys.PASSPHRASE_ENV, "would-be-fallback")  # must not be used either
    with pytest.raises(KeyUnavailable, match="missing from the OS keyring") as err:
        keys.load_key(paths, ask=lambda prompt, confirm: "x")
    assert "Unlock your keyring" in str(err.value)
    assert paths.key_info_path.read_bytes() == before and not memory_keyring.store


def test_keyring_unavailable_later_is_reported(paths: Paths, memory_keyring: MemoryKeyring) -> None:
    keys.create_key(paths, ask=None)
    keyring.set_keyring(LockedKeyring())
    with pytest.raises(KeyUnavailable, match="InitError"):
        keys.load_key(paths, ask=None)
    keyring.set_keyring(fail.Keyring())
    with pytest.raises(KeyUnavailable, match="unavailable"):
        keys.load_key(paths, ask=None)


def test_foreign_keyring_entry_is_rejected(paths: Paths, memory_keyring: MemoryKeyring) -> None:
    keys.create_key(paths, ask=None)
    [entry] = memory_keyring.store
    memory_keyring.store[entry] = bytes(32).hex()
    with pytest.raises(KeyUnavailable, match="not the key of this database"):
        keys.load_key(paths, ask=None)


def test_leftover_keyring_entry_is_never_overwritten(
    paths: Paths, memory_keyring: MemoryKeyring
) -> None:
    keys.create_key(paths, ask=None)
    [(entry, value)] = memory_keyring.store.items()
    paths.key_info_path.unlink()  # key.json lost, the key may be the only way into a database
    with pytest.raises(KeyUnavailable, match="already holds"):
        keys.create_key(paths, ask=None)
    assert memory_keyring.store == {entry: value} and not keys.key_exists(paths)


# --- detection of insecure or failing backends ---------------------------------------


@pytest.mark.parametrize(
    ("backend", "reason"),
    [
        (fail.Keyring(), "no OS keyring"),
        (null.Keyring(), "null backend"),
        (PlaintextKeyring(), "unencrypted"),
        (LowPriorityKeyring(), "priority 0.5"),
        (LockedKeyring(), "InitError"),
        (InsecureChain(), "unencrypted"),
    ],
)
def test_insecure_or_failing_backends_fall_back_to_passphrase(
    paths: Paths,
    monkeypatch: pytest.MonkeyPatch,
    backend: keyring.backend.KeyringBackend,
    reason: str,
) -> None:
    keyring.set_keyring(backend)
    usable, why = keys.secure_keyring_available()
    assert not usable and reason in why
    with pytest.raises(KeyUnavailable):
        keys.create_key(paths, ask=None, prefer="keyring")
    monkeypatch.setenv(keys.PASSPHRASE_ENV, "correct horse")
    created = keys.create_key(paths, ask=None)
    assert created.backend == "passphrase"
    assert keys.load_key(paths, ask=None).key == created.key
    for member in getattr(backend, "backends", [backend]):
        assert not getattr(member, "store", None)  # nothing written to insecure stores


def test_chainer_uses_its_secure_member_only(paths: Paths) -> None:
    chain = MixedChain()
    keyring.set_keyring(chain)
    assert keys.secure_keyring_available() == (True, "test keys MemoryKeyring")
    created = keys.create_key(paths, ask=None)
    plaintext, secure = chain.backends
    assert created.backend == "keyring" and not plaintext.store and len(secure.store) == 1


def test_machine_default_backend_is_detected() -> None:
    # No D-Bus session and no keyrings.alt here: keyring picks fail.Keyring.
    keyring.core.init_backend()
    usable, reason = keys.secure_keyring_available()
    if isinstance(keyring.get_keyring(), fail.Keyring):
        assert not usable and "no OS keyring" in reason


# --- passphrase path -----------------------------------------------------------------


def test_wrong_passphrase_gives_another_key_and_the_database_rejects_it(
    paths: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    keyring.set_keyring(fail.Keyring())
    monkeypatch.setenv(keys.PASSPHRASE_ENV, "right passphrase")
    right = keys.create_key(paths, ask=None)
    make_db(paths.db_path, right)
    kdf = json.loads(paths.key_info_path.read_text())["kdf"]
    wrong = keys._derive("wrong passphrase", kdf)
    assert wrong != right.key
    with pytest.raises(apsw.NotADBError):
        read_db(paths.db_path, wrong.hex())
    assert read_db(paths.db_path, right.sqlite_hexkey()) == [("secret note",)]
    monkeypatch.setenv(keys.PASSPHRASE_ENV, "wrong passphrase")
    with pytest.raises(WrongPassphrase, match="ENGRAM_PASSPHRASE") as err:
        keys.load_key(paths, ask=None)
    assert err.value.exit_code == 2


def test_ask_callback_confirms_on_create_and_retries_on_load(paths: Paths) -> None:
    keyring.set_keyring(fail.Keyring())
    calls: list[tuple[str, bool]] = []
    answers = iter(["a longer s3cret", "typo", "a longer s3cret"])

    def ask(prompt: str, confirm: bool) -> str | None:
        calls.append((prompt, confirm))
        return next(answers)

    created = keys.create_key(paths, ask)
    loaded = keys.load_key(paths, ask)
    assert loaded.key == created.key
    assert [c for _, c in calls] == [True, False, False] and "Wrong" in calls[2][0]
    with pytest.raises(WrongPassphrase):
        keys.load_key(paths, lambda prompt, confirm: "nope")
    with pytest.raises(Cancelled):
        keys.load_key(paths, lambda prompt, confirm: None)


def test_environment_wins_over_prompting(paths: Paths, monkeypatch: pytest.MonkeyPatch) -> None:
    keyring.set_keyring(fail.Keyring())
    monkeypatch.setenv(keys.PASSPHRASE_ENV, "from env")

    def ask(prompt: str, confirm: bool) -> str | None:
        raise AssertionError("must not prompt when ENGRAM_PASSPHRASE is set")

    assert keys.create_key(paths, ask).key == keys.load_key(paths, ask).key


def test_empty_passphrase_is_refused(paths: Paths, monkeypatch: pytest.MonkeyPatch) -> None:
    keyring.set_keyring(fail.Keyring())
    with pytest.raises(BadInput, match="empty"):
        keys.create_key(paths, lambda prompt, confirm: "")
    monkeypatch.setenv(keys.PASSPHRASE_ENV, "")
    with pytest.raises(BadInput, match="empty"):
        keys.create_key(paths, None)
    assert not keys.key_exists(paths)


def test_no_callback_and_no_env_says_what_to_do(paths: Paths) -> None:
    keyring.set_keyring(fail.Keyring())
    with pytest.raises(KeyUnavailable) as err:
        keys.create_key(paths, ask=None)
    message = str(err.value)
    assert "ENGRAM_PASSPHRASE" in message and "terminal" in message and "unlock" in message
    assert err.value.exit_code == 2 and not keys.key_exists(paths)


def test_key_file_holds_no_key_and_is_private(
    paths: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    keyring.set_keyring(fail.Keyring())
    monkeypatch.setenv(keys.PASSPHRASE_ENV, "correct horse battery staple")
    created = keys.create_key(paths, ask=None)
    assert_no_key_in(paths.key_info_path, created.key)
    info = json.loads(paths.key_info_path.read_text())
    assert info["format"] == 1 and info["backend"] == "passphrase"
    assert info["kdf"]["name"] == "argon2id" and len(base64.b64decode(info["kdf"]["salt"])) == 16
    assert stat.S_IMODE(paths.key_info_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(paths.data_dir.stat().st_mode) == 0o700
    assert [p.name for p in paths.data_dir.iterdir()] == ["key.json"]  # no staging leftovers
    assert keys.describe_backend(paths) == "passphrase (Argon2id, 1 MiB, t=1)"


def test_real_argon2_parameters(paths: Paths, monkeypatch: pytest.MonkeyPatch) -> None:
    assert SHIPPED_ARGON2 == {"memory_kib": 65536, "time_cost": 3, "parallelism": 1}
    monkeypatch.setattr(keys, "ARGON2_PARAMS", SHIPPED_ARGON2)
    keyring.set_keyring(fail.Keyring())
    monkeypatch.setenv(keys.PASSPHRASE_ENV, "correct horse")
    keys.create_key(paths, ask=None)
    started = time.perf_counter()
    loaded = keys.load_key(paths, ask=None)
    elapsed = time.perf_counter() - started  # 0.27-0.29 s measured; generous bound for busy CI
    assert loaded.detail == "passphrase (Argon2id, 64 MiB, t=3)" and 0.02 < elapsed < 5


def test_create_refuses_when_a_key_or_database_exists(
    paths: Paths, memory_keyring: MemoryKeyring
) -> None:
    keys.create_key(paths, ask=None)
    with pytest.raises(UsageError):
        keys.create_key(paths, ask=None)
    paths.key_info_path.unlink()
    memory_keyring.store.clear()
    paths.db_path.write_bytes(b"encrypted pages")
    with pytest.raises(KeyUnavailable, match="key.json"):
        keys.create_key(paths, ask=None)


# --- passphrase change ---------------------------------------------------------------


def test_passphrase_change_commits_only_when_asked(
    paths: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    keyring.set_keyring(fail.Keyring())
    monkeypatch.setenv(keys.PASSPHRASE_ENV, "old passphrase")
    old = keys.create_key(paths, ask=None)
    make_db(paths.db_path, old)
    before = paths.key_info_path.read_bytes()

    new, commit = keys.new_passphrase_key(paths, "new passphrase")
    assert new.key != old.key
    assert paths.key_info_path.read_bytes() == before  # not committed: old setup still works
    assert keys.load_key(paths, ask=None).key == old.key

    con = apsw.Connection(str(paths.db_path))
    con.execute(f"PRAGMA hexkey='{old.sqlite_hexkey()}'")
    con.execute(f"PRAGMA hexrekey='{new.sqlite_hexkey()}'")
    con.close()
    commit()
    monkeypatch.setenv(keys.PASSPHRASE_ENV, "new passphrase")
    loaded = keys.load_key(paths, ask=None)
    assert loaded.key == new.key
    assert read_db(paths.db_path, loaded.sqlite_hexkey()) == [("secret note",)]
    assert_no_key_in(paths.key_info_path, new.key)
    with pytest.raises(BadInput):
        keys.new_passphrase_key(paths, "")


def test_moving_from_keyring_to_passphrase_removes_the_entry(
    paths: Paths, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys.create_key(paths, ask=None)
    new, commit = keys.new_passphrase_key(paths, "now a passphrase")
    assert len(memory_keyring.store) == 1
    commit()
    assert not memory_keyring.store
    monkeypatch.setenv(keys.PASSPHRASE_ENV, "now a passphrase")
    assert keys.load_key(paths, ask=None).key == new.key


# --- robustness ----------------------------------------------------------------------


def test_failed_keyring_store_leaves_no_key_file(paths: Paths) -> None:
    keyring.set_keyring(FlakyKeyring())
    with pytest.raises(KeyUnavailable, match="PasswordSetError") as err:
        keys.create_key(paths, ask=None)
    assert "collection locked" not in str(err.value)  # backend messages are not echoed
    assert not keys.key_exists(paths) and list(paths.data_dir.iterdir()) == []


def test_second_creator_never_overwrites_key_file(
    paths: Paths, memory_keyring: MemoryKeyring
) -> None:
    keys.create_key(paths, ask=None)
    before = paths.key_info_path.read_bytes()
    with pytest.raises(UsageError, match="Another Engram process"):
        keys._publish_new(paths, {"format": 1, "backend": "passphrase"})
    assert paths.key_info_path.read_bytes() == before


@pytest.mark.parametrize(
    "content",
    [
        b"not json",
        b'{"format": 99, "backend": "keyring"}',
        b'{"format": 1, "backend": "passphrase", "check": "x", "kdf": {"name": "argon2id",'
        b' "version": 19, "memory_kib": 1073741824, "time_cost": 3, "parallelism": 1,'
        b' "salt": "AAAAAAAAAAAAAAAAAAAAAA=="}}',
    ],
)
def test_damaged_key_file_is_reported(paths: Paths, content: bytes) -> None:
    paths.data_dir.mkdir(parents=True)
    paths.key_info_path.write_bytes(content)
    with pytest.raises(KeyUnavailable):
        keys.load_key(paths, ask=lambda prompt, confirm: "anything")
    assert keys.describe_backend(paths).startswith("unreadable key file")


def test_passphrase_is_unicode_normalized(paths: Paths, monkeypatch: pytest.MonkeyPatch) -> None:
    keyring.set_keyring(fail.Keyring())
    monkeypatch.setenv(keys.PASSPHRASE_ENV, "caf\u00e9")
    created = keys.create_key(paths, ask=None)
    monkeypatch.setenv(keys.PASSPHRASE_ENV, "cafe\u0301")
    assert keys.load_key(paths, ask=None).key == created.key
