"""Render Engram's SVG icon into what each platform's packaging wants.

    python installers/make_icons.py OUT_DIR

writes OUT_DIR/hicolor/<N>x<N>/apps/engram.png (16…512) and
OUT_DIR/hicolor/scalable/apps/engram.svg (freedesktop icon theme), engram.ico
(Windows) and engram.icns (macOS). Qt draws the SVG (offscreen, no display needed);
Pillow writes the .ico/.icns containers.
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(argv[0])
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer
    from PIL import Image

    svg = Path(__file__).resolve().parent.parent / "resources" / "icons" / "engram.svg"
    _app = QGuiApplication.instance() or QGuiApplication(["make_icons"])
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        print(f"make_icons: cannot read {svg}", file=sys.stderr)
        return 1
    pngs: dict[int, Path] = {}
    for size in SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        target = out / "hicolor" / f"{size}x{size}" / "apps" / "engram.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        if not image.save(str(target), "PNG"):
            print(f"make_icons: cannot write {target}", file=sys.stderr)
            return 1
        pngs[size] = target
    scalable = out / "hicolor" / "scalable" / "apps" / "engram.svg"
    scalable.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(svg, scalable)
    big = Image.open(pngs[256])
    big.save(out / "engram.ico", sizes=[(s, s) for s in (16, 24, 32, 48, 64, 128, 256)])
    Image.open(pngs[512]).save(out / "engram.icns")
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
