"""Huge images show fast: one decode per image ever (the display store), previews cut from the display
image for formats with no reduced decode, the next queue item prepared in the background."""

from __future__ import annotations

import io
import os
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import nblabel as nl
from nblabel.io import _display_cache as dc
from nblabel.io._display_cache import CachedDisplay, DisplayStore, display_store_folder
from nblabel.widgets import _display
from nblabel.widgets._display import _shrink
from nblabel.widgets._display_queue import DisplayCache


def _gradient(w: int, h: int) -> Image.Image:
    x = np.linspace(0, 255, w, dtype=np.float32)[None, :].repeat(h, 0)
    y = np.linspace(0, 255, h, dtype=np.float32)[:, None].repeat(w, 1)
    return Image.fromarray(np.dstack([x, y, (x + y) / 2]).astype(np.uint8))


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every full decode of a source file made for display (the expensive step)."""
    seen: list[str] = []
    real = _display.load_display_image

    def counting(path: Any, *a: Any, **k: Any) -> Image.Image:
        seen.append(str(path))
        return real(path, *a, **k)

    monkeypatch.setattr(_display, "load_display_image", counting)
    return seen


def _q(path: Path, w: int, h: int, fmt: str = "PNG", mid: int = 1, sha: str | None = "ab" * 32) -> dict[str, Any]:
    return {"media_id": mid, "uri": str(path), "width": w, "height": h, "format": fmt, "orientation": 1,
            "sha256": sha}


# -- the store ------------------------------------------------------------------------------------
def test_store_round_trip_is_atomic_and_beside_the_project(tmp_path: Path) -> None:
    src = tmp_path / "a.png"
    src.write_bytes(b"source" * 100)
    folder = display_store_folder(tmp_path / "p.duckdb")
    assert folder == tmp_path / "p.cache" / "display"
    s = DisplayStore(folder)
    assert s.get("cd" * 32, "v", src) is None
    s.put("cd" * 32, "v", src, CachedDisplay(b"\xff\xd8 jpeg", "image/jpeg"))
    assert s.get("cd" * 32, "v", src) == CachedDisplay(b"\xff\xd8 jpeg", "image/jpeg")
    files = sorted(p.name for p in folder.rglob("*") if p.is_file())
    assert files == [f"{'cd' * 32}-v.bin"]  # no temporary file left behind
    assert s.get("cd" * 32, "other-variant", src) is None


@pytest.mark.parametrize("damage", ["truncate", "flip", "header", "empty", "mime"])
def test_a_corrupt_entry_is_ignored(tmp_path: Path, damage: str) -> None:
    src = tmp_path / "a.png"
    src.write_bytes(b"source")
    s = DisplayStore(tmp_path / "cache")
    s.put("ef" * 32, "v", src, CachedDisplay(b"0123456789" * 50, "image/png"))
    where = s.entry_path("ef" * 32, "v")
    assert where is not None
    raw = where.read_bytes()
    if damage == "truncate":
        raw = raw[:-7]
    elif damage == "flip":
        raw = raw[:-1] + bytes([raw[-1] ^ 1])
    elif damage == "header":
        raw = raw.replace(b'"length"', b'"lengt"')
    elif damage == "empty":
        raw = b""
    else:
        raw = raw.replace(b"image/png", b"text/html")
    where.write_bytes(raw)
    assert s.get("ef" * 32, "v", src) is None


def test_a_changed_source_file_is_not_served_from_the_store(tmp_path: Path) -> None:
    src = tmp_path / "a.png"
    src.write_bytes(b"source")
    for s in (DisplayStore(tmp_path / "cache"), DisplayStore(None, memory=dc._MemoryLRU(1 << 20))):
        s.put("01" * 32, "v", src, CachedDisplay(b"bytes", "image/jpeg"))
        assert s.get("01" * 32, "v", src) is not None
        src.write_bytes(b"edited source")
        assert s.get("01" * 32, "v", src) is None
        src.write_bytes(b"source")


def test_unwritable_folder_falls_back_to_memory_and_memory_is_bounded(tmp_path: Path) -> None:
    src = tmp_path / "a.png"
    src.write_bytes(b"source")
    blocker = tmp_path / "file"
    blocker.write_bytes(b"not a folder")
    mem = dc._MemoryLRU(25)
    s = DisplayStore(blocker / "display", memory=mem)  # mkdir fails: a file is in the way
    s.put("02" * 32, "v", src, CachedDisplay(b"x" * 10, "image/jpeg"))
    assert s.get("02" * 32, "v", src) == CachedDisplay(b"x" * 10, "image/jpeg")
    s.put("03" * 32, "v", src, CachedDisplay(b"y" * 10, "image/jpeg"))
    s.put("04" * 32, "v", src, CachedDisplay(b"z" * 10, "image/jpeg"))  # 30 bytes > 25: the oldest goes
    assert s.get("02" * 32, "v", src) is None
    assert s.get("04" * 32, "v", src) is not None


def test_the_folder_is_pruned_oldest_first(tmp_path: Path) -> None:
    src = tmp_path / "a.png"
    src.write_bytes(b"source")
    s = DisplayStore(tmp_path / "cache", max_bytes=2500)
    for i in range(4):
        s.put(f"{i:02d}" * 32, "v", src, CachedDisplay(bytes(1000), "image/jpeg"))
        where = s.entry_path(f"{i:02d}" * 32, "v")
        assert where is not None
        os.utime(where, (time.time() - 100 + i, time.time() - 100 + i))
    assert [s.get(f"{i:02d}" * 32, "v", src) is not None for i in range(4)] == [False, False, True, True]


# -- the decode -----------------------------------------------------------------------------------
def test_shrink_uses_an_area_average_for_big_images_and_keeps_the_picture() -> None:
    im = _gradient(3000, 2000)
    small = _shrink(im, (2048, 1365))
    ref = im.resize((2048, 1365), Image.Resampling.LANCZOS)
    diff = np.abs(np.asarray(small, np.int16) - np.asarray(ref, np.int16))
    assert small.size == (2048, 1365) and diff.mean() < 1.0 and diff.max() <= 3
    assert _shrink(im, im.size) is im


def test_big_png_display_goes_to_the_store_and_is_decoded_once(tmp_path: Path, decodes: list[str]) -> None:
    path = tmp_path / "big.png"
    _gradient(3000, 2000).save(path)
    q = _q(path, 3000, 2000)
    first = DisplayCache(1000, store=DisplayStore(tmp_path / "cache"), min_pixels=1)
    img = first.image(q)
    assert (img.display_width, img.display_height, img.mime) == (1000, 667, "image/jpeg")
    assert len(decodes) == 1
    first.close()
    again = DisplayCache(1000, store=DisplayStore(tmp_path / "cache"), min_pixels=1)  # a new session
    same = again.image(q)
    assert len(decodes) == 1 and same == img
    # a corrupt entry is rebuilt, with the same bytes
    entry = again.store.entry_path(q["sha256"], "v2-1000-o1") if again.store else None
    assert entry is not None
    entry.write_bytes(entry.read_bytes()[:100])
    rebuilt = DisplayCache(1000, store=DisplayStore(tmp_path / "cache"), min_pixels=1).image(q)
    assert len(decodes) == 2 and rebuilt == img
    assert DisplayCache(1000, store=DisplayStore(tmp_path / "cache"), min_pixels=1).image(q) == img
    assert len(decodes) == 2
    again.close()


def test_small_or_pass_through_images_do_not_go_to_the_store(tmp_path: Path) -> None:
    path = tmp_path / "small.png"
    _gradient(300, 200).save(path)
    store = DisplayStore(tmp_path / "cache")
    c = DisplayCache(1000, store=store, min_pixels=1)
    assert c.image(_q(path, 300, 200)).data == path.read_bytes()  # sent as its own bytes
    big = DisplayCache(100, store=store, min_pixels=10**9)
    big.image(_q(path, 300, 200, mid=2))
    assert not (tmp_path / "cache").exists()
    c.close()
    big.close()


def test_png_preview_is_cut_from_the_display_image(tmp_path: Path, decodes: list[str]) -> None:
    path = tmp_path / "big.png"
    _gradient(4000, 3000).save(path)
    c = DisplayCache(2048)
    q = _q(path, 4000, 3000, sha=None)
    prev = c.preview(q)
    assert prev is not None and (prev.display_width, prev.display_height) == (1000, 750)  # 1/4: a box reduction
    full = c.image(q)
    assert (full.display_width, full.display_height) == (2000, 1500)  # 1/2 keeps >= 90 % of 2048
    assert len(decodes) == 1  # one decode for both
    a = np.asarray(Image.open(io.BytesIO(prev.data)).convert("RGB"), np.int16)
    b = np.asarray(_gradient(4000, 3000).resize((1000, 750), Image.Resampling.LANCZOS), np.int16)
    assert np.abs(a - b).mean() < 3
    # a JPEG keeps its own reduced decode when the display image is not ready
    jpg = tmp_path / "big.jpg"
    _gradient(4000, 3000).save(jpg, quality=90)
    c.preview(_q(jpg, 4000, 3000, fmt="JPEG", mid=2, sha=None))
    assert decodes[-1] == str(jpg) and len(decodes) == 2
    c.close()


def test_a_failing_display_image_fails_its_derived_preview_quietly(tmp_path: Path) -> None:
    path = tmp_path / "gone.png"
    _gradient(3000, 2000).save(path)
    c = DisplayCache(2048)
    q = _q(path, 3000, 2000, sha=None)
    path.unlink()
    assert c.preview(q) is None
    with pytest.raises(nl.errors.MediaError, match="gone.png"):
        c.image(q)
    c.close()


# -- the annotator --------------------------------------------------------------------------------
def _load(w: Any, **msg: Any) -> tuple[dict[str, Any], list[bytes]]:
    sent: list[tuple[dict[str, Any], list[bytes]]] = []
    w.send = lambda content, buffers=None: sent.append((content, list(buffers or [])))
    w._handle_msg({"content": {"data": {"method": "custom", "content": {"id": "r1", **msg}}}, "buffers": []})
    return sent[-1]


def test_annotator_prefetches_the_next_image_and_keeps_huge_ones_beside_the_project(
        tmp_path: Path, decodes: list[str]) -> None:
    for i in range(2):  # 16 MP each (the store's threshold), one colour: decodes fast
        Image.new("RGB", (4000, 4000), (40 * i, 100, 200)).save(tmp_path / f"huge{i}.png")
    proj = nl.open(tmp_path / "p.duckdb")
    proj.add_images(sorted(tmp_path.glob("huge*.png")))
    w = proj.annotate()
    reply, bufs = _load(w, kind="load", index=0)
    assert reply["ok"] and reply["item"]["display_width"] == 4000
    nxt = w._cache[2]
    nxt.result(timeout=60)  # prepared in the background while item 0 is shown
    n = len(decodes)
    reply, _ = _load(w, kind="load", index=1)
    assert reply["ok"] and len(decodes) == n  # stepping on waited for no decode
    w.close()
    folder = tmp_path / "p.cache" / "display"
    assert len(list(folder.rglob("*.bin"))) == 0  # 4000² fits 4096: sent as the file's own bytes
    w = proj.annotate(max_display=1000)
    _load(w, kind="load", index=0)
    w._cache[2].result(timeout=60)
    w.close()
    assert len(list(folder.rglob("*.bin"))) == 2
    n = len(decodes)
    w = nl.open(tmp_path / "p.duckdb").annotate(max_display=1000)  # another session: no decode at all
    reply, bufs = _load(w, kind="load", index=0)
    assert reply["ok"] and Image.open(io.BytesIO(bufs[0])).size == (1000, 1000)
    w._cache[2].result(timeout=60)
    assert len(decodes) == n
    w.close()


def test_in_memory_project_uses_the_process_lru(tmp_path: Path, decodes: list[str]) -> None:
    proj = nl.open(":memory:")
    Image.new("RGB", (4000, 4000), (1, 2, 3)).save(tmp_path / "h.png")
    proj.add_images([tmp_path / "h.png"])
    for _ in range(2):
        w = proj.annotate(max_display=512)
        reply, bufs = _load(w, kind="load", index=0)
        assert reply["ok"] and Image.open(io.BytesIO(bufs[0])).size == (500, 500)
        w.close()
    assert decodes.count(str((tmp_path / "h.png").resolve())) == 1
    assert not list(tmp_path.glob("*.cache"))


def test_png_preview_is_ready_before_the_display_encode_finishes(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.png"
    _gradient(3000, 2000).save(path)
    gate = threading.Event()
    real = _display._shrink

    def held(im: Image.Image, size: tuple[int, int]) -> Image.Image:
        if size == (2048, 1365):  # the display image's resize waits until the preview is out
            assert gate.wait(60)
        return real(im, size)

    monkeypatch.setattr(_display, "_shrink", held)
    c = DisplayCache(2048)
    q = _q(path, 3000, 2000, sha=None)
    prev = c.prefetch_preview(q).result(timeout=60)
    assert prev is not None and (prev.display_width, prev.display_height) == (1000, 667)
    assert not c.images[1].done()
    gate.set()
    assert c.image(q).display_width == 2048
    # an image prefetched before anyone asked for its preview has the preview ready too
    c.prefetch(_q(path, 3000, 2000, mid=2, sha=None)).result(timeout=60)
    assert c.previews[2].done() and c.preview(_q(path, 3000, 2000, mid=2, sha=None)) is not None
    c.close()


# -- whole-factor display sizes -------------------------------------------------------------------
def test_a_whole_factor_display_is_made_by_the_decoder_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            decodes: list[str]) -> None:
    """A display size that is the image divided by a whole factor needs no resampling pass: a PNG is
    box-reduced once, an odd-sized JPEG is decoded at half size (Pillow's draft picks its scale by floor
    division, so asking it for 401 px of 801 decoded all 801)."""
    _gradient(1200, 900).save(tmp_path / "a.png")
    _gradient(801, 601).save(tmp_path / "b.jpg", quality=90)
    decoded: list[tuple[int, int]] = []
    real = _display.load_display_image
    monkeypatch.setattr(_display, "load_display_image",
                        lambda *a, **k: decoded.append((im := real(*a, **k)).size) or im)

    def no_resample(self: Image.Image, *a: Any, **k: Any) -> Image.Image:
        raise AssertionError(f"resampled {self.size} -> {a[0] if a else k.get('size')}")

    monkeypatch.setattr(Image.Image, "resize", no_resample)
    d = _display.encode_display(tmp_path / "a.png", width=1200, height=900, fmt="PNG", max_side=410)
    assert (d.display_width, d.display_height, d.display_scale) == (400, 300, 1 / 3)  # 400 >= 90 % of 410
    assert Image.open(io.BytesIO(d.data)).size == (400, 300) and decoded[-1] == (400, 300)
    d = _display.encode_display(tmp_path / "b.jpg", width=801, height=601, fmt="JPEG", max_side=401)
    assert (d.display_width, d.display_height, d.display_scale) == (401, 301, 0.5)
    assert Image.open(io.BytesIO(d.data)).size == (401, 301) and decoded[-1] == (401, 301)  # a 1/2 DCT decode
    px = np.asarray(Image.open(io.BytesIO(d.data)).convert("RGB"), np.int16)
    ref = np.asarray(_gradient(801, 601).reduce(2), np.int16)
    assert np.abs(px - ref).mean() < 4  # the picture, not just its size


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(w=st.integers(17, 420), h=st.integers(17, 420), side=st.integers(16, 300),
       fmt=st.sampled_from(["PNG", "JPEG"]), turned=st.booleans())
def test_the_encoded_display_image_has_the_size_the_browser_is_told(tmp_path: Path, w: int, h: int, side: int,
                                                                     fmt: str, turned: bool) -> None:
    """``display_size`` (sent with the item before the image) is exactly what ``encode_display`` makes,
    for every size, cap, format and EXIF rotation; the longest side is at most the cap and at least 90 %
    of it, and the scale maps the original's longest side onto the display's."""
    path = tmp_path / f"x.{fmt.lower()}"
    stored = (h, w) if turned else (w, h)
    exif = Image.Exif()
    if turned:
        exif[0x0112] = 6  # stored sideways: the upright image is w x h
    _gradient(*stored).save(path, format=fmt, exif=exif)
    dw, dh, scale = _display.display_size(w, h, side)
    d = _display.encode_display(path, width=w, height=h, orientation=6 if turned else 1, fmt=fmt, max_side=side)
    assert (d.display_width, d.display_height, d.display_scale) == (dw, dh, scale)
    assert Image.open(io.BytesIO(d.data)).size == (dw, dh)
    if max(w, h) > side:
        assert 0.9 * side <= max(dw, dh) <= side
        assert abs(max(w, h) * scale - max(dw, dh)) < 1


def test_the_next_item_is_decoded_after_the_shown_one_not_beside_it(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """After a preview reply the next queue item is prefetched, but its decode waits for the shown
    item's full display image: on two cores they would share them and the image being waited for
    would come later."""
    for i in range(2):
        _gradient(3000, 2000).save(tmp_path / f"big{i}.png")
    proj = nl.open(tmp_path / "p.duckdb")
    proj.add_images(sorted(tmp_path.glob("big*.png")))
    gate, started = threading.Event(), []
    real_shrink = _display._shrink

    def held(im: Image.Image, size: tuple[int, int]) -> Image.Image:
        if max(size) == 2048:  # a display image (not a preview): the first one waits for the gate
            started.append(size)
            if len(started) == 1:
                assert gate.wait(60)
        return real_shrink(im, size)

    monkeypatch.setattr(_display, "_shrink", held)
    w = proj.annotate(max_display=2048)
    reply, _ = _load(w, kind="load", index=0, preview=True)
    assert reply["ok"] and "preview" in reply["item"]
    time.sleep(0.3)
    assert len(started) == 1 and 2 not in w._cache  # item 1 waits for item 0's display image
    gate.set()
    reply, _ = _load(w, kind="load_full", index=0)
    assert reply["ok"]
    deadline = time.monotonic() + 60
    while 2 not in w._cache and time.monotonic() < deadline:
        time.sleep(0.01)
    w._cache[2].result(timeout=60)
    assert len(started) == 2
    w.close()
