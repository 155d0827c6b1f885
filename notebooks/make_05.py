"""Generate notebooks/05_splits.ipynb (stored without outputs: nbval runs it).

Run:  .venv/bin/python notebooks/make_05.py
"""

from __future__ import annotations

from pathlib import Path

from _nbmake import CODE, MD, write

CELLS = [
    MD("""# 05 · Train/val/test splits that stay put and never leak

`proj.split(name, ratios)` makes a split you can trust:

- **stratified** over labels (multi-label: every label's share is balanced across the parts, by
  iterative stratification),
- **grouped**: near-duplicates (or all images of one scene / patient / video, `group_by="meta:<key>"`)
  always land in the same part, so the test set holds no near-copy of a training image,
- **deterministic** for a seed, and **stable**: calling it again after new images arrived keeps
  every earlier assignment and places only the new ones (a near-copy joins its original's part).

Each part is a static dataset `"<name>/<part>"`, usable as a slice anywhere (annotator queue,
exports). The project is built from the 21 COCO photos in `tests/data/coco21`, plus near-copies
we make of some of them, in a git-ignored working folder."""),
    CODE("""import shutil
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

import nblabel as nl

root = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "tests" / "data" / "coco21").is_dir())
work = root / "notebooks" / "_work" / "05_splits"   # git-ignored
shutil.rmtree(work, ignore_errors=True)
work.mkdir(parents=True)

proj = nl.open(work / "splits.duckdb", author="demo")
coco = root / "tests" / "data" / "coco21"
proj.import_coco(coco / "instances.json", images=coco / "images")   # ground truth, images complete
proj"""),
    MD("""## Near-copies: the leak a random split does not see

Datasets collected from the web or from video are full of near-duplicates. We make some: a
flipped, a resized and a brightened copy of three photos. Then we embed every image (the offline
default embedder) and look at the near-duplicate groups."""),
    CODE("""copies = work / "copies"
copies.mkdir()
originals = proj.media().df().sort_values("media_id").head(3)
for row in originals.itertuples():
    im = Image.open(coco / "images" / row.file_name).convert("RGB")
    stem = Path(row.file_name).stem
    ImageOps.mirror(im).save(copies / f"{stem}_flip.jpg", quality=90)
    im.resize((im.width * 3 // 4, im.height * 3 // 4)).save(copies / f"{stem}_small.jpg", quality=85)
    Image.eval(im, lambda v: min(255, v + 25)).save(copies / f"{stem}_bright.jpg", quality=90)
proj.add_images(copies)
proj.embed(progress=False)
dups = proj.near_duplicates()
dups.groups.merge(proj.media().df()[["media_id", "file_name"]]).sort_values(["group", "media_id"])"""),
    MD("""## A grouped, stratified split

60 / 20 / 20, near-duplicate groups kept whole. `split` returns every item's part;
`split_of(name)` reads it back later, and each part is a dataset."""),
    CODE("""ratios = {"train": 0.6, "val": 0.2, "test": 0.2}
parts = proj.split("v1", ratios, group_by="near_duplicates", seed=0)
parts["split"].value_counts()"""),
    CODE("""proj.datasets()[["name", "kind", "split_group", "n_members"]]"""),
    CODE("""proj.dataset("v1/test").df()[["media_id", "file_name", "n_instances"]]"""),
    MD("""## The report: sizes, label shares, leaks

`split_report(name)` gives the part sizes against their targets, every label's share per part
(the fraction of the images carrying that label that sit in each part), the worst deviation, and
the near-duplicate pairs that sit in two parts (none here: the split was grouped by them).

With 21 labelled photos most labels occur on one or two images, which no 60/20/20 split can share
out evenly: the worst deviation is large here by arithmetic, not by method (benchmarks/RESULTS.md
measures the balance on 20,000 items)."""),
    CODE("""rep = proj.split_report("v1")
rep"""),
    CODE("""rep.sizes"""),
    CODE("""rep.label_shares.sort_values("n", ascending=False).head(8)"""),
    CODE("""rep.leaks"""),
    CODE("""fig = rep.plot()
fig"""),
    MD("""For comparison, the same ratios without grouping: near-copies straddle the parts."""),
    CODE("""proj.split("naive", ratios, seed=0)
naive = proj.split_report("naive")
print(naive)
naive.leaks.head()"""),
    MD("""## New data arrives: split again

Three more near-copies of other photos and two new photos. `proj.split("v1")` (the stored ratios,
seed and grouping are reused) keeps every earlier assignment; each copy joins its original's part,
and only the genuinely new images are balanced."""),
    CODE("""more = work / "more"
more.mkdir()
for row in proj.media().df().sort_values("media_id").iloc[5:8].itertuples():
    ImageOps.mirror(Image.open(coco / "images" / row.file_name).convert("RGB")).save(more / f"{Path(row.file_name).stem}_flip.jpg")
rng = np.random.default_rng(0)
for i in range(2):
    Image.fromarray(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)).save(more / f"new_{i}.png")
proj.add_images(more)
proj.embed(progress=False)

before = proj.split_of("v1").set_index("media_id")["split"]
after = proj.split("v1").set_index("media_id")["split"]
print("earlier items that moved:", int((after.loc[before.index] != before).sum()))
print("new items:", len(after) - len(before))"""),
    CODE("""groups = proj.near_duplicates().groups
new_ids = sorted(set(after.index) - set(before.index))
g = groups[groups["media_id"].isin(new_ids)]
joined = groups[groups["group"].isin(g["group"])].assign(split=lambda d: d["media_id"].map(after))
joined.groupby("group")["split"].nunique().max()   # 1: every group sits in one part"""),
    CODE("""proj.split_report("v1")"""),
    MD("""## Export a part

Every exporter takes a slice, so a part exports like any other dataset. Only completed images
are exported by default (the copies were never labelled, so they are left out: an unlabelled
image must not look like a background image); pass `include_incomplete=True` to write them too."""),
    CODE("""train_json = proj.export_coco(work / "export" / "train.json", slice=proj.dataset("v1/train"))
val_yolo = proj.export_yolo(work / "export" / "yolo_val", slice=proj.dataset("v1/val"))
import json
print(len(json.loads(train_json.read_text())["images"]), "train images in COCO;",
      len(list((val_yolo / "labels").glob("*.txt"))), "val label files in YOLO")"""),
]


def main() -> None:
    out = write(CELLS, Path(__file__).resolve().with_name("05_splits.ipynb"))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
