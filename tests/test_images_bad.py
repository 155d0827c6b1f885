"""Bad and huge images (issue 8 §6): bombs, full decodes at probe time, link loops, empty sources, truncation.

Every bad file is generated here, small: a 30000×30000 PNG is a 1×1 PNG whose IHDR says otherwise.
"""

import io
import json
import os
import signal
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageFile

import nblabel as nl
from nblabel.io._images import load_display_image, probe
from nblabel.widgets._display import display_size, encode_display
from nblabel.widgets._thumbs import make_thumbnail


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    out, pos = [], 8
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        out.append((kind, data[pos + 8:pos + 8 + n]))
        pos += 12 + n
    return out


def _png(chunks: list[tuple[bytes, bytes]]) -> bytes:
    body = b"".join(struct.pack(">I", len(c)) + k + c + struct.pack(">I", zlib.crc32(k + c)) for k, c in chunks)
    return b"\x89PNG\r\n\x1a\n" + body


def _png_declaring(w: int, h: int) -> bytes:
    """A valid 1×1 PNG whose header (IHDR, with a correct CRC) declares w × h."""
    buf = io.BytesIO()
    Image.new("RGB", (1, 1)).save(buf, format="PNG")
    chunks = _chunks(buf.getvalue())
    kind, ihdr = chunks[0]
    assert kind == b"IHDR"
    chunks[0] = (kind, struct.pack(">II", w, h) + ihdr[8:])
    return _png(chunks)


def _jpeg(w: int, h: int, seed: int = 0) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (h, w, 3), dtype=np.uint8)).save(
        buf, format="JPEG", quality=90)
    return buf.getvalue()


def test_bomb_png_is_reported_per_file_and_the_batch_goes_on(tmp_path, monkeypatch):
    (tmp_path / "imgs").mkdir()
    (tmp_path / "imgs" / "a.jpg").write_bytes(_jpeg(32, 24))
    (tmp_path / "imgs" / "bomb.png").write_bytes(_png_declaring(30000, 30000))
    (tmp_path / "imgs" / "z.jpg").write_bytes(_jpeg(20, 10, seed=1))
    p = nl.open(tmp_path / "p.duckdb")
    r = p.add_images(tmp_path / "imgs")
    assert (r.added, r.skipped, len(r.problems)) == (2, 1, 1)
    reason = r.problems[0].reason
    assert "bomb.png" in reason and "30000×30000" in reason and "900,000,000 pixels" in reason
    assert "PIL.Image.MAX_IMAGE_PIXELS = None" in reason  # how to allow it
    # through COCO too: the good image goes in, the bomb is a problem naming the file
    coco = {"images": [{"id": 1, "file_name": "a.jpg", "width": 32, "height": 24},
                       {"id": 2, "file_name": "bomb.png", "width": 30000, "height": 30000}],
            "annotations": [], "categories": [{"id": 1, "name": "car"}]}
    (tmp_path / "imgs" / "gt.json").write_text(json.dumps(coco))
    q = nl.open(tmp_path / "q.duckdb")
    rc = q.import_coco(tmp_path / "imgs" / "gt.json")
    assert len(q.media().df()) == 1
    assert any("bomb.png" in f"{x.item} {x.reason}" and "MAX_IMAGE_PIXELS" in x.reason for x in rc.problems)
    # allowed as documented: the size comes from the header, nothing is decoded
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    info = probe(tmp_path / "imgs" / "bomb.png")
    assert (info.width, info.height) == (30000, 30000)


def _no_decoding(monkeypatch):
    def refuse(self, *a, **k):
        raise AssertionError(f"decoded pixels of a {self.format} while probing")
    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)


@pytest.mark.parametrize("exif_after_idat", [False, True])
def test_png_probe_reads_orientation_from_the_header_without_decoding(tmp_path, monkeypatch, exif_after_idat):
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    Image.new("RGB", (40, 20), (10, 20, 30)).save(buf, format="PNG", exif=exif.tobytes())
    chunks = _chunks(buf.getvalue())
    assert b"eXIf" in [k for k, _ in chunks]
    if exif_after_idat:  # allowed by the PNG spec; PIL only finds it by decoding the image
        ex = next(c for c in chunks if c[0] == b"eXIf")
        chunks.remove(ex)
        chunks.insert(len(chunks) - 1, ex)  # just before IEND
    path = tmp_path / "rot.png"
    path.write_bytes(_png(chunks))
    _no_decoding(monkeypatch)
    info = probe(path)
    assert (info.width, info.height, info.orientation) == (20, 40, 6)


