"""Generate notebooks/03_debug_model_runs.ipynb (stored without outputs: nbval runs it).

Run:  .venv/bin/python notebooks/make_03.py
"""

from __future__ import annotations

from pathlib import Path

from _nbmake import CODE, MD, write

CELLS = [
    MD("""# 03 · Debugging a model run against the ground truth

Bring a model's predictions next to the ground truth, evaluate them exactly as pycocotools would,
then ask *where* the two disagree -- a ranked list of what to review first, which is also a list
of probable label errors. Slices say which images to look at; two runs can be compared side by side.

The project is built from 21 COCO images (`tests/data/coco21`) in a git-ignored working folder; the
"model" is simulated from the ground truth with noise, so the notebook runs anywhere."""),
    CODE("""import shutil
from pathlib import Path

import numpy as np
import pandas as pd

import nblabel as nl

root = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "tests" / "data" / "coco21").is_dir())
work = root / "notebooks" / "_work" / "03_debug"   # git-ignored
shutil.rmtree(work, ignore_errors=True)
work.mkdir(parents=True)

proj = nl.open(work / "debug.duckdb", author="demo")
coco = root / "tests" / "data" / "coco21"
proj.import_coco(coco / "instances.json", images=coco / "images")   # images are marked complete
proj"""),
    MD("""## Two simulated model runs

A good model finds most objects (jittered boxes, confident scores) and adds a few low-score false
positives; a weaker one misses more and is less precise. Before adding them, we plant two label
errors in the ground truth -- one box deleted, one box moved off its object -- to see whether the
disagreement ranking finds them."""),
    CODE("""gt = proj.instances().df()
rng = np.random.default_rng(0)

def simulate(gt, recall, jitter, n_fp, seed):
    r = np.random.default_rng(seed)
    keep = gt[r.random(len(gt)) < recall].copy()
    w, h = (keep.x1 - keep.x0).to_numpy(), (keep.y1 - keep.y0).to_numpy()
    noise = r.normal(0, jitter, (len(keep), 4)) * np.stack([w, h, w, h], axis=1)
    keep[["x0", "y0", "x1", "y1"]] = keep[["x0", "y0", "x1", "y1"]].to_numpy() + noise
    keep["score"] = r.beta(8, 2, len(keep))
    media = proj.media().df()
    fp = media.sample(n_fp, replace=True, random_state=seed)
    fp = pd.DataFrame({"media_id": fp.media_id.to_numpy(), "label": r.choice(gt.label.unique(), n_fp),
                       "x0": 10.0, "y0": 10.0, "x1": 90.0, "y1": 90.0, "score": r.beta(2, 6, n_fp)})
    out = pd.concat([keep[["media_id", "label", "x0", "y0", "x1", "y1", "score"]], fp])
    size = media.set_index("media_id").loc[out.media_id, ["width", "height"]].to_numpy()
    out[["x0", "x1"]] = out[["x0", "x1"]].clip(0, size[:, [0]])
    out[["y0", "y1"]] = out[["y0", "y1"]].clip(0, size[:, [1]])
    return out[(out.x1 - out.x0 > 2) & (out.y1 - out.y0 > 2)]

good = simulate(gt, recall=0.92, jitter=0.04, n_fp=6, seed=1)
weak = simulate(gt, recall=0.70, jitter=0.10, n_fp=15, seed=2)

# two label errors, planted after the model "saw" the clean images
big = gt.assign(area=(gt.x1 - gt.x0) * (gt.y1 - gt.y0)).sort_values("area", ascending=False)
deleted = int(big.instance_id.iloc[3])
moved = big.iloc[5]
proj.delete_instance(deleted)
width = proj.media_info(int(moved.media_id))["width"]
dx = 0.8 * (moved.x1 - moved.x0)
new_x0 = moved.x0 + dx if moved.x1 + dx < width else moved.x0 - dx
new_x0, new_x1 = max(new_x0, 0.0), min(new_x0 + moved.x1 - moved.x0, width)
proj.update_instance(int(moved.instance_id), box=[new_x0, moved.y0, new_x1, moved.y1])

proj.add_run("good", params={"conf": 0.0}).add_predictions(good)
proj.add_run("weak", params={"conf": 0.0}).add_predictions(weak)
proj.runs()"""),
    MD("""## Evaluate

`proj.evaluate(run)` reads the ground truth of the *completed* images (incomplete ones never count
as background) and gives pycocotools' numbers: `.stats`, `.summary()`, `.per_class`."""),
    CODE("""ev = proj.evaluate("good")
print(ev.summary())"""),
    CODE("""ev.per_class.sort_values("n_gt", ascending=False).head(8)"""),
    MD("""`.matches` holds every detection's outcome at every IoU threshold (and the missed ground
truths), with file and label names -- so AP for any grouping is a group-by:"""),
    CODE("""ev.matches.head()"""),
    CODE("""ev.ap(by="label", iou=0.5).sort_values("n_gt", ascending=False).head(5)"""),
    MD("""## Boxes past the image border: still exactly pycocotools

Models often predict boxes that reach past the image border. Every importer stores geometry *as
the source gave it* and counts what crosses the border in the report's notes (clipping happens only
where a person draws, or with `clip=True`), so `proj.evaluate(run)` sees what pycocotools sees in
the same files. Here a run is written as a COCO results file whose boxes are enlarged so that many
of them cross the border, imported into a fresh project next to the raw ground truth, and
evaluated both ways."""),
    CODE("""import contextlib, io, json
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

raw_gt = json.loads((coco / "instances.json").read_text())
size_of = {im["id"]: (im["width"], im["height"]) for im in raw_gt["images"]}
r = np.random.default_rng(3)
results = []
for a in raw_gt["annotations"]:
    if r.random() < 0.9:
        x, y, w, h = a["bbox"]
        grow = 1.6 if r.random() < 0.4 else 1.0            # some boxes grow by 60% about their centre
        w2, h2 = w * grow * (1 + r.normal(0, 0.05)), h * grow * (1 + r.normal(0, 0.05))
        cx, cy = x + w / 2 + r.normal(0, 0.04) * w, y + h / 2 + r.normal(0, 0.04) * h
        results.append({"image_id": a["image_id"], "category_id": a["category_id"],
                        "bbox": [cx - w2 / 2, cy - h2 / 2, w2, h2], "score": round(float(r.beta(8, 2)), 2)})
past = sum(b[0] < 0 or b[1] < 0 or b[0] + b[2] > size_of[d["image_id"]][0] or b[1] + b[3] > size_of[d["image_id"]][1]
           for d in results for b in [d["bbox"]])
(work / "border_results.json").write_text(json.dumps(results))
print(f"{len(results)} predictions, {past} of them past the image border")

border = nl.open(work / "border.duckdb", author="demo")
border.import_coco(coco / "instances.json", images=coco / "images")
rep = border.add_run("border").add_predictions(work / "border_results.json")
rep.notes"""),
    CODE("""with contextlib.redirect_stdout(io.StringIO()):   # pycocotools on the raw files
    cg = COCO(str(coco / "instances.json"))
    ref = COCOeval(cg, cg.loadRes(str(work / "border_results.json")), "bbox")
    ref.evaluate(); ref.accumulate(); ref.summarize()

ours = border.evaluate("border").stats
print("nblabel    ", np.round(ours, 4))
print("pycocotools", np.round(ref.stats, 4))
diff = float(np.abs(np.asarray(ours) - ref.stats).max())
print("max abs difference:", diff)
assert diff == 0.0"""),
    MD("""Clipping the same predictions on import (`clip=True`) changes what is evaluated, and the
numbers move away from pycocotools' -- which is why it is not the default:"""),
    CODE("""clipped = nl.open(work / "border_clipped.duckdb", author="demo")
clipped.import_coco(coco / "instances.json", images=coco / "images")
print(clipped.add_run("border").add_predictions(work / "border_results.json", clip=True).notes)
print("max abs difference with clip=True:", float(np.abs(np.asarray(clipped.evaluate("border").stats) - ref.stats).max()))"""),
    MD("""## Plots

Each plot is a matplotlib `Figure`: Jupyter shows it, `fig.savefig("pr.png")` writes it, and
`ax=` draws it on axes of your own. The data each one draws is a DataFrame of its own:
`ev.pr_table()`, `ev.confusion_table()`, `ev.iou_table()`."""),
    CODE("""ev.pr_curve(labels=["person", "dog", "pizza"])"""),
    MD("""The confusion matrix has a `background` row (detections no ground truth explains) and column
(ground truth the model missed); the cells show the counts (`normalize=True`: row fractions) and the
picture keeps the most frequent `max_labels` labels, while the table keeps them all."""),
    CODE("""ev.confusion_matrix(min_score=0.3, max_labels=12)"""),
    CODE("""ev.confusion_table(min_score=0.3).loc[["person", "background"], ["person", "background"]]"""),
    MD("""The IoU of each detection with its ground truth (at the lowest matching threshold):"""),
    CODE("""fig = ev.iou_histogram()
fig.savefig(work / "iou.png")
assert "image/png" in get_ipython().display_formatter.format(fig)[0]   # Jupyter shows it as a picture
fig"""),
    MD("""On your own axes, for instance the two runs side by side (pyplot shows its figure itself):"""),
    CODE("""import matplotlib.pyplot as plt

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.6), layout="constrained")
ev.iou_histogram(ax=left)
proj.evaluate("weak").iou_histogram(ax=right)
right.set_title("the weak run")
plt.show()"""),
    MD("""## Where do ground truth and model disagree?

One row per disagreement, worst first: `missing_gt` (a confident prediction nothing in the ground
truth explains: probably a missing label), `missed` (a ground-truth box the model does not touch),
`class_mismatch`, `poor_localization`. The score uses only the row's own evidence, so it does not
change when you look at a different slice."""),
    CODE("""d = proj.disagreements("good")
d[["media_id", "file_name", "kind", "score", "gt_id", "pred_id", "iou", "pred_score", "gt_label", "pred_label"]].head(8)"""),
    CODE("""# did it find the two planted errors?
top = d.head(6)
print("moved box flagged:", int(moved.instance_id) in set(top.gt_id.dropna().astype(int)))
print("deleted box flagged:", bool(((top.kind == "missing_gt") & (top.media_id == big.media_id.iloc[3])).any()))"""),
    CODE("""per_image = proj.disagreements("good", per="image")
per_image.head(5)"""),
    MD("""## Slices

Slices compose lazily and run as one DuckDB query; a slice can be saved as a static dataset or
kept as a rule that is re-evaluated on every read."""),
    CODE("""people = proj.media().labels("person").has_predictions("good", min_score=0.5).image_size(min_width=500)
people.count(), people.ids()[:5]"""),
    CODE("""proj.define_dataset("crowded", rule=proj.media().count_between("person", min=3))
proj.dataset("crowded").df()[["media_id", "file_name", "n_instances"]]"""),
    CODE("""proj.disagreements("good", per="image", slice=proj.dataset("crowded"))[["file_name", "score", "n_missed", "n_missing_gt"]]"""),
    CODE("""proj.instances("good").labels("person").score(0.5, 0.9).sort_by("score", descending=True).head(5).df()[
    ["instance_id", "file_name", "label", "score", "x0", "y0", "x1", "y1"]]"""),
    MD("""## Two runs side by side

The same ground truth, COCO matching at IoU 0.5: counts, precision, recall and AP per run, then the
images where the runs differ most."""),
    CODE("""cmp = proj.compare("good", "weak", min_score=0.3)
cmp.overall"""),
    CODE("""cmp.per_image.head(5)"""),
    CODE("""cmp.per_class.sort_values("n_gt", ascending=False).head(5)"""),
]


def main() -> None:
    out = write(CELLS, Path(__file__).resolve().with_name("03_debug_model_runs.ipynb"))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
