"""Opening a file, its folder or a link with the desktop's own applications — and saying
so when the desktop has no application for it (Qt only logs "Unable to detect a
launcher"), with what the person can do instead: show it in its folder, copy its path.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QMessageBox, QWidget


def open_url(url: QUrl) -> bool:
    """The desktop opens ``url``; False when no application took it."""
    return bool(QDesktopServices.openUrl(url))


class CouldNotOpen(QMessageBox):
    """"No application opens this file" with "Show in folder" and "Copy path"."""

    def __init__(self, path: Path, message: str, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.path = path
        self.setIcon(QMessageBox.Icon.Warning)
        self.setWindowTitle("Could not open")
        self.setText(message)
        self.setInformativeText(str(path))
        self.show_folder = self.addButton("Show in folder", QMessageBox.ButtonRole.ActionRole)
        self.copy_path = self.addButton("Copy path", QMessageBox.ButtonRole.ActionRole)
        self.addButton(QMessageBox.StandardButton.Close)
        self.show_folder.setVisible(path.parent.is_dir())
        # Action buttons close the box; their work runs first (clicked comes before).
        self.show_folder.clicked.connect(self.on_show_folder)
        self.copy_path.clicked.connect(self.on_copy_path)

    def on_show_folder(self) -> None:
        if not open_url(QUrl.fromLocalFile(str(self.path.parent))):
            self.on_copy_path()
            box = QMessageBox(QMessageBox.Icon.Information, "Could not open the folder",
                              "No file manager opens folders here either. The path is copied: "
                              "paste it into a terminal or a file manager.",
                              QMessageBox.StandardButton.Close, self.parentWidget())
            box.open()
            self.follow_up = box

    def on_copy_path(self) -> None:
        QGuiApplication.clipboard().setText(str(self.path))


def open_file(path_text: str, parent: QWidget | None) -> CouldNotOpen | None:
    """Open a captured file with its application. When it is gone, or nothing opens it,
    a box (returned, already open) says so and offers the folder and the path."""
    path = Path(path_text)
    if not path.exists():
        box = CouldNotOpen(path, f"“{path.name}” is no longer at this place.", parent)
    elif open_url(QUrl.fromLocalFile(str(path))):
        return None
    else:
        box = CouldNotOpen(path, f"No application on this computer opens “{path.name}”.",
                           parent)
    box.open()
    return box


def show_in_folder(path_text: str, parent: QWidget | None) -> CouldNotOpen | None:
    """Open the folder holding a captured file; the same box when nothing opens folders."""
    path = Path(path_text)
    if path.parent.is_dir() and open_url(QUrl.fromLocalFile(str(path.parent))):
        return None
    box = CouldNotOpen(path, "No file manager opens this folder." if path.parent.is_dir()
                       else f"The folder of “{path.name}” is no longer there.", parent)
    box.show_folder.setVisible(False)
    box.open()
    return box
