import io
import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import nblabel as nl
from nblabel.io._images import load_display_image


def _jpeg_with_orientation(path, w, h, orientation):
    im = Image.fromarray(np.random.default_rng(1).integers(0, 255, (h, w, 3), dtype=np.uint8))
    exif = Image.Exif()
    exif[0x0112] = orientation
    im.save(path, exif=exif.tobytes(), quality=90)


def test_folder_glob_list_dataframe(tmp_path, image_dir):
    p = nl.open(tmp_path / "a.duckdb")
    r = p.add_images(image_dir)
    assert (r.added, r.skipped) == (3, 0)
    assert sorted(p.media().df()["file_name"]) == ["a.jpg", "b.jpg", "sub/c.jpg"]
    assert p.add_images(str(image_dir / "*.jpg")).duplicates == 2  # exact duplicates are skipped
    q = nl.open(tmp_path / "b.duckdb")
    assert q.add_images([image_dir / "a.jpg", str(image_dir / "b.jpg")]).added == 2
    q2 = nl.open(tmp_path / "c.duckdb")
    df = pd.DataFrame({"path": [str(image_dir / "a.jpg"), str(image_dir / "sub/c.jpg")], "split": ["train", "val"],
                       "weather": ["sun", None]})
    q2.add_images(df, meta={"camera": "cam1"})
    metas = q2.media().df().sort_values("media_id")["meta"].tolist()
    import json
    assert json.loads(metas[0]) == {"camera": "cam1", "split": "train", "weather": "sun"}
    assert json.loads(metas[1])["weather"] is None
    sizes = q2.media().df().sort_values("media_id")[["width", "height"]].values.tolist()
    assert sizes == [[64, 48], [50, 40]]


def test_arrays_and_pil_are_written_to_media_folder(tmp_path):
    p = nl.open(tmp_path / "p.duckdb")
    r = p.add_images([np.zeros((10, 20, 3), np.uint8), Image.new("L", (7, 5))])
    assert r.added == 2
    uris = p.media().df()["uri"].tolist()
    assert all(u.startswith(str(tmp_path / "p.media")) for u in uris)


def test_exif_orientation_swaps_sizes(tmp_path):
    _jpeg_with_orientation(tmp_path / "rot.jpg", 40, 20, 6)  # stored 40x20, displayed 20x40
    p = nl.open(tmp_path / "p.duckdb")
    p.add_images(tmp_path / "rot.jpg")
    m = p.media_info(1)
    assert (m["width"], m["height"], m["orientation"]) == (20, 40, 6)
    assert load_display_image(m["uri"], 6).size == (20, 40)
    p.schema.add_label("car")
    with pytest.raises(nl.ValidationError, match="entirely outside"):
        p.add_instance(1, "car", box=[25, 1, 35, 5])  # valid in stored orientation, not displayed


def test_bad_files_reported_and_batch_continues(tmp_path, image_dir):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "empty.jpg").write_bytes(b"")
    (tmp_path / "bad" / "text.png").write_text("not an image")
    data = (image_dir / "a.jpg").read_bytes()
    (tmp_path / "bad" / "trunc.jpg").write_bytes(data[: len(data) // 2])
    paths = [image_dir / "a.jpg", tmp_path / "bad" / "empty.jpg", tmp_path / "bad" / "text.png",
             tmp_path / "bad" / "trunc.jpg", tmp_path / "missing.jpg", image_dir / "b.jpg"]
    p = nl.open(tmp_path / "p.duckdb")
    r = p.add_images(paths)
    assert (r.added, r.skipped, len(r.problems)) == (2, 4, 4)
    text = r.summary()
    for needle in ("empty.jpg", "text.png", "truncated JPEG", "missing.jpg", "does not exist"):
        assert needle in text


@pytest.mark.parametrize("mode", ["I;16", "L", "RGBA", "CMYK", "P", "LA", "1", "F"])
def test_every_mode_loads_for_display(tmp_path, mode):
    suffix = ".tif" if mode in ("CMYK", "F") else ".png"
    path = tmp_path / f"img{suffix}"
    im = Image.new(mode, (12, 8))
    if mode == "I;16":
        im = Image.fromarray(np.arange(96, dtype=np.uint16).reshape(8, 12) * 600)
    im.save(path)
    p = nl.open(tmp_path / "p.duckdb")
    assert p.add_images(path).added == 1
    out = load_display_image(path)
    assert out.size == (12, 8) and out.mode in ("RGB", "RGBA")
    if mode == "I;16":
        a = np.asarray(out)[..., 0]
        assert a.min() == 0 and a.max() == 255  # 16-bit contrast stretched, not clipped to black


def test_cmyk_jpeg(tmp_path):
    buf = io.BytesIO()
    Image.new("CMYK", (9, 9), (0, 255, 255, 0)).save(buf, format="JPEG")
    (tmp_path / "c.jpg").write_bytes(buf.getvalue())
    p = nl.open(tmp_path / "p.duckdb")
    assert p.add_images(tmp_path / "c.jpg").added == 1
    assert load_display_image(tmp_path / "c.jpg").mode == "RGB"


def test_unknown_source_type(tmp_path):
    with pytest.raises(nl.ValidationError, match="cannot read images from a int"):
        nl.open(tmp_path / "p.duckdb").add_images(5)
    with pytest.raises(nl.ValidationError, match="needs a 'path' column"):
        nl.open(tmp_path / "q.duckdb").add_images(pd.DataFrame({"x": [1]}))


def test_status_skip_needs_reason(proj):
    with pytest.raises(nl.ValidationError, match="needs a reason"):
        proj.set_status(1, "skipped")
    proj.skip(1, "blurry")
    st = proj.status(1)
    assert (st["state"], st["reason"], st["author"]) == ("skipped", "blurry", "tester")
    proj.set_status("b.jpg", "in_progress", seconds_active=3)
    proj.set_status("b.jpg", "complete", seconds_active=2)
    st = proj.status("b.jpg")
    assert st["seconds_active"] == 5 and st["finished_at"] is not None
    with pytest.raises(nl.MediaError, match="did you mean 'b.jpg'"):
        proj.status("bb.jpg")


def test_a_dataframe_of_metadata_lines_up_with_a_list_of_arrays(tmp_path):
    p = nl.open(":memory:", media_dir=tmp_path / "m")
    arrays = [np.full((4, 4, 3), v, np.uint8) for v in (0, 1)]
    rep = p.add_images(arrays, pd.DataFrame({"scene": ["a", "b"]}))
    assert rep.added == 2
    metas = p.media().df().sort_values("media_id")["meta"].tolist()
    assert [json.loads(m)["scene"] for m in metas] == ["a", "b"]
    with pytest.raises(nl.ValidationError, match="3 rows but the source has 2 images"):
        p.add_images([np.full((4, 4, 3), v, np.uint8) for v in (5, 6)], pd.DataFrame({"scene": ["a", "b", "c"]}))
