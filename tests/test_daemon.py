"""`engram daemon` with the control channel: status, pause, resume, SIGTERM."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def start_daemon(data_dir: Path) -> subprocess.Popen:
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "settings.json").write_text(json.dumps({"screen_capture": False}))
    proc = subprocess.Popen([sys.executable, "-m", "app", "daemon"], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (data_dir / "run" / "control.key").exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "daemon did not start"
        time.sleep(0.1)
    return proc


def test_pause_resume_status_and_sigterm(cli, data_dir: Path) -> None:
    not_running = cli("pause", check=False)
    assert not_running.returncode == 3 and "not running" in not_running.stderr
    proc = start_daemon(data_dir)
    try:
        status = json.loads(cli("status", "--json").stdout)
        assert status["capture"]["paused"] is False
        paused = json.loads(cli("pause", "15m", "--json").stdout)
        assert paused["paused"] is True and paused["paused_until"]
        assert json.loads(cli("status", "--json").stdout)["capture"]["paused"] is True
        assert "Capture: capturing" in cli("resume").stdout
        bad = cli("pause", "soon", check=False)
        assert bad.returncode == 2 and "duration" in bad.stderr
        second = subprocess.run([sys.executable, "-m", "app", "daemon"], cwd=REPO,
                                capture_output=True, text=True, timeout=60)
        assert second.returncode != 0 and "already running" in second.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "stopped" in err
    assert not (data_dir / "run" / "control.sock").exists()
    assert not (data_dir / "run" / "control.key").exists()
    assert cli("status", "--json").returncode == 0
