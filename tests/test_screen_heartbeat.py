"""Pure parts of screen capture: heartbeat merge, band merging of window text,
redaction carried onto word boxes, compact boxes, thumbnails."""
from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import numpy as np
from PIL import Image

from core.redact import redact
from ingest.screen import heartbeat as hb
from ingest.screen.frame import Frame, Rect
from ingest.screen.ocr import OcrResult, OcrWord
from ingest.screen.screentext import (WindowText, bands, decode_boxes, encode_boxes,
                                      read_rect, redact_words)
from ingest.screen.thumbnail import encode, take_picture

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc)
WIN = hb.WindowIdentity(7, "Notetaker", "Plan - Notetaker")


def reading(text: str, seconds: float = 0, window: hb.WindowIdentity = WIN) -> hb.Reading:
    return hb.Reading(T0 + timedelta(seconds=seconds), window, text)


def core_redact(text: str) -> tuple[str, dict[str, int]]:
    r = redact(text)
    return r.text, dict(r.counts)


def test_relation_same_grew_and_new() -> None:
    old = reading("Lisbon offsite agenda\nAna recommended")
    assert hb.relation(old, reading("Lisbon offsite agenda\nAna recommended")) == "same"
    assert hb.relation(old, reading("Lisbon offsite agenda\nAna recommended tenacity")) == "grew"
    # The word being typed grows: still the same event.
    assert hb.relation(reading("notes about retr"), reading("notes about retries")) == "grew"
    # A real edit (3pm → 4pm) is a new event: the old text must stay findable.
    assert hb.relation(reading("meeting at 3pm"), reading("meeting at 4pm")) == "new"
    # Most lines still there: an edit of the same screen.
    assert hb.relation(old, reading("Lisbon offsite agenda\nAna said no")) == "edited"
    assert hb.relation(reading("a b\nc d\ne f"), reading("x y\nz w\ne f")) == "new"
    other = hb.WindowIdentity(7, "Notetaker", "Other - Notetaker")
    assert hb.relation(old, reading(old.text, window=other)) == "new"


def test_edits_keep_lines_that_left_the_screen_but_not_drafts() -> None:
    screen = ["Release notes", "Fixed the retry budget", "Meeting at 3pm with Ana",
              "Deploy on Friday"]
    step = hb.advance(None, reading("\n".join(screen)), max_seconds=900)
    edited = screen[:2] + ["Meeting at 4pm with Ana", "Deploy on Fri"]
    step = hb.advance(step.held, reading("\n".join(edited), 10), max_seconds=900)
    assert step.relation == "edited" and step.finished is None and step.needs_picture
    # "3pm" stays findable; so do the words deleted from "Deploy on Friday".
    assert step.held.gone == ("Meeting at 3pm with Ana", "Deploy on Friday")
    typed = edited[:3] + ["Deploy on Friday morn"]
    step = hb.advance(step.held, reading("\n".join(typed), 20), max_seconds=900)
    # Drafts of the line now being typed are not kept; the edited value still is.
    assert step.held.gone == ("Meeting at 3pm with Ana",)
    assert step.held.text.splitlines()[:4] == typed
    assert step.held.started_at == T0 and step.held.ticks == 3
    meta = hb.meta_for(step.held)
    assert meta["earlier_lines"] == len(step.held.gone)


def test_an_event_keeps_at_most_about_a_screen_of_earlier_lines() -> None:
    lines = [f"line {i} of the editor" for i in range(10)]
    held = hb.advance(None, reading("\n".join(lines)), max_seconds=900).held
    finished = None
    for n in range(1, 40):
        lines[n % 10] = f"changed {n} text"
        step = hb.advance(held, reading("\n".join(lines), n), max_seconds=900, gone_chars=100)
        held = step.held
        if step.finished is not None:
            finished = step.finished
            break
    assert finished is not None and 0 < sum(len(g) + 1 for g in finished.gone) <= 230
    assert held.gone == () and held.started_at == finished.last_seen


