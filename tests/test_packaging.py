"""The downloadable Linux packages, built and used as a person would (issue 17).

Slow (it runs ``installers/build.sh``: minutes with the llama.cpp wheel cached, much
longer the first time), so it runs only with ``ENGRAM_TEST_PACKAGING=1``; otherwise
every test here is skipped and ``.ci/run`` stays the README's test command.

- The tarball is unpacked into an empty folder and run with ``PATH=/usr/bin:/bin``, no
  virtual environment and a fresh data folder: ``--version``, ``add``, ``search`` (a hit
  by meaning alone), the window under Xvfb; ``ldd`` finds every library of the bundle.
- llama.cpp's CPU variant chosen at run time is the one ggml's scorer should pick for
  this processor (from /proc/cpuinfo).
- The .deb is inspected with dpkg-deb, installed with ``dpkg -i`` (root only), used from
  ``/usr/bin/engram``, its menu entry validated, and removed with ``dpkg -r``.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tarfile
import threading
import time
import tomllib
from pathlib import Path

import pytest

from tests.xvfb import require_tools, running_xvfb, wait_for

REPO = Path(__file__).resolve().parent.parent
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
TARBALL = REPO / "dist" / f"engram-{VERSION}-linux-x86_64.tar.gz"
DEB = REPO / "dist" / f"engram_{VERSION}_amd64.deb"

pytestmark = [
    pytest.mark.packaging,
    pytest.mark.timeout(5400),
    pytest.mark.skipif(os.environ.get("ENGRAM_TEST_PACKAGING") != "1",
                       reason="builds the packages: set ENGRAM_TEST_PACKAGING=1"),
    pytest.mark.skipif(not Path("/proc/cpuinfo").exists() or shutil.which("dpkg-deb") is None,
                       reason="the Linux packages are built on a Debian-like Linux"),
]

NOTES = ("Ana suggested I read The Name of the Wind",
         "The dentist appointment moved to Thursday afternoon")
QUERY = "tooth doctor visit"  # shares no word with the dentist note: a hit by meaning


@pytest.fixture(scope="module")
def built() -> dict[str, float]:
    """Run the build once for this module (or reuse it with ENGRAM_PACKAGING_REUSE=1)."""
    if os.environ.get("ENGRAM_PACKAGING_REUSE") == "1" and TARBALL.exists() and DEB.exists():
        return {"build_s": float("nan")}
    started = time.monotonic()
    done = subprocess.run(["bash", "installers/build.sh"], cwd=REPO, capture_output=True,
                          text=True, timeout=5000)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-6000:]
    assert TARBALL.is_file() and DEB.is_file(), done.stderr[-2000:]
    took = time.monotonic() - started
    print(f"\nbuild: {took:.0f} s; tarball {TARBALL.stat().st_size / 1e6:.1f} MB; "
          f".deb {DEB.stat().st_size / 1e6:.1f} MB")
    return {"build_s": took}


@pytest.fixture(scope="module")
def unpacked(built, tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("unpacked")
    with tarfile.open(TARBALL) as tar:
        tar.extractall(target, filter="tar")
    program = target / "engram" / "engram"
    assert program.is_file() and os.access(program, os.X_OK)
    return program


def bare_env(tmp: Path, **extra: str) -> dict[str, str]:
    """A person's shell without this project: no venv, no PYTHONPATH, system PATH only."""
    (tmp / "home").mkdir(exist_ok=True)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp / "home"), "LANG": "C.UTF-8",
           "ENGRAM_HOME": str(tmp / "data"), "ENGRAM_PASSPHRASE": "correct horse battery",
           "XDG_CONFIG_HOME": str(tmp / "home" / ".config")}
    env.update(extra)
    return env


def run(program: Path | str, *args: str, env: dict[str, str], cwd: Path,
        timeout: float = 180) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(program), *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, f"engram {' '.join(args)}: {done.stdout}\n{done.stderr}"
    return done


