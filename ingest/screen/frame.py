"""Screen frames and rectangles: the values the screen building blocks pass around.

A ``Frame`` is one grab of one monitor as BGRA bytes (mss's native layout, rows
packed with no padding). Coordinates in ``Rect`` are frame pixels: (0, 0) is the
frame's top-left corner, whatever the monitor's position on the virtual screen
(``Frame.left``/``Frame.top`` keep that position for mapping back to windows).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Rect:
    """An axis-aligned rectangle in pixels; ``width``/``height`` are never negative."""

    left: int
    top: int
    width: int
    height: int

    @property
    def right(self) -> int:
        """One past the last column."""
        return self.left + self.width

    @property
    def bottom(self) -> int:
        """One past the last row."""
        return self.top + self.height

    @property
    def area(self) -> int:
        return self.width * self.height

    def union(self, other: Rect) -> Rect:
        """The smallest rectangle covering both."""
        left, top = min(self.left, other.left), min(self.top, other.top)
        right, bottom = max(self.right, other.right), max(self.bottom, other.bottom)
        return Rect(left, top, right - left, bottom - top)

    def intersection(self, other: Rect) -> Rect | None:
        """The overlap of both, or None when they do not overlap."""
        left, top = max(self.left, other.left), max(self.top, other.top)
        right, bottom = min(self.right, other.right), min(self.bottom, other.bottom)
        if right <= left or bottom <= top:
            return None
        return Rect(left, top, right - left, bottom - top)

    def gap_to(self, other: Rect) -> int:
        """Chebyshev distance between the two rectangles (0 when touching or overlapping)."""
        dx = max(0, other.left - self.right, self.left - other.right)
        dy = max(0, other.top - self.bottom, self.top - other.bottom)
        return max(dx, dy)

    def translated(self, dx: int, dy: int) -> Rect:
        return Rect(self.left + dx, self.top + dy, self.width, self.height)


@dataclass(frozen=True, eq=False)
class Frame:
    """One screen grab: ``bgra`` holds ``width * height * 4`` bytes, row after row.

    Compared by identity: comparing megabytes of pixels by value is never what a
    caller wants by accident.
    """

    bgra: bytes | bytearray | memoryview
    width: int
    height: int
    left: int = 0
    top: int = 0

    def __post_init__(self) -> None:
        expected = self.width * self.height * 4
        if len(memoryview(self.bgra).cast("B")) != expected:
            raise ValueError(
                f"frame buffer has {len(memoryview(self.bgra).cast('B'))} bytes, "
                f"expected {expected} for {self.width}x{self.height} BGRA"
            )

    @classmethod
    def from_mss(cls, shot: Any) -> Frame:
        """Wrap an ``mss`` ScreenShot without copying its pixels."""
        return cls(bgra=shot.raw, width=shot.width, height=shot.height,
                   left=shot.left, top=shot.top)

    @property
    def rect(self) -> Rect:
        return Rect(0, 0, self.width, self.height)

    def pixels(self) -> np.ndarray:
        """A read-only (height, width, 4) uint8 view of the BGRA pixels (no copy)."""
        arr = np.frombuffer(self.bgra, dtype=np.uint8).reshape(self.height, self.width, 4)
        arr.flags.writeable = False
        return arr

    def crop(self, rect: Rect) -> np.ndarray:
        """A (h, w, 4) BGRA view of ``rect`` clipped to the frame (no copy)."""
        clipped = self.rect.intersection(rect)
        if clipped is None:
            return np.zeros((0, 0, 4), dtype=np.uint8)
        return self.pixels()[clipped.top:clipped.bottom, clipped.left:clipped.right]
