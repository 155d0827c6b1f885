"""Generate notebooks/02_labeling.ipynb (stored without outputs: nbval runs it, the browser shows it).

Run:  .venv/bin/python notebooks/make_02.py
"""

from __future__ import annotations

from pathlib import Path

from _nbmake import CODE, MD, write

CELLS = [
    MD("""# 02 · Labeling images in the notebook

`proj.annotate()` opens the annotator on a queue of images. Everything you draw is committed to the
project's DuckDB file **before** the widget shows it as saved, so a crashed kernel loses nothing
that was acknowledged. Keys: `B` box, `P` polygon (click, `Enter` closes), `K` keypoints (click the
points in template order), `1`–`9` pick a label, `Ctrl+Z` undo, `C` complete, `→` next, `?` help.

This notebook builds a small project from a few COCO images in a git-ignored working folder."""),
    CODE("""import shutil
from pathlib import Path

import nblabel as nl

root = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "tests" / "data" / "coco21").is_dir())
work = root / "notebooks" / "_work" / "02_labeling"   # git-ignored
shutil.rmtree(work, ignore_errors=True)
work.mkdir(parents=True)

images = sorted((root / "tests" / "data" / "coco21" / "images").glob("*.jpg"))[:4]
proj = nl.open(work / "labels.duckdb", author="demo")
proj.add_images(images)"""),
    MD("""## A schema

One label that can be drawn as a box, a polygon or a skeleton of keypoints, a whole-image tag, and
typed attributes: a required choice, a multiple choice, a number, a yes/no, a free text and a date."""),
    CODE("""proj.schema.add_label("person", spatial=["box", "polygon"])
proj.schema.add_keypoints("person", points=["nose", "left_eye", "right_eye", "left_hand", "right_hand"],
                          skeleton=[(0, 1), (0, 2), (0, 3), (0, 4)])
proj.schema.add_label("crowded", spatial=["tag"])
proj.schema.add_attribute("pose", kind="select", options=["standing", "sitting", "lying"], labels=["person"],
                          required=True)
proj.schema.add_attribute("wears", kind="multiselect", options=["hat", "glasses", "backpack"], labels=["person"])
proj.schema.add_attribute("age", kind="number", min=0, max=120, step=1, labels=["person"])
proj.schema.add_attribute("occluded", kind="bool")
proj.schema.add_attribute("note", kind="text")
proj.schema.add_attribute("seen_on", kind="date")
proj.schema.labels()[["label_id", "name", "spatial"]]"""),
    MD("""## The annotator

The queue defaults to every image not yet complete in the `label` stage. Python drives the queue
too: `w.next()`, `w.prev()`, `w.goto(i)`, `w.current`."""),
    CODE("""w = proj.annotate()
done = []
w.on_complete(done.append)   # called with the media id each time an image is completed
w"""),
    MD("""## The round trip

Instances added through the API show up in the widget (on the next load of the item), and the
widget's changes are ordinary instances: add one in code, then send the same kind of message the
browser sends when you drag a box, and read both back."""),
    CODE("""m = w.current["media_id"]
w_img, h_img = w.current["width"], w.current["height"]
proj.add_instance(m, "person", box=[0.1 * w_img, 0.2 * h_img, 0.4 * w_img, 0.9 * h_img],
                  attributes={"pose": "standing", "wears": ["hat"], "age": 30})
proj.add_instance(m, "person", keypoints=[[0.25 * w_img, 0.3 * h_img, 2], [0.23 * w_img, 0.28 * h_img, 2],
                                          [0.27 * w_img, 0.28 * h_img, 2], [0, 0, 0], [0.35 * w_img, 0.6 * h_img, 1]],
                  attributes={"pose": "standing"})
label_id = proj.schema.state().label("person").id
reply, _ = w.handle_message({"id": "demo-1", "kind": "save", "op": "create", "media_id": m,
                             "instance": {"cid": "c1", "label_id": label_id, "kind": "polygon",
                                          "points": [[0.5 * w_img, 0.5 * h_img], [0.8 * w_img, 0.55 * h_img],
                                                     [0.7 * w_img, 0.9 * h_img]],
                                          "attributes": {"pose": "sitting", "occluded": True}}})
reply"""),
    CODE("""proj.instances().df()[["instance_id", "file_name", "label", "kind", "x0", "y0", "x1", "y1", "attributes", "author"]]"""),
    MD("""## A static picture

Frontends without widgets (a rendered notebook on a website, a PDF export) get a picture instead:
the widget's display bundle carries a PNG of the current image with its instances, and
`render_static` draws any item."""),
    CODE("""from nblabel.widgets import render_static

render_static(proj, m, max_side=640)"""),
    MD("""## Completing

An image can be completed only when every instance has its required attributes; the widget's
`C` key does the same as this message, and records the time spent and the author."""),
    CODE("""reply, _ = w.handle_message({"id": "demo-2", "kind": "status", "state": "complete", "media_id": m,
                             "seconds_active": 42})
print(reply["ok"], "completed:", reply["completed"], "callback saw:", done)
proj.status_summary()"""),
]


def main() -> None:
    out = write(CELLS, Path(__file__).resolve().with_name("02_labeling.ipynb"), language_info=True)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
