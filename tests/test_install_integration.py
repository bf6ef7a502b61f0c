"""Start at login, `engram --version` and `engram about` from a source checkout.

The packaged builds themselves are tested in test_packaging.py (slow, on demand).
"""
from __future__ import annotations

import json
import os
import plistlib
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from app import autostart

REPO = Path(__file__).resolve().parent.parent
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]


def test_version_is_one_line_with_the_project_version(cli) -> None:
    out = cli("--version").stdout
    assert out.startswith(f"engram {VERSION} (source; Python ")
    assert out.count("\n") == 1


def test_about_reports_build_llama_and_where_data_lives(cli, data_dir: Path) -> None:
    info = json.loads(cli("about", "--json").stdout)
    assert info["version"] == VERSION and info["build"] == "source"
    assert info["data_dir"] == str(data_dir) and info["database"].endswith("engram.db")
    llama = info["llama_cpp"]
    assert llama["llama_cpp_python"] == "0.3.36"
    assert "CPU" in llama["system_info"] and llama["ggml_version"]
    # A wheel built here is native (no variants); a portable one names its variant.
    assert llama["cpu_backend"].startswith(("built in", )) or "chosen at run time" in llama[
        "cpu_backend"]
    text = cli("about").stdout
    assert f"Engram {VERSION}" in text and f"data dir: {data_dir}" in text


def test_autostart_on_off_writes_a_valid_xdg_entry(cli, data_dir: Path, tmp_path: Path,
                                                   monkeypatch) -> None:
    config = tmp_path / "config"
    env = {"XDG_CONFIG_HOME": str(config)}
    entry = config / "autostart" / "engram.desktop"
    assert "off" in cli("autostart", env=env).stdout
    on = json.loads(cli("autostart", "on", "--json", env=env).stdout)
    assert on["enabled"] and on["mechanism"] == "xdg" and on["where"] == str(entry)
    text = entry.read_text()
    assert "Exec=env ENGRAM_START_HIDDEN=1 " in text and f"--data-dir {data_dir}" in text
    assert "Hidden=true" not in text
    if shutil.which("desktop-file-validate"):
        check = subprocess.run(["desktop-file-validate", str(entry)], capture_output=True,
                               text=True)
        assert check.returncode == 0 and not check.stdout.strip(), check.stdout
    assert "on (" in cli("autostart", "status", env=env).stdout
    cli("autostart", "off", env=env)
    assert not entry.exists()
    assert "off" in cli("autostart", env=env).stdout


def test_launch_agent_on_macos_is_a_valid_plist(tmp_path: Path, monkeypatch) -> None:
    """The macOS form, written here with the platform switched (plistlib is portable)."""
    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: tmp_path))
    status = autostart.set_autostart(True, tmp_path / "data")
    plist = tmp_path / "Library" / "LaunchAgents" / "org.engram.Engram.plist"
    assert status.enabled and status.mechanism == "launchagent" and status.where == str(plist)
    body = plistlib.loads(plist.read_bytes())
    assert body["Label"] == "org.engram.Engram" and body["RunAtLoad"] is True
    assert body["ProgramArguments"][-2:] == ["--data-dir", str(tmp_path / "data")]
    assert body["EnvironmentVariables"] == {"ENGRAM_START_HIDDEN": "1"}
    assert not autostart.set_autostart(False, tmp_path / "data").enabled
    assert not plist.exists()


def test_start_hidden_flag_is_only_taken_for_the_gui(monkeypatch, tmp_path: Path) -> None:
    """Windows' Run key passes --start-hidden; a search for that text is still a search."""
    from app import cli as cli_module

    opened = []
    monkeypatch.setattr("app.cli.context.open_gui", lambda args: opened.append(args) or 0)
    monkeypatch.delenv("ENGRAM_START_HIDDEN", raising=False)
    assert cli_module.main(["--start-hidden"]) == 0
    assert opened and os.environ.get("ENGRAM_START_HIDDEN") == "1"
    monkeypatch.delenv("ENGRAM_START_HIDDEN")
    with pytest.raises(SystemExit) as exited:  # not the GUI form: an unknown option
        cli_module.main(["status", "--data-dir", str(tmp_path), "--start-hidden"])
    assert exited.value.code == 2
