"""Generate notebooks/04_what_to_label.ipynb (stored without outputs: nbval runs it).

Run:  .venv/bin/python notebooks/make_04.py
"""

from __future__ import annotations

from pathlib import Path

from _nbmake import CODE, MD, write

CELLS = [
    MD("""# 04 · What to label next

You have a folder of raw images and time to label a few of them. Which ones?

1. **Embed** every image (one vector each; the default embedder works offline).
2. **Drop near-duplicates**: labelling five copies of one scene teaches the model little.
3. **Pick a diverse batch**: greedy k-center picks, again and again, the image farthest from
   everything already labelled or picked, so the batch covers the collection.
4. Label it, then **pick the next batch**: it fills the gaps the first one left.
5. Once a model exists, pick what it is **unsure** about, or mix both (`strategy="hybrid"`).

The "raw images" are the 21 COCO photos of `tests/data/coco21` plus near-copies of a few of them;
"labelling" copies their COCO boxes into the project, so the notebook runs anywhere."""),
    CODE("""import json
import shutil
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

import nblabel as nl

root = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "tests" / "data" / "coco21").is_dir())
work = root / "notebooks" / "_work" / "04_what_to_label"   # git-ignored
shutil.rmtree(work, ignore_errors=True)
(work / "raw").mkdir(parents=True)
coco = root / "tests" / "data" / "coco21"

# the raw folder: the photos, and a flipped and a resized copy of four of them
photos = sorted((coco / "images").glob("*.jpg"))
for i, path in enumerate(photos):
    im = Image.open(path).convert("RGB")
    im.save(work / "raw" / path.name, quality=92)
    if i % 5 == 0:
        ImageOps.mirror(im).save(work / "raw" / f"{path.stem}_flip.jpg", quality=90)
        im.resize((im.width // 2, im.height // 2)).save(work / "raw" / f"{path.stem}_half.jpg", quality=85)

proj = nl.open(work / "label_next.duckdb", author="demo")
proj.add_images(work / "raw")
proj"""),
    MD("""## Embed, and find the near-duplicates

`embed()` stores one vector per image (resumable: a second call only embeds new images).
`near_duplicates()` groups images closer than a threshold (transitively) and keeps one per group."""),
    CODE("""proj.embed(progress=False)
dups = proj.near_duplicates()
names = proj.media().df()[["media_id", "file_name"]]
dups.groups.merge(names).sort_values(["group", "media_id"])"""),
    MD("""## The first batch: diverse

Nothing is labelled yet, so the first pick is a seeded random image; every later pick is the image
farthest from the picks before it. Near-duplicate copies are never picked (one per group).
`.reasons` says why each was picked; `.coverage_radius` is the largest distance from any image to
its nearest picked (or labelled) one: the smaller, the better the batch covers the collection."""),
    CODE("""batch1 = proj.select(5, seed=0)
print("coverage radius:", round(batch1.coverage_radius, 3))
batch1.reasons.merge(names)[["rank", "file_name", "why"]]"""),
    MD("""A selection is a media slice in pick order: save it, or open it in the annotator as a queue
(`proj.annotate(batch1)`)."""),
    CODE("""batch1.save("batch-1")
batch1.df()[["pick_rank", "media_id", "file_name", "width", "height"]]"""),
    MD("""## Label it (here: copy the COCO boxes) and pick the next batch

Labelled means: a ground-truth instance, or marked complete. Diversity starts from the labelled
images, so the second batch goes where the first one is not."""),
    CODE("""gt = json.loads((coco / "instances.json").read_text())
cats = {c["id"]: c["name"] for c in gt["categories"]}
for name in sorted(set(cats.values())):
    proj.schema.add_label(name)
file_of = {im["id"]: im["file_name"] for im in gt["images"]}

def label(selection):
    wanted = set(selection.df()["file_name"])
    for a in gt["annotations"]:
        if file_of[a["image_id"]] in wanted:
            x, y, w, h = a["bbox"]
            proj.add_instance(file_of[a["image_id"]], cats[a["category_id"]], box=[x, y, x + w, y + h])
    proj.complete(selection.ids())

label(batch1)
batch2 = proj.select(5)
print("coverage radius after batch 1:", round(batch1.coverage_radius, 3),
      "-> after batch 2:", round(batch2.coverage_radius, 3))
print("overlap with batch 1:", set(batch1.ids()) & set(batch2.ids()))
batch2.reasons.merge(names)[["rank", "file_name", "distance", "why"]]"""),
    MD("""## Once a model exists: uncertain, and hybrid

A model run's predictions (simulated here from the COCO boxes, with random scores) tell which
images the model is unsure about: `strategy="uncertain"` ranks by the least sure prediction of
each image (`measure="entropy"`, `"margin"` or `"least_confidence"`). `strategy="hybrid"` multiplies
the normalised scores, each raised to its weight, with diversity inside the k-center loop (a
Lightly-style product)."""),
    CODE("""rng = np.random.default_rng(1)
rows = []
for a in gt["annotations"]:
    x, y, w, h = a["bbox"]
    rows.append({"file_name": file_of[a["image_id"]], "label": cats[a["category_id"]],
                 "x0": x, "y0": y, "x1": x + w, "y1": y + h, "score": float(rng.beta(2, 2))})
import pandas as pd
proj.add_run("detector-v0").add_predictions(pd.DataFrame(rows))

unsure = proj.select(4, strategy="uncertain", run="detector-v0")
unsure.reasons.merge(names)[["rank", "file_name", "uncertainty", "why"]]"""),
    CODE("""mix = proj.select(4, strategy="hybrid", run="detector-v0", weights={"diversity": 1, "uncertain": 2})
mix.reasons.merge(names)[["rank", "file_name", "distance", "uncertainty", "weight"]]"""),
    MD("""Quotas per predicted label keep rare classes in the batch: here two images the detector
thinks show a person, the rest diverse."""),
    CODE("""quota = proj.select(4, run="detector-v0", per_label={"person": 2})
quota.reasons.merge(names)[["rank", "file_name", "quota", "why"]]"""),
]


def main() -> None:
    out = write(CELLS, Path(__file__).resolve().with_name("04_what_to_label.ipynb"))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
