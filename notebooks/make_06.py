"""Generate notebooks/06_interop.ipynb (stored without outputs: nbval runs it).

Run:  .venv/bin/python notebooks/make_06.py
"""

from __future__ import annotations

from pathlib import Path

from _nbmake import CODE, MD, write

CELLS = [
    MD("""# 06 · Label Studio, CVAT, Ultralytics, PyTorch and FiftyOne

nblabel moves data to and from the tools you already use, without a game of telephone: every
instance comes back, boxes within 1e-3 px, attributes and scores kept, and each format is checked
against the real tool's own code in `tests_interop/` (Label Studio's converter, datumaro,
Ultralytics, fiftyone). This notebook works on the 7 sample COCO photos in `notebooks/sample`, in
a git-ignored working folder."""),
    CODE("""import json
import shutil
from pathlib import Path

import nblabel as nl

here = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "notebooks" / "sample").is_dir()) / "notebooks"
sample = here / "sample"
work = here / "_work" / "06_interop"   # git-ignored
shutil.rmtree(work, ignore_errors=True)
work.mkdir(parents=True)
proj = nl.open(work / "interop.duckdb")
proj.import_coco(sample / "instances.json", images=sample / "images")"""),
    MD("""## Label Studio

`export_label_studio` writes the tasks JSON (coordinates in percent, as Label Studio stores them;
ground truth as `annotations`, each run as `predictions` with scores) **and** the labeling config
XML beside it. Images are referenced through Label Studio's Local Storage URL, rooted at
`image_root`."""),
    CODE("""gt = proj.instances().df()
proj.add_run("shifted-boxes").add_predictions(
    gt[["media_id", "label_id", "x0", "y0", "x1", "y1"]].assign(x0=gt.x0 + 2, score=0.8))
out = proj.export_label_studio(work / "label_studio" / "tasks.json", image_root=sample / "images")
out.path.name, out.config.name, out.n_media, out.n_instances, out.n_predictions"""),
    CODE("""print(out.config.read_text()[:300])
task = json.loads(out.path.read_text())[0]
task["data"], task["annotations"][0]["result"][0]["value"]"""),
    MD("""Label Studio's JSON export comes back in: annotations become ground truth, predictions a run per
`model_version`; a rotated rectangle would become a polygon, with a note in the report."""),
    CODE("""back = nl.open(work / "from_label_studio.duckdb")
report = back.import_label_studio(out.path, images=sample / "images")
print(report)
assert len(back.instances()) == len(proj.instances())
back.runs()[["name", "n_predictions"]]"""),
    MD("""## CVAT for images 1.1

`export_cvat` writes CVAT's XML (boxes, polygons, points, polylines, tags and attributes);
`copy_images=True` puts the images next to it, the layout CVAT and datumaro load. CVAT's own
`occluded`, `z_order` and `group_id` come back in each instance's `extra`."""),
    CODE("""xml = proj.export_cvat(work / "cvat" / "annotations.xml", copy_images=True)
print("\\n".join(xml.read_text().splitlines()[:10]))"""),
    CODE("""fresh = nl.open(work / "from_cvat.duckdb")
print(fresh.import_cvat(xml))             # images/ next to the XML is the default image root
print(proj.import_cvat(xml))              # into the project it came from: every shape is a repeat, skipped
fresh.instances().df()[["label", "kind", "x0", "y0", "x1", "y1", "extra"]].head(3)"""),
    MD("""Unsafe XML (a DTD, entities) is refused with a message naming the file; nothing is stored."""),
    CODE("""bad = work / "bad.xml"
bad.write_text('<?xml version="1.0"?>\\n<!DOCTYPE a [<!ENTITY x "boom">]>\\n<annotations>&x;</annotations>')
before = len(fresh.instances())
try:
    fresh.import_cvat(bad, images=work / "cvat" / "images")
except nl.FormatError as e:
    print(e)
assert len(fresh.instances()) == before"""),
    MD("""## Ultralytics: a split as a training-ready tree, and `data.yaml` back in

`export_yolo(out, split=...)` writes `images/<part>/`, `labels/<part>/` and a `data.yaml` that
Ultralytics reads from any working directory; `import_yolo("data.yaml")` reads an Ultralytics
dataset file and makes each of its parts a dataset of one split."""),
    CODE("""import yaml

proj.split("v1", {"train": 0.7, "val": 0.3})
tree = proj.export_yolo(work / "yolo", split="v1")
print({k: v for k, v in yaml.safe_load((tree / "data.yaml").read_text()).items() if k != "names"})
{p.name: len(list(p.iterdir())) for p in sorted((tree / "images").iterdir())}"""),
    CODE("""yolo_back = nl.open(work / "from_yolo.duckdb")
print(yolo_back.import_yolo(tree / "data.yaml"), yolo_back.datasets()["name"].tolist())
yolo_back.split_report("data").sizes"""),
    MD("""## Stream to training (PyTorch)

`training_items` yields `(image, target)` in torchvision's detection layout (`boxes` xyxy float32,
`labels` int64 label ids, `masks`, `keypoints`, `iscrowd`, `area`); `training_classes()` names the
labels. A snapshot name freezes the items: the same name gives the same items in the same order
after the project changes."""),
    CODE("""image, target = next(proj.training_items(split="v1/train", masks=True))
classes = proj.training_classes()
image.shape, target["boxes"].shape, target["masks"].shape, [classes[i] for i in target["labels"].tolist()][:5]"""),
    CODE("""frozen = [int(t["media_id"]) for _, t in proj.training_items(split="v1/train", snapshot="train-v1")]
proj.delete_instance(int(target["instance_ids"][0]))
again = [int(t["media_id"]) for _, t in proj.training_items(snapshot="train-v1")]
assert frozen == again
proj.snapshots()[["name", "format", "n_media", "n_instances"]]"""),
    MD("""`nblabel.torch.Dataset` wraps a snapshot for a `DataLoader`; workers read image files only, so
they never fight this notebook for the project's lock."""),
    CODE("""from torch.utils.data import DataLoader

from nblabel.torch import Dataset, collate

ds = Dataset(proj, snapshot="train-v1")
images, targets = next(iter(DataLoader(ds, batch_size=2, num_workers=2, collate_fn=collate)))
len(ds), [tuple(i.shape) for i in images], [tuple(t["boxes"].shape) for t in targets]"""),
    MD("""## FiftyOne

`proj.to_fiftyone(name)` makes a `fiftyone.Dataset`: ground truth and each run as `Detections`
(plus `_polylines`, `_keypoints`, `_tags` fields), attributes as label attributes, splits as sample
tags; `nl.from_fiftyone(dataset, path)` makes a project from one. FiftyOne is optional and needs its
MongoDB server: the cells below run when `fiftyone` imports (they are checked against the real
package, with its server, in `tests_interop/test_fiftyone.py`; see `docs/fiftyone.md`)."""),
    CODE("""try:
    import fiftyone
except Exception as e:  # not installed, or no MongoDB server for it
    fiftyone = None
    print(f"fiftyone is not usable here ({type(e).__name__}): pip install fiftyone, see docs/fiftyone.md")"""),
    CODE("""if fiftyone is not None:
    ds = proj.to_fiftyone("nblabel-06-interop", runs=["shifted-boxes"], overwrite=True)
    print(ds.count_values("ground_truth.detections.label"), ds.count_sample_tags())
    res = ds.evaluate_detections("shifted_boxes", gt_field="ground_truth", eval_key="ev", compute_mAP=True)
    print("FiftyOne mAP", round(res.mAP(), 4), "| nblabel (pycocotools-exact)", round(proj.evaluate("shifted-boxes").stats[0], 4))
    fo_back = nl.from_fiftyone(ds, work / "from_fiftyone.duckdb")
    assert len(fo_back.instances()) == len(proj.instances())
    ds.delete()"""),
]


def main() -> None:
    out = write(CELLS, Path(__file__).resolve().with_name("06_interop.ipynb"))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