def test_advance_extends_then_finishes_with_a_span() -> None:
    step = hb.advance(None, reading("alpha beta"), max_seconds=900)
    assert step.finished is None and step.needs_picture and step.relation == "new"
    held = step.held
    held = hb.seen(held, T0 + timedelta(seconds=3))  # unchanged screen
    step = hb.advance(held, reading("alpha beta", 6), max_seconds=900)
    assert step.relation == "same" and not step.needs_picture and step.finished is None
    assert step.held.ticks == 3 and step.held.last_seen == T0 + timedelta(seconds=6)
    step = hb.advance(step.held, reading("gamma delta", 9), max_seconds=900)
    assert step.relation == "new"
    done = step.finished
    assert done is not None and done.reading.text == "alpha beta"
    assert (done.started_at, done.last_seen) == (T0, T0 + timedelta(seconds=9))
    assert step.held.started_at == T0 + timedelta(seconds=9)


def test_advance_cuts_long_events_and_finish_ends_at_last_input() -> None:
    held = hb.advance(None, reading("static"), max_seconds=60).held
    held = hb.seen(held, T0 + timedelta(seconds=57))
    step = hb.advance(held, reading("static", 60), max_seconds=60)
    assert step.finished is not None and step.finished.last_seen == T0 + timedelta(seconds=57)
    ended = hb.finish(step.held, T0 + timedelta(seconds=30))  # idle since before it started
    assert ended.last_seen == ended.started_at


def words_line(line: int, y: int, *texts: str, x0: int = 10) -> list[OcrWord]:
    out, x = [], x0
    for text in texts:
        out.append(OcrWord(text, 95.0, x, y, 10 * len(text), 20, line))
        x += 10 * len(text) + 8
    return out


def result(*lines: list[OcrWord], region: Rect = Rect(0, 0, 400, 300)) -> OcrResult:
    words = tuple(w for line in lines for w in line)
    texts = tuple(" ".join(w.text for w in line) for line in lines)
    return OcrResult(words, texts, region)


def test_window_text_replaces_only_the_changed_band() -> None:
    area = Rect(0, 0, 400, 300)
    state = WindowText.from_result(area, result(words_line(0, 10, "Lisbon", "agenda"),
                                                words_line(1, 100, "Ana", "recommended"),
                                                words_line(2, 200, "footer")))
    assert state.text == "Lisbon agenda\nAna recommended\nfooter"
    band = Rect(0, 64, 400, 64)
    # The band's read (with margin) also sees cut-off neighbours: only centred words count.
    read = result(words_line(0, 40, "gend"), words_line(1, 100, "Ana", "tenacity"),
                  region=read_rect(band, area, 32))
    updated = state.replace_band(band, read)
    assert updated.text == "Lisbon agenda\nAna tenacity\nfooter"
    # A new line where there was none lands in reading order.
    added = updated.replace_band(Rect(0, 140, 400, 40), result(words_line(0, 150, "new")))
    assert added.text.splitlines() == ["Lisbon agenda", "Ana tenacity", "new", "footer"]


def test_bands_span_the_window_and_merge_overlaps() -> None:
    area = Rect(100, 50, 500, 400)
    got = bands([Rect(120, 64, 64, 64), Rect(400, 100, 64, 64), Rect(0, 300, 64, 64),
                 Rect(200, 320, 64, 64)], area)
    assert got == [Rect(100, 64, 500, 100), Rect(100, 320, 500, 64)]
    assert read_rect(Rect(100, 64, 500, 100), area, 32) == Rect(100, 50, 500, 146)
    # Only the middle rows of a known line changed ("tall" → "tell"): the whole line is read.
    known = words_line(0, 200, "tall", "story") + words_line(1, 260, "next")
    assert bands([Rect(100, 208, 64, 6)], area, known) == [Rect(100, 200, 500, 20)]


def test_redaction_hides_the_words_and_keeps_boxes_aligned() -> None:
    line0 = words_line(0, 10, "Card", "4111", "1111", "1111", "1111", "ok")
    line1 = words_line(1, 60, "token", "ghp_abcdefghijklmnopqrstuvwxyz0123456789")
    words = line0 + line1
    text = "Card 4111 1111 1111 1111 ok\ntoken ghp_abcdefghijklmnopqrstuvwxyz0123456789"
    red = redact_words(words, text, core_redact)
    assert red.text == "Card [redacted:card] ok\ntoken [redacted:api-key]"
    assert red.counts == {"card": 1, "api-key": 1}
    assert len(red.boxes) == len(red.text.split())
    hidden = {(b.left, b.top) for b in red.hidden}
    assert {(w.left, w.top) for w in line0[1:5]} | {(line1[1].left, line1[1].top)} == hidden
    card_box = red.boxes[1]
    assert card_box.left == line0[1].left and card_box.right == line0[4].left + line0[4].width
    clean = redact_words(line0[:1], "Card", core_redact)
    assert clean.hidden == () and clean.text == "Card"


