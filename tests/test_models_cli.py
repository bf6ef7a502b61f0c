"""`engram models ...` end to end: the real CLI, real files, a real local HTTP server.

Downloads never leave 127.0.0.1: a test catalog (``ENGRAM_MODEL_CATALOG``) points
the entries at a server started here (Range support, an optional broken first
response to exercise resume). "No network" is a closed local port and a name
under the reserved ``.invalid`` top-level domain.
"""
from __future__ import annotations

import hashlib
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from app.cli import main
from core.config import Settings, resolve_paths
from core.errors import NetworkError
from core.models import catalog, install
from tests.tinymodel import make_tiny_chat_gguf

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    # Never touch a models folder shared between tests, or a real catalog override.
    monkeypatch.delenv("ENGRAM_MODELS", raising=False)
    monkeypatch.delenv("ENGRAM_MODEL_CATALOG", raising=False)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_chat_gguf(tmp_path_factory.mktemp("src") / "tiny-chat.gguf")


class ModelServer:
    """Serves one file with Range support; can cut its first full response short."""

    def __init__(self, body: bytes, *, cut_first_at: int | None = None) -> None:
        self.body, self.cut_first_at = body, cut_first_at
        self.ranges: list[str | None] = []
        self.bytes_sent = 0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                rng = self.headers.get("Range")
                server.ranges.append(rng)
                start = int(rng.split("=")[1].split("-")[0]) if rng else 0
                data = server.body[start:]
                self.send_response(206 if rng else 200)
                if rng:
                    self.send_header("Content-Range",
                                     f"bytes {start}-{len(server.body) - 1}/{len(server.body)}")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if server.cut_first_at is not None and len(server.ranges) == 1:
                    data = data[:server.cut_first_at]  # then drop the connection
                    self.close_connection = True
                self.wfile.write(data)
                server.bytes_sent += len(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.timeout = 5
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/tiny-chat.gguf"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def serve(tiny: Path) -> Iterator[Any]:
    servers: list[ModelServer] = []

    def start(**kw: Any) -> ModelServer:
        servers.append(ModelServer(tiny.read_bytes(), **kw))
        return servers[-1]

    yield start
    for s in servers:
        s.stop()


def write_catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny: Path, url: str,
                  *, sha256: str | None = None) -> None:
    data = tiny.read_bytes()
    entry = {
        "name": "tiny-test", "title": "Tiny test model", "role": "chat",
        "description": "test", "params": "0.1M", "quantization": "F32",
        "filename": "tiny-test.gguf", "size_bytes": len(data),
        "sha256": sha256 or hashlib.sha256(data).hexdigest(), "url": url,
        "license": "MIT", "license_url": "", "context_length": 2048, "ram_gb": 0.01,
    }
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps({"version": 1, "models": [entry]}))
    monkeypatch.setenv("ENGRAM_MODEL_CATALOG", str(path))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again on exit: connections are refused


# -- list / no-model mode ------------------------------------------------------------------
def test_list_shows_catalog_and_explains_no_model_mode(tmp_path: Path, capsys: Any) -> None:
    rc, out, _ = run(capsys, "models", "list", "--data-dir", str(tmp_path))
    assert rc == 0
    for name in ("qwen2.5-1.5b-instruct", "llama-3.2-3b-instruct", "all-minilm-l6-v2"):
        assert name in out
    assert "No chat model is installed" in out and "engram models pull" in out


def test_list_json_has_checksums_and_roles(tmp_path: Path, capsys: Any) -> None:
    rc, out, _ = run(capsys, "models", "list", "--json", "--data-dir", str(tmp_path))
    data = json.loads(out)
    assert rc == 0 and data["chat_available"] is False
    chat = [m for m in data["models"] if m["role"] == "chat"]
    assert len(chat) >= 2 and data["in_use"]["chat"] is None
    for entry in catalog.load_catalog():
        if not entry.builtin:
            assert entry.sha256 and len(entry.sha256) == 64 and entry.size_bytes
            assert entry.url and entry.url.startswith("https://huggingface.co/")
            assert entry.quantization == "Q4_K_M"


def test_chat_model_status_and_no_model_message(tmp_path: Path, tiny: Path) -> None:
    paths = resolve_paths(tmp_path)
    settings = Settings(paths.settings_path)
    ok, message = catalog.chat_model_status(paths, settings)
    assert not ok and "quote your best matching sources" in message
    install.add_local(paths, settings, tiny)
    ok, message = catalog.chat_model_status(paths, settings)
    assert ok and "tiny-chat" in message


