"""Entry point of the packaged Engram (PyInstaller): the `engram` program.

A frozen program has no Python interpreter to call, yet Engram starts helpers the way
Python would (the OCR worker runs ``sys.executable -c CODE``). So this program also
understands ``-c CODE [ARGS]`` and ``-m MODULE [ARGS]``, and runs them in-process.
"""
import os
import runpy
import sys


def _as_python() -> bool:
    if len(sys.argv) >= 3 and sys.argv[1] == "-c":
        code = sys.argv[2]
        sys.argv = ["-c", *sys.argv[3:]]
        exec(compile(code, "<string>", "exec"), {"__name__": "__main__"})  # noqa: S102
        return True
    if len(sys.argv) >= 3 and sys.argv[1] == "-m":
        module = sys.argv[2]
        sys.argv = [module, *sys.argv[3:]]
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        return True
    return False


if __name__ == "__main__":
    if not _as_python():
        # Qt and llama.cpp must not pick up a developer's Python or Qt from the environment.
        for var in ("PYTHONPATH", "QT_PLUGIN_PATH", "QML2_IMPORT_PATH"):
            os.environ.pop(var, None)
        from app.cli import main

        sys.exit(main())
