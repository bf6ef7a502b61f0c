"""Smoke test of a built Engram on any OS (stdlib only; run by build.yml after the build).

    python installers/ci/smoke.py PATH/TO/engram[.exe]

With a fresh data folder and home: `--version`, `status`, `add` + `search` (a hit by
meaning), `about` (llama.cpp loads and names its CPU code), then the window opens on
Qt's offscreen platform and reports "window-shown".
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


def main(program: str) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="engram-smoke-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update(ENGRAM_HOME=str(tmp / "data"), ENGRAM_PASSPHRASE="smoke test passphrase",
               HOME=str(tmp / "home"), USERPROFILE=str(tmp / "home"),
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    (tmp / "home").mkdir()

    def run(*args: str) -> str:
        started = time.monotonic()
        done = subprocess.run([program, *args], env=env, cwd=tmp, capture_output=True,
                              text=True, timeout=300)
        print(f"$ engram {' '.join(args)}  ({time.monotonic() - started:.1f} s)\n{done.stdout}"
              f"{done.stderr}", flush=True)
        if done.returncode != 0:
            raise SystemExit(f"engram {' '.join(args)} failed with {done.returncode}")
        return done.stdout

    assert run("--version").startswith("engram ")
    run("status")
    run("add", "Ana suggested I read The Name of the Wind")
    dentist = run("add", "The dentist appointment moved to Thursday afternoon").strip()
    hits = json.loads(run("search", "tooth doctor visit", "--json"))
    assert str(hits["results"][0]["id"]) == dentist, hits
    about = json.loads(run("about", "--json"))
    assert "error" not in about["llama_cpp"], about["llama_cpp"]

    genv = dict(env, QT_QPA_PLATFORM="offscreen", ENGRAM_GUI_REPORT="1", ENGRAM_NO_CAPTURE="1")
    started = time.monotonic()
    proc = subprocess.Popen([program], env=genv, cwd=tmp, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True).start()
    try:
        while not any("window-shown" in line for line in lines):
            if proc.poll() is not None or time.monotonic() - started > 120:
                raise SystemExit("the window did not open:\n" + "".join(lines))
            time.sleep(0.05)
        print(f"window shown after {time.monotonic() - started:.1f} s (offscreen)")
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
