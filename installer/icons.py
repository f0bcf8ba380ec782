"""Render PMC's application icon (``resources/pmc.svg``) for the installers.

``python installer/icons.py OUTDIR`` writes ``OUTDIR/pmc-256.png`` (the hicolor 256x256 icon
for Linux desktops) and ``OUTDIR/pmc.ico`` (the Windows executable and installer icon: 16 to
256 pixels, each size a PNG inside the ICO container, which Windows reads since Vista). Qt
renders the SVG on the offscreen platform, so no display is needed.
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SVG = ROOT / "resources" / "pmc.svg"
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
_apps: list[object] = []  # the QApplication, kept alive while rendering


def render_png(size: int) -> bytes:
    """The app icon as PNG bytes, ``size`` pixels square, transparent background."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice
    from PySide6.QtGui import QColor, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer
    from PySide6.QtWidgets import QApplication

    if QApplication.instance() is None:
        # A QApplication (not a bare QGuiApplication), so that widgets created later in the
        # same process — pytest-qt's tests — can share it.
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        _apps.append(QApplication([]))
    renderer = QSvgRenderer(str(SVG))
    if not renderer.isValid():
        raise SystemExit(f"icons: {SVG} is not a valid SVG file")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(QColor(0, 0, 0, 0))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")  # type: ignore[call-overload]  # the stub wants bytes, Qt a str
    buffer.close()
    return bytes(data.data())


def ico_bytes(pngs: dict[int, bytes]) -> bytes:
    """An ICO file holding one PNG image per size (ICONDIR, ICONDIRENTRY…, image data)."""
    header = struct.pack("<HHH", 0, 1, len(pngs))
    entries = b""
    images = b""
    offset = 6 + 16 * len(pngs)
    for size, png in sorted(pngs.items()):
        side = 0 if size >= 256 else size  # 0 means 256 in an ICONDIRENTRY
        entries += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(png), offset + len(images))
        images += png
    return header + entries + images


def write_icons(out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    pngs = {size: render_png(size) for size in ICO_SIZES}
    png_path = out_dir / "pmc-256.png"
    png_path.write_bytes(pngs[256])
    ico_path = out_dir / "pmc.ico"
    ico_path.write_bytes(ico_bytes(pngs))
    return png_path, ico_path


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python installer/icons.py OUTDIR")
    for path in write_icons(Path(sys.argv[1])):
        print(path)
