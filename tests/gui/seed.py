"""A known day of activity, stored through the real pipeline, for the GUI tests.

Today (local time): Firefox 09:05–09:35 and 10:10–10:40 (screenshots with OCR
word boxes in the screen source's own packed format), a Terminal session at
09:40, a note at 11:15, a conversation in the afternoon, and a file chunk.
"""
from __future__ import annotations

import io
from datetime import date, datetime, time, timedelta

from core.records import Observation, to_utc

SCREEN_TEXT = "Tenacity docs Ana recommended tenacity for retries with exponential backoff"
TERMINAL_TEXT = "sudo systemctl restart cups lpstat -p printer fixed by restarting cups"
CHAT = [("Ana", "Have you tried the tenacity library for the flaky uploads?"),
        ("You", "Not yet, what does it do?"),
        ("Ana", "It retries with backoff, much nicer than our loop"),
        ("You", "Great, I'll try it tomorrow")]
IMAGE_SIZE = (720, 450)


def at(hour: int, minute: int, day: date | None = None) -> datetime:
    return to_utc(datetime.combine(day or date.today(), time(hour, minute)).astimezone())


def screenshot(words: list[str]) -> tuple[bytes, list[tuple[int, int, int, int]]]:
    """A PNG with ``words`` drawn in rows, and each word's box (image pixels)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", IMAGE_SIZE, "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, IMAGE_SIZE[0], 28), fill="#dde3f0")
    boxes = []
    x, y = 20, 50
    for word in words:
        left, top, right, bottom = draw.textbbox((x, y), word)
        w = right - left + 1
        if x + w > IMAGE_SIZE[0] - 20:
            x, y = 20, y + 30
            left, top, right, bottom = draw.textbbox((x, y), word)
        draw.text((x, y), word, fill="black")
        boxes.append((left, top, right - left + 1, bottom - top + 1))
        x = right + 10
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue(), boxes


def screen_observation(text: str, app: str, title: str, start: datetime,
                       minutes: int) -> Observation:
    from ingest.screen.frame import Rect
    from ingest.screen.screentext import BOX_FORMAT, encode_boxes

    data, boxes = screenshot(text.split())
    return Observation(
        source="screen", captured_at=start, ended_at=start + timedelta(minutes=minutes),
        text=text, app=app, title=title, image=data,
        meta={"boxes": encode_boxes([Rect(*b) for b in boxes]), "boxes_format": BOX_FORMAT,
              "shot": [0, 0, IMAGE_SIZE[0], IMAGE_SIZE[1]], "ticks": 10})


def seed_day(engine, day: date | None = None) -> dict[str, object]:
    day = day or date.today()
    obs = [
        screen_observation(SCREEN_TEXT, "Firefox", "Tenacity docs — Mozilla Firefox",
                           at(9, 5, day), 30),
        screen_observation(TERMINAL_TEXT, "Terminal", "~/printer", at(9, 40, day), 10),
        screen_observation("Quarterly planning agenda Lisbon offsite budget review", "Firefox",
                           "Planning — Mozilla Firefox", at(10, 10, day), 30),
        Observation(source="note", captured_at=at(11, 15, day),
                    text="Renewed the car insurance with Allianz until next March"),
        Observation(source="file", captured_at=at(12, 0, day),
                    text="Invoice 2024-117 for the garden shed, due in 30 days",
                    path="/home/someone/Documents/invoice-117.md", title="invoice-117.md",
                    external_id="/home/someone/Documents/invoice-117.md#0"),
    ]
    for n, (speaker, text) in enumerate(CHAT):
        obs.append(Observation(source="chat", captured_at=at(14, 2 * n, day), text=text,
                               speaker=speaker, thread="Ana", app="WhatsApp",
                               external_id=f"wa:ana:{n}"))
    changes = engine.pipeline.submit(obs)
    assert len(changes.added) == len(obs), changes
    return {"day": day, "ids": changes.added}