# -- add -------------------------------------------------------------------------------------
def test_add_refuses_a_text_file_renamed_gguf(tmp_path: Path, capsys: Any) -> None:
    fake = tmp_path / "notes.gguf"
    fake.write_text("these are my meeting notes, not a model\n" * 20)
    rc, _, err = run(capsys, "models", "add", str(fake), "--data-dir", str(tmp_path / "d"))
    assert rc == 2 and "not a GGUF model file" in err
    assert not files_under(tmp_path / "d" / "models")


def test_add_refuses_a_truncated_gguf(tmp_path: Path, tiny: Path, capsys: Any) -> None:
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(tiny.read_bytes()[: tiny.stat().st_size * 2 // 3])
    rc, _, err = run(capsys, "models", "add", str(cut), "--data-dir", str(tmp_path / "d"))
    assert rc == 2 and "truncated" in err
    assert not files_under(tmp_path / "d" / "models")


def test_add_imports_reads_metadata_and_selects_it(tmp_path: Path, tiny: Path,
                                                   capsys: Any) -> None:
    d = str(tmp_path / "d")
    rc, out, _ = run(capsys, "models", "add", str(tiny), "--json", "--data-dir", d)
    added = json.loads(out)
    assert rc == 0 and added["role"] == "chat" and added["architecture"] == "llama"
    assert added["context_length"] == 2048 and added["has_chat_template"] and added["in_use"]
    assert tiny.exists()  # copied, the original stays
    assert Path(added["path"]).read_bytes() == tiny.read_bytes()
    rc, out, _ = run(capsys, "models", "list", "--json", "--data-dir", d)
    data = json.loads(out)
    assert data["in_use"]["chat"] == "tiny-chat" and data["chat_available"]
    rc, _, err = run(capsys, "models", "add", str(tiny), "--data-dir", d)
    assert rc == 2 and "already installed" in err


def test_use_and_remove(tmp_path: Path, tiny: Path, capsys: Any) -> None:
    d = str(tmp_path / "d")
    assert run(capsys, "models", "add", str(tiny), "--data-dir", d)[0] == 0
    assert run(capsys, "models", "add", str(tiny), "--name", "second", "--data-dir", d)[0] == 0
    rc, out, _ = run(capsys, "models", "use", "second", "--role", "chat", "--data-dir", d)
    assert rc == 0 and "second is now the chat model" in out
    rc, _, err = run(capsys, "models", "use", "second", "--role", "embedding", "--data-dir", d)
    assert rc == 2 and "cannot be used for embedding" in err
    rc, _, err = run(capsys, "models", "use", "nope", "--role", "chat", "--data-dir", d)
    assert rc == 3
    rc, out, _ = run(capsys, "models", "remove", "second", "--data-dir", d)
    assert rc == 0 and "removed second" in out and "No chat model is selected" in out
    rc, out, _ = run(capsys, "models", "list", "--json", "--data-dir", d)
    names = {m["name"] for m in json.loads(out)["models"] if m["installed"]}
    assert "second" not in names and "tiny-chat" in names
    rc, _, err = run(capsys, "models", "remove", "all-minilm-l6-v2", "--data-dir", d)
    assert rc == 2 and "built in" in err


# -- pull ------------------------------------------------------------------------------------
def test_pull_without_network_fails_in_seconds_and_leaves_nothing(
        tmp_path: Path, tiny: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    write_catalog(tmp_path, monkeypatch, tiny, f"http://127.0.0.1:{closed_port()}/x.gguf")
    started = time.monotonic()
    rc, _, err = run(capsys, "models", "pull", "tiny-test", "--data-dir", str(tmp_path / "d"))
    assert rc == 6 and "Could not download tiny-test" in err
    assert time.monotonic() - started < 10
    assert not files_under(tmp_path / "d" / "models")


def test_pull_from_an_unresolvable_host_fails_in_seconds(
        tmp_path: Path, tiny: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_catalog(tmp_path, monkeypatch, tiny, "https://models.engram-test.invalid/x.gguf")
    paths = resolve_paths(tmp_path / "d")
    started = time.monotonic()
    with pytest.raises(NetworkError, match="look up models.engram-test.invalid"):
        install.pull(paths, Settings(paths.settings_path), "tiny-test")
    assert time.monotonic() - started < 15
    assert not files_under(paths.models_dir)


def test_pull_verifies_checksum_and_installs(tmp_path: Path, tiny: Path, serve: Any,
                                             capsys: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    server = serve()
    write_catalog(tmp_path, monkeypatch, tiny, server.url)
    d = str(tmp_path / "d")
    rc, out, _ = run(capsys, "models", "pull", "tiny-test", "--data-dir", d)
    assert rc == 0 and "installed tiny-test" in out and "now the chat model in use" in out
    installed = tmp_path / "d" / "models" / "tiny-test.gguf"
    assert hashlib.sha256(installed.read_bytes()).digest() == hashlib.sha256(
        tiny.read_bytes()).digest()
    assert not files_under(tmp_path / "d" / "models" / ".partial")
    rc, out, _ = run(capsys, "models", "list", "--json", "--data-dir", d)
    assert json.loads(out)["in_use"]["chat"] == "tiny-test"
    rc, out, _ = run(capsys, "models", "pull", "tiny-test", "--data-dir", d)  # no re-download
    assert rc == 0 and len(server.ranges) == 1


def test_pull_with_wrong_checksum_refuses_and_leaves_nothing(
        tmp_path: Path, tiny: Path, serve: Any, capsys: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    server = serve()
    write_catalog(tmp_path, monkeypatch, tiny, server.url, sha256="0" * 64)
    rc, _, err = run(capsys, "models", "pull", "tiny-test", "--data-dir", str(tmp_path / "d"))
    assert rc == 5 and "does not match its published checksum" in err
    assert not files_under(tmp_path / "d" / "models")


def test_pull_resumes_with_http_range(tmp_path: Path, tiny: Path, serve: Any, capsys: Any,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    cut = 200_000
    server = serve(cut_first_at=cut)
    write_catalog(tmp_path, monkeypatch, tiny, server.url)
    d = str(tmp_path / "d")
    rc, _, err = run(capsys, "models", "pull", "tiny-test", "--data-dir", d)
    assert rc == 6 and "resume" in err
    models = tmp_path / "d" / "models"
    assert [p.name for p in files_under(models)] == ["tiny-test.gguf.part"]  # only the partial
    assert not (models / "tiny-test.gguf").exists()
    rc, out, _ = run(capsys, "models", "list", "--data-dir", d)
    assert "paused" in out
    rc, out, _ = run(capsys, "models", "pull", "tiny-test", "--data-dir", d)
    assert rc == 0 and "installed tiny-test" in out
    assert server.ranges == [None, f"bytes={cut}-"]
    assert server.bytes_sent == tiny.stat().st_size  # nothing downloaded twice
    assert (models / "tiny-test.gguf").read_bytes() == tiny.read_bytes()


def test_remove_deletes_an_unfinished_download(
        tmp_path: Path, tiny: Path, serve: Any, capsys: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    server = serve(cut_first_at=100_000)
    write_catalog(tmp_path, monkeypatch, tiny, server.url)
    d = str(tmp_path / "d")
    assert run(capsys, "models", "pull", "tiny-test", "--data-dir", d)[0] == 6
    rc, out, _ = run(capsys, "models", "remove", "tiny-test", "--data-dir", d)
    assert rc == 0 and "unfinished download" in out
    assert not files_under(tmp_path / "d" / "models")


def test_builtin_embedding_is_listed_in_use_and_protected(
        tmp_path: Path, models_dir: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENGRAM_MODELS", str(models_dir))  # conftest's generated MiniLM
    d = str(tmp_path / "d")
    rc, out, _ = run(capsys, "models", "list", "--json", "--data-dir", d)
    rows = {m["name"]: m for m in json.loads(out)["models"]}
    builtin = rows["all-minilm-l6-v2"]
    assert builtin["installed"] and builtin["in_use"] and builtin["source"] == "builtin"
    assert builtin["role"] == "embedding" and builtin["size_bytes"]
    assert run(capsys, "models", "pull", "all-minilm-l6-v2", "--data-dir", d)[0] == 2
    assert run(capsys, "models", "remove", "all-minilm-l6-v2", "--data-dir", d)[0] == 2
    gguf = next(models_dir.glob("*.gguf"))
    rc, _, err = run(capsys, "models", "add", str(gguf), "--role", "chat", "--data-dir", d)
    assert rc == 2 and "embedding model" in err


# -- a real process --------------------------------------------------------------------------
def test_cli_in_a_subprocess(tmp_path: Path, tiny: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in ("ENGRAM_MODELS", "ENGRAM_MODEL_CATALOG", "ENGRAM_HOME")}
    d = str(tmp_path / "d")

    def engram(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "app", *args], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=120)

    added = engram("models", "add", str(tiny), "--json", "--data-dir", d)
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["name"] == "tiny-chat"
    listed = engram("models", "list", "--json", "--data-dir", d)
    assert json.loads(listed.stdout)["in_use"]["chat"] == "tiny-chat"
    bad = engram("models", "add", str(tmp_path / "missing.gguf"), "--data-dir", d)
    assert bad.returncode == 2 and "No such file" in bad.stderr
    assert "Traceback" not in bad.stderr