def test_the_tarball_runs_from_anywhere_without_python(unpacked: Path, tmp_path: Path) -> None:
    env = bare_env(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    version = run(unpacked, "--version", env=env, cwd=elsewhere).stdout
    assert version.startswith(f"engram {VERSION} (pyinstaller"), version
    ids = [run(unpacked, "add", note, env=env, cwd=elsewhere).stdout.strip() for note in NOTES]
    hits = json.loads(run(unpacked, "search", QUERY, "--json", env=env, cwd=elsewhere).stdout)
    assert hits["results"], hits
    top = hits["results"][0]
    assert str(top["id"]) == ids[1], hits
    assert not set(QUERY.split()) & set(NOTES[1].lower().split())
    status = run(unpacked, "status", env=env, cwd=elsewhere).stdout
    assert "all-minilm-l6-v2" in status and "(ready)" in status, status
    # The model came converted inside the bundle: the data folder got a copy.
    assert (tmp_path / "data" / "models" / "all-minilm-l6-v2.f16.gguf").is_file()


def expected_cpu_variant() -> str:
    """ggml's x86 scorer (ggml-cpu/arch/x86/cpu-feats.cpp) applied to /proc/cpuinfo."""
    flags = set()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            break
    needs = {"SSE42": ["sse4_2"], "AVX": ["avx"], "F16C": ["f16c"], "FMA": ["fma"],
             "AVX2": ["avx2"], "BMI2": ["bmi2"], "AVX_VNNI": ["avx_vnni"],
             "AVX512": ["avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw"],
             "AVX512_VBMI": ["avx512vbmi"], "AVX512_BF16": ["avx512_bf16"],
             "AVX512_VNNI": ["avx512_vnni"], "AMX_INT8": ["amx_int8"], "AMX_TILE": []}
    weight = {"FMA": 0, "F16C": 1, "SSE42": 2, "BMI2": 3, "AVX": 4, "AVX2": 5, "AVX_VNNI": 6,
              "AVX512": 7, "AVX512_VBMI": 8, "AVX512_BF16": 9, "AVX512_VNNI": 10,
              "AMX_INT8": 11}
    haswell = ["SSE42", "AVX", "F16C", "FMA", "AVX2", "BMI2"]
    variants = {  # ggml/src/CMakeLists.txt, GGML_CPU_ALL_VARIANTS on x86 (not MSVC)
        "x64": [], "sse42": ["SSE42"], "sandybridge": ["SSE42", "AVX"],
        "ivybridge": ["SSE42", "AVX", "F16C"], "piledriver": ["SSE42", "AVX", "F16C", "FMA"],
        "haswell": haswell, "skylakex": haswell + ["AVX512"],
        "cannonlake": haswell + ["AVX512", "AVX512_VBMI"],
        "cascadelake": haswell + ["AVX512", "AVX512_VNNI"],
        "icelake": haswell + ["AVX512", "AVX512_VBMI", "AVX512_VNNI"],
        "cooperlake": haswell + ["AVX512", "AVX512_VNNI", "AVX512_BF16"],
        "zen4": haswell + ["AVX512", "AVX512_VBMI", "AVX512_VNNI", "AVX512_BF16"],
        "alderlake": haswell + ["AVX_VNNI"],
        # sapphirerapids (AMX) is left out of Engram's wheel: installers/llama_wheel.sh
    }
    scores = {}
    for name, feats in variants.items():
        if all(set(needs[f]) <= flags for f in feats):
            scores[name] = 1 + sum(1 << weight[f] for f in feats if f in weight)
    return max(scores, key=lambda n: scores[n])


def test_llama_cpp_picks_the_cpu_variant_for_this_processor(unpacked: Path,
                                                            tmp_path: Path) -> None:
    about = json.loads(run(unpacked, "about", "--json", env=bare_env(tmp_path),
                           cwd=tmp_path).stdout)
    llama = about["llama_cpp"]
    assert "error" not in llama, llama
    want = expected_cpu_variant()
    print(f"\nllama.cpp CPU variant: {llama['cpu_backend']} (expected {want}); "
          f"{llama['system_info']}")
    assert llama["cpu_backend"] == f"{want} (chosen at run time)", llama
    assert llama["cpu_backend_library"].startswith(str(unpacked.parent)), llama
    assert about["packaged"] is True and about["data_dir"] == str(tmp_path / "data")


def test_every_bundled_library_resolves(unpacked: Path) -> None:
    """ldd on every shared library and program, as the bootloader runs them (its
    folder on LD_LIBRARY_PATH); nothing may be missing."""
    internal = unpacked.parent / "_internal"
    checked, missing = 0, []
    for path in sorted(unpacked.parent.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        if not (path.suffix == ".so" or ".so." in path.name or path == unpacked):
            continue
        done = subprocess.run(["ldd", str(path)], capture_output=True, text=True, timeout=60,
                              env={"PATH": "/usr/bin:/bin", "LD_LIBRARY_PATH": str(internal)})
        checked += 1
        missing += [f"{path.relative_to(unpacked.parent)}: {line.strip()}"
                    for line in done.stdout.splitlines() if "not found" in line]
    assert checked > 50
    assert not missing, "\n".join(missing)


def test_the_window_opens_under_xvfb(unpacked: Path, tmp_path: Path) -> None:
    require_tools()
    with running_xvfb("1280x800x24") as display:
        env = bare_env(tmp_path, DISPLAY=display, QT_QPA_PLATFORM="xcb",
                       ENGRAM_GUI_REPORT="1", ENGRAM_NO_CAPTURE="1",
                       XDG_RUNTIME_DIR=str(tmp_path / "runtime"))
        (tmp_path / "runtime").mkdir(mode=0o700)
        started = time.monotonic()
        proc = subprocess.Popen([str(unpacked)], env=env, cwd=tmp_path,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(l.strip() for l in proc.stderr),
                                  daemon=True)
        reader.start()
        try:
            wait_for(lambda: any("window-shown" in l for l in lines) or proc.poll() is not None,
                     timeout=120, every=0.01)
            cold = time.monotonic() - started
            assert proc.poll() is None, "\n".join(lines)
            print(f"\ncold start of the packaged app, window shown: {cold:.2f} s "
                  f"({next(l for l in lines if 'window-shown' in l)})")

            def window() -> str:
                found = subprocess.run(["xdotool", "search", "--name", "^Engram"],
                                       env={**env, "PATH": "/usr/bin:/bin"},
                                       capture_output=True, text=True, timeout=10)
                return found.stdout.strip()

            assert wait_for(window, timeout=30), "no Engram window on the display"
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                rc = proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                raise
        assert rc == 0, "\n".join(lines)


def test_autostart_entry_names_the_unpacked_program(unpacked: Path, tmp_path: Path) -> None:
    env = bare_env(tmp_path)
    run(unpacked, "autostart", "on", env=env, cwd=tmp_path)
    entry = tmp_path / "home" / ".config" / "autostart" / "engram.desktop"
    text = entry.read_text()
    assert f"Exec=env ENGRAM_START_HIDDEN=1 {unpacked} --data-dir {tmp_path / 'data'}" in text
    if shutil.which("desktop-file-validate"):
        check = subprocess.run(["desktop-file-validate", str(entry)], capture_output=True,
                               text=True)
        assert check.returncode == 0 and not check.stdout.strip(), check.stdout
    run(unpacked, "autostart", "off", env=env, cwd=tmp_path)
    assert not entry.exists()


def dpkg_deb(*args: str) -> str:
    return subprocess.run(["dpkg-deb", *args], capture_output=True, text=True, check=True,
                          timeout=120).stdout


def test_the_deb_declares_its_files_and_dependencies(built) -> None:
    fields = dpkg_deb("-f", str(DEB))
    assert re.search(rf"^Package: engram$", fields, re.M)
    assert re.search(rf"^Version: {re.escape(VERSION)}$", fields, re.M)
    depends = re.search(r"^Depends: (.*)$", fields, re.M).group(1)
    needed = {d.strip().split(" ")[0] for d in depends.split(",")}
    # OCR, and the system libraries the bundled Qt links to (X, EGL/GL, Wayland); the
    # rest (xcb helpers, xkbcommon, fontconfig…) travel inside the bundle.
    assert {"tesseract-ocr", "libc6", "libxcb1", "libegl1", "libgl1",
            "libwayland-client0"} <= needed, depends
    listing = dpkg_deb("-c", str(DEB))
    for path in ("./opt/engram/engram", "./usr/share/applications/engram.desktop",
                 "./usr/share/icons/hicolor/scalable/apps/engram.svg",
                 "./usr/share/icons/hicolor/48x48/apps/engram.png",
                 "./usr/share/icons/hicolor/256x256/apps/engram.png",
                 "./opt/engram/_internal/models/all-minilm-l6-v2.f16.gguf"):
        assert f" {path}" in listing, path
    assert re.search(r"\./usr/bin/engram -> /opt/engram/engram", listing)
    assert "libggml-cpu-haswell.so" in listing and "libggml-cpu-x64.so" in listing


def test_the_deb_installs_runs_and_removes(built, tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("dpkg -i needs root")
    if subprocess.run(["dpkg-query", "-W", "engram"], capture_output=True).returncode == 0:
        pytest.skip("an engram package is installed already; not touching it")
    install = subprocess.run(["dpkg", "-i", str(DEB)], capture_output=True, text=True,
                             timeout=600)
    try:
        assert install.returncode == 0, install.stdout + install.stderr
        assert Path("/usr/bin/engram").resolve() == Path("/opt/engram/engram")
        env = bare_env(tmp_path)
        status = run("/usr/bin/engram", "status", env=env, cwd=tmp_path)
        assert "Data folder:" in status.stdout and str(tmp_path / "data") in status.stdout
        version = run("/usr/bin/engram", "--version", env=env, cwd=tmp_path).stdout
        assert version.startswith(f"engram {VERSION}")
        check = subprocess.run(["desktop-file-validate",
                                "/usr/share/applications/engram.desktop"],
                               capture_output=True, text=True)
        assert check.returncode == 0 and not check.stdout.strip(), check.stdout
    finally:
        remove = subprocess.run(["dpkg", "-r", "engram"], capture_output=True, text=True,
                                timeout=600)
    assert remove.returncode == 0, remove.stdout + remove.stderr
    assert not Path("/usr/bin/engram").exists() and not Path("/opt/engram/engram").exists()
    assert not Path("/usr/share/applications/engram.desktop").exists()