def test_huge_png_is_reduced_right_after_decoding(tmp_path, monkeypatch):
    path = tmp_path / "big.png"
    Image.new("RGB", (4000, 3000), (200, 10, 10)).save(path)
    sizes = []
    real_convert = Image.Image.convert

    def convert(self, *a, **k):
        sizes.append(self.size)
        return real_convert(self, *a, **k)

    monkeypatch.setattr(Image.Image, "convert", convert)
    d = encode_display(path, width=4000, height=3000, fmt="PNG", max_side=1000)
    assert (d.display_width, d.display_height) == (1000, 750)
    # converted (if at all: an RGB image needs no conversion, so no copy) after the 4× reduction, never at full size
    assert max(sizes, default=(0, 0)) <= (1000, 750)
    im = Image.open(io.BytesIO(d.data))
    assert im.size == (1000, 750) and im.convert("RGB").getpixel((500, 375)) == pytest.approx((200, 10, 10), abs=3)
    sizes.clear()
    assert Image.open(io.BytesIO(make_thumbnail(path, 100))).size == (100, 75)
    assert max(sizes, default=(0, 0)) <= (1000, 750)
    # a sideways (EXIF 6) JPEG: decoded at 1/8 (DCT scaling), upright, never below the requested size
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("RGB", (4000, 3000), (10, 200, 10)).save(tmp_path / "side.jpg", exif=exif.tobytes())
    sizes.clear()
    assert load_display_image(tmp_path / "side.jpg", 6, fit=(300, 400)).size == (375, 500)
    assert max(sizes, default=(0, 0)) <= (500, 375)


def test_glob_through_a_directory_link_loop_returns(tmp_path):
    root = tmp_path / "tree"
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "x.jpg").write_bytes(_jpeg(16, 16))
    (root / "a" / "b" / "y.jpg").write_bytes(_jpeg(16, 16, seed=2))
    os.symlink("../..", root / "a" / "b" / "up")  # a/b/up -> tree: glob.glob would recurse forever
    os.symlink("a", root / "again")
    p = nl.open(tmp_path / "p.duckdb")

    def timeout(*_):
        raise TimeoutError("add_images did not return in 30 s")

    old = signal.signal(signal.SIGALRM, timeout)
    signal.alarm(30)
    try:
        r = p.add_images(str(root / "**" / "*.jpg"))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    assert (r.added, r.duplicates, len(r.problems)) == (2, 0, 0)
    assert sorted(p.media().df()["file_name"]) == ["a/b/y.jpg", "a/x.jpg"]
    # the same glob as glob.glob on a tree without loops, hidden names excluded
    (root / ".hidden").mkdir()
    (root / ".hidden" / "h.jpg").write_bytes(_jpeg(8, 8, seed=3))
    assert nl.open(tmp_path / "q.duckdb").add_images(str(root / "a" / "*.jpg")).added == 1


def test_sources_without_images_say_what_was_seen(tmp_path):
    p = nl.open(tmp_path / "p.duckdb")
    (tmp_path / "empty").mkdir()
    r = p.add_images(tmp_path / "empty")
    assert r.added == 0 and "has no files" in r.summary() and ".jpg" in r.summary()
    (tmp_path / "vec").mkdir()
    (tmp_path / "vec" / "a.svg").write_text("<svg/>")
    (tmp_path / "vec" / "b.svg").write_text("<svg/>")
    (tmp_path / "vec" / "c.heic").write_bytes(b"\0" * 10)
    text = p.add_images(tmp_path / "vec").summary()
    assert "3 file(s) but no image" in text and ".svg ×2" in text and ".heic ×1" in text and ".png" in text
    text = p.add_images(str(tmp_path / "nothing" / "*.jpg")).summary()
    assert "matched no files" in text and "nothing" in text
    (tmp_path / "vec" / "ok.jpg").write_bytes(_jpeg(8, 8))
    r = p.add_images(tmp_path / "vec")
    assert r.added == 1 and "3 file(s)" in r.summary() and "not looked at" in r.summary()
    assert "no images to add" in p.add_images([]).summary()


@pytest.mark.parametrize(("w", "h", "cut", "options"), [
    (96, 64, 0.5, {}), (640, 480, 0.8, {}), (640, 480, 0.5, {"optimize": True}), (200, 120, 0.7, {"subsampling": 0}),
    (3000, 2000, 0.6, {})])
def test_truncated_jpeg_with_an_end_marker_is_refused_for_display(tmp_path, w, h, cut, options):
    rng = np.random.default_rng(0)
    if w * h > 10**6:  # large but cheap to make: smooth, so the file stays small
        yy, xx = np.mgrid[0:h, 0:w]
        a = np.stack([xx * 255 // w, yy * 255 // h, (xx + yy) % 256], -1).astype(np.uint8)
    else:
        a = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="JPEG", quality=90, **options)
    data = buf.getvalue()
    (tmp_path / "cut.jpg").write_bytes(data[: int(len(data) * cut)] + b"\xff\xd9")
    (tmp_path / "ok.jpg").write_bytes(data)
    grey = np.full((64, 96, 3), 128, np.uint8)  # a complete image whose bottom is exactly mid-grey is fine
    grey[:8] = 30
    Image.fromarray(grey).save(tmp_path / "partly_grey.jpg")
    p = nl.open(tmp_path / "p.duckdb")
    assert p.add_images([tmp_path / "ok.jpg", tmp_path / "cut.jpg", tmp_path / "partly_grey.jpg"]).added == 3
    for name, (iw, ih) in {"ok.jpg": (w, h), "partly_grey.jpg": (96, 64)}.items():
        for side in (4096, 256):  # sent as the file's bytes, and decoded reduced
            d = encode_display(tmp_path / name, width=iw, height=ih, fmt="JPEG", max_side=side)
            assert d.display_width == display_size(iw, ih, side)[0]
    for side in (4096, 256):
        with pytest.raises(nl.MediaError, match=r"cut\.jpg.*truncated JPEG.*re-copy or re-encode"):
            encode_display(tmp_path / "cut.jpg", width=w, height=h, fmt="JPEG", max_side=side)
