"""Build the bundled sample (notebooks/sample/) from the COCO test images: a few photos, shrunk.

Run from the repo root: ``python scripts/make_sample.py``. The output is committed; this script
documents how it was made. Crowd (RLE) annotations are dropped: they do not survive resizing.
"""

import json
import shutil
from pathlib import Path

from PIL import Image

SRC = Path("tests/data/coco21")
OUT = Path("notebooks/sample")
PICK = ["000000000073.jpg", "000000000086.jpg", "000000000089.jpg", "000000000127.jpg", "000000000309.jpg",
        "000000000370.jpg", "000000000436.jpg", "000000000472.jpg"]
MAX_SIDE = 320

coco = json.loads((SRC / "instances.json").read_text())
images = [im for im in coco["images"] if im["file_name"] in PICK]
ids = {im["id"] for im in images}
(OUT / "images").mkdir(parents=True, exist_ok=True)
scale = {}
for im in images:
    pic = Image.open(SRC / "images" / im["file_name"])
    s = MAX_SIDE / max(pic.size)
    w, h = round(pic.width * s), round(pic.height * s)
    pic.resize((w, h), Image.LANCZOS).save(OUT / "images" / im["file_name"], quality=85)
    scale[im["id"]] = (w / im["width"], h / im["height"])
    im.update(width=w, height=h)
    for k in ("coco_url", "flickr_url"):
        im.pop(k, None)
anns = []
for a in coco["annotations"]:
    if a["image_id"] not in ids or a["iscrowd"]:
        continue
    sx, sy = scale[a["image_id"]]
    x, y, w, h = a["bbox"]
    a["bbox"] = [round(x * sx, 2), round(y * sy, 2), round(w * sx, 2), round(h * sy, 2)]
    a["segmentation"] = [[round(v * (sx if i % 2 == 0 else sy), 2) for i, v in enumerate(poly)]
                         for poly in a["segmentation"]]
    a["area"] = round(a["area"] * sx * sy, 2)
    anns.append(a)
used = {a["category_id"] for a in anns}
cats = [c for c in coco["categories"] if c["id"] in used]
out = {"info": {"description": "nblabel sample: COCO 2017 photos, shrunk"}, "licenses": coco["licenses"],
       "categories": cats, "images": images, "annotations": anns}
(OUT / "instances.json").write_text(json.dumps(out, indent=1))
shutil.copy(SRC / "ATTRIBUTION.md", OUT / "ATTRIBUTION.md")
print(f"{len(images)} images, {len(anns)} annotations, {len(cats)} categories")