def test_the_persons_words_and_switched_off_kinds_follow_to_the_picture() -> None:
    """Settings › Privacy reaches the screenshot: own words are painted over, a kind
    switched off is not."""
    from core.redact import redactor

    settings = {"redact_off": ["card"], "redact_terms": ["Project Bluebird"]}
    line0 = words_line(0, 10, "Card", "4111", "1111", "1111", "1111", "ok")
    line1 = words_line(1, 60, "Status", "of", "project", "bluebird", "today")
    text = "Card 4111 1111 1111 1111 ok\nStatus of project bluebird today"
    red = redact_words(line0 + line1, text, redactor(settings))
    assert red.text == "Card 4111 1111 1111 1111 ok\nStatus of [redacted:custom] today"
    assert red.counts == {"custom": 1}
    assert {(b.left, b.top) for b in red.hidden} == {(w.left, w.top) for w in line1[2:4]}


def test_boxes_round_trip_compactly() -> None:
    boxes = [Rect(0, 0, 10, 20), Rect(1919, 1079, 300, 40), Rect(70000, -5, 1, 1)]
    encoded = encode_boxes(boxes)
    assert len(encoded) <= 12 * len(boxes)
    assert decode_boxes(encoded) == [boxes[0], boxes[1], Rect(65535, 0, 1, 1)]


def test_thumbnail_is_small_webp_with_secrets_painted_over() -> None:
    pixels = np.full((1080, 1920, 4), 255, dtype=np.uint8)
    pixels[500:540, 800:1200, :3] = 40  # "text" that must be hidden
    frame = Frame(bytearray(pixels.tobytes()), 1920, 1080)
    secret = Rect(800, 500, 400, 40)
    picture = take_picture(frame, frame.rect, [secret], full_shot=Rect(700, 400, 600, 300))
    thumb, full = encode(picture)
    assert thumb[:4] == b"RIFF" and thumb[8:12] == b"WEBP"
    image = Image.open(io.BytesIO(thumb)).convert("RGB")
    assert image.width == 640 and image.height == 360
    scale = 640 / 1920
    box = np.asarray(image)[int(505 * scale):int(535 * scale), int(810 * scale):int(1190 * scale)]
    assert box.max() < 40  # painted black, not the grey "text"
    assert full is not None
    full_image = Image.open(io.BytesIO(full)).convert("RGB")
    assert full_image.size == (600, 300)
    assert np.asarray(full_image)[110:130, 150:450].max() < 40
    # The frame itself is untouched (it may still be read by OCR).
    assert frame.pixels()[510, 900, 0] == 40
    # One monitor of a wider desktop, and a screen already narrower than a thumbnail.
    second = take_picture(frame, Rect(960, 0, 960, 1080), [secret])
    assert second.thumb.size == (640, 720) and second.shot == Rect(960, 0, 960, 1080)
    assert np.asarray(second.thumb)[int(510 * 2 / 3), int(100 * 2 / 3)].max() < 40
    small = Frame(bytearray(pixels[:300, :500].tobytes()), 500, 300)
    assert take_picture(small, small.rect).thumb.size == (500, 300)


def test_exact_rows_and_tile_digests() -> None:
    from ingest.screen.change import ChangeDetector

    pixels = np.full((256, 512, 4), 255, dtype=np.uint8)
    tiles, exact = ChangeDetector(), ChangeDetector(exact_rows=True)
    for det in (tiles, exact):
        det.update(Frame(pixels.tobytes(), 512, 256))
    before = exact.digest(Rect(0, 0, 256, 128))
    changed = pixels.copy()
    changed[70:83, 20:200, :3] = 0  # one line of "text", 13 px tall, inside tile row 1
    assert tiles.update(Frame(changed.tobytes(), 512, 256)).rects == (Rect(0, 64, 256, 64),)
    got = exact.update(Frame(changed.tobytes(), 512, 256))
    assert got.rects == (Rect(0, 70, 256, 13),)  # the rows that changed, tile-wide
    assert exact.digest(Rect(0, 0, 256, 128)) != before
    assert exact.digest(Rect(300, 0, 200, 60)) == exact.digest(Rect(300, 0, 200, 60))
    exact.update(Frame(changed.tobytes(), 512, 256))
    assert exact.update(Frame(changed.tobytes(), 512, 256)).rects == ()
