"""Running the real `engram` command for the benchmarks, in a fresh home of its own."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def fresh_home(tmp_path: Path, models_dir: Path) -> dict[str, str]:
    """An empty Engram home (``ENGRAM_BENCH_THREADS`` sets its model threads); the
    environment that points the command at it."""
    home = tmp_path / "home"
    home.mkdir()
    threads = os.environ.get("ENGRAM_BENCH_THREADS")
    if threads:
        (home / "settings.json").write_text(json.dumps({"model_threads": int(threads)}))
    return {**os.environ, "ENGRAM_HOME": str(home), "ENGRAM_MODELS": str(models_dir),
            "ENGRAM_PASSPHRASE": "benchmark passphrase"}


def engram(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "app", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=3600)
    assert proc.returncode == 0, proc.stderr
    return proc
