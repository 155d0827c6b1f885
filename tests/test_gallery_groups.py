"""Gallery with extra columns, colours, groups and keep marks; selections and splits in the widgets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import nblabel as nl
from nblabel.errors import NotFoundError, ValidationError
from nblabel.store._embeddings import write_embeddings
from nblabel.widgets._gallery_groups import PALETTE


@pytest.fixture
def proj() -> nl.Project:
    """Eight distinct images (ids 1..8), one box on image 2, two-dimensional vectors in embedding "e"."""
    p = nl.open(":memory:")
    p.add_images([np.full((20, 30, 3), 10 * v, np.uint8) for v in range(8)])
    p.schema.add_label("car", spatial=["box"])
    p.add_instances(pd.DataFrame({"media_id": [2], "label": ["car"], "kind": ["box"],
                                  "x0": [1.0], "y0": [1.0], "x1": [5.0], "y1": [6.0]}))
    # near-duplicates: {1, 5}, {3, 4, 8}; 2, 6, 7 stand alone
    vecs = {1: [1, 0, 0], 5: [1, 0.001, 0], 3: [0, 1, 0], 4: [0, 1, 0.001], 8: [0.001, 1, 0],
            2: [1, 0.4, 0.6], 6: [1, 1, 0], 7: [1, 0, 1]}
    write_embeddings(p.session, "e", list(vecs), list(vecs.values()), model="test")
    return p


def _col(items, name):
    return items.column(name).to_pylist()


def test_extra_joined_by_media_id_missing_rows_empty_and_shown_columns(proj):
    extra = pd.DataFrame({"media_id": [3, 1], "score": [0.5, 0.25], "note": ["b", "a"]})
    g = proj.gallery(extra=extra)
    items, _ = g.tables()
    assert _col(items, "media_id") == list(range(1, 9))
    s = _col(items, "score")
    assert s[0] == 0.25 and s[2] == 0.5 and all(np.isnan(v) for k, v in enumerate(s) if k not in (0, 2))
    assert _col(items, "note") == ["a", "", "b", "", "", "", "", ""]
    assert g.columns[-2:] == ["score", "note"]  # shown in the info line and offered for sorting
    reply, _ = g.handle({"id": 1, "kind": "items"})
    assert reply["ok"] and reply["columns"][-2:] == ["score", "note"]
    # Python-side sort on an extra column: nulls last, descending works
    items = proj.gallery(extra=extra, sort="-score").tables()[0]
    assert _col(items, "media_id")[:2] == [3, 1]


def test_extra_validation(proj):
    with pytest.raises(ValidationError, match="media_id column"):
        proj.gallery(extra=pd.DataFrame({"id": [1]}))
    with pytest.raises(ValidationError, match="DataFrame"):
        proj.gallery(extra=[1, 2])
    with pytest.raises(NotFoundError, match=r"not in the project, e\.g\. \[99\]"):
        proj.gallery(extra=pd.DataFrame({"media_id": [1, 99], "x": [1, 2]}))
    with pytest.raises(ValidationError, match="repeated media_id"):
        proj.gallery(extra=pd.DataFrame({"media_id": [1, 1], "x": [1, 2]}))
    for bad in ("width", "n_gt", "file_name", "@color", "tp:run", "meta"):
        with pytest.raises(ValidationError, match="collides"):
            proj.gallery(extra=pd.DataFrame({"media_id": [1], bad: [1]}))
    with pytest.raises(ValidationError, match="color_by='nope' is not a gallery column"):
        proj.gallery(extra=pd.DataFrame({"media_id": [1], "x": [1]}), color_by="nope")
    with pytest.raises(ValidationError, match="group_by"):
        proj.gallery(group_by="format")  # a slice column that is not shown


def test_extra_rows_outside_the_slice_are_not_shown(proj):
    extra = pd.DataFrame({"media_id": list(range(1, 9)), "k": list("abcdefgh")})
    items = proj.gallery(proj.media().ids_in([2, 4]), extra=extra).tables()[0]
    assert _col(items, "media_id") == [2, 4] and _col(items, "k") == ["b", "d"]


def test_color_by_stable_palette_by_sorted_value_and_legend(proj):
    extra = pd.DataFrame({"media_id": [1, 2, 3, 4, 5], "part": ["val", "train", "test", "train", None]})
    g = proj.gallery(extra=extra, color_by="part")
    items = g.tables()[0]
    want = {"test": PALETTE[0], "train": PALETTE[1], "val": PALETTE[2]}
    assert g.legend == [{"value": v, "color": c} for v, c in want.items()]
    assert _col(items, "@color") == [want["val"], want["train"], want["test"], want["train"], "", "", "", ""]
    # the same values on another slice, in another order, get the same colours
    g2 = proj.gallery(proj.media().ids_in([4, 3]).sort_by("media_id", descending=True), extra=extra, color_by="part")
    assert _col(g2.tables()[0], "@color") == [want["train"], want["test"]]
    assert g2.handle({"id": 2, "kind": "items"})[0]["legend"] == g.legend  # the toolbar's legend
    g3 = proj.gallery(proj.media().ids_in([1, 2]), extra=extra, color_by="part")  # no "test" among them
    assert _col(g3.tables()[0], "@color") == [want["val"], want["train"]]
    # numbers sort numerically (2 before 10), and a shown slice column can colour too
    num = proj.gallery(extra=pd.DataFrame({"media_id": [1, 2], "n": [10, 2]}), color_by="n")
    num.tables()
    assert [e["value"] for e in num.legend] == ["2", "10"]
    width = proj.gallery(color_by="width")
    width.tables()
    assert width.legend == [{"value": "30", "color": PALETTE[0]}]


def test_group_by_orders_groups_by_first_item_and_marks_keep(proj):
    groups = pd.DataFrame({"media_id": [2, 3, 5, 6, 8], "g": ["x", "y", "x", "z", "y"],
                           "keep": [False, True, True, True, False]})
    g = proj.gallery(extra=groups, group_by="g")
    items, boxes = g.tables()
    # slice order 1..8: groups in order of first item: none(1) ... → x (2), y (3), z (6); no group last
    assert _col(items, "media_id") == [2, 5, 3, 8, 6, 1, 4, 7]
    assert _col(items, "@group") == [0, 0, 1, 1, 2, 3, 3, 3]
    assert _col(items, "@keep") == [0, 1, 1, 0, 1, 0, 0, 0]
    # the box of image 2 follows its row
    assert boxes.column("item").to_pylist() == [0]
    assert g.group_by == "g" and g.color_by == ""
    # with a sort, groups keep the sorted order inside them, and groups come in order of their first item
    items = proj.gallery(extra=groups, group_by="g", sort="-media_id").tables()[0]
    assert _col(items, "media_id") == [8, 3, 6, 5, 2, 7, 4, 1]
    assert _col(items, "@group") == [0, 0, 1, 2, 2, 3, 3, 3]
    # no keep marks without a boolean keep column
    items = proj.gallery(extra=groups.drop(columns="keep"), group_by="g").tables()[0]
    assert "@keep" not in items.column_names


def test_gallery_of_near_duplicates(proj):
    dups = proj.near_duplicates(embedding="e", threshold=0.01)
    assert sorted(dups.groups["media_id"]) == [1, 3, 4, 5, 8]
    g = proj.gallery(dups)
    items = g.tables()[0]
    assert g.group_by == "group" and g.count == 5
    assert _col(items, "media_id") == [1, 5, 3, 4, 8]
    assert _col(items, "@group") == [0, 0, 1, 1, 1]
    keep = dict(zip(dups.groups["media_id"], dups.groups["keep"], strict=True))
    assert _col(items, "@keep") == [int(keep[m]) for m in [1, 5, 3, 4, 8]]
    assert sum(_col(items, "@keep")) == 2  # one kept member per group
    with pytest.raises(ValidationError, match="extra="):
        proj.gallery(dups, extra=dups.groups)


def test_gallery_of_a_split_colours_by_part(proj):
    proj.split("v1", {"train": 0.5, "test": 0.5}, stratify="none")
    part = proj.split_of("v1")
    g = proj.gallery(split="v1")
    items = g.tables()[0]
    assert g.color_by == "split" and g.count == 8
    assert sorted(v["value"] for v in g.legend) == ["test", "train"]
    colour = {e["value"]: e["color"] for e in g.legend}
    by_id = dict(zip(part["media_id"], part["split"], strict=True))
    assert _col(items, "@color") == [colour[by_id[m]] for m in _col(items, "media_id")]
    # a split's part is a static dataset: its gallery shows only it
    train = proj.gallery(proj.dataset("v1/train"), split="v1")
    assert set(_col(train.tables()[0], "split")) == {"train"}


def test_gallery_of_a_selection_in_pick_order_with_reasons(proj):
    sel = proj.select(3, embedding="e")
    g = proj.gallery(sel, extra=sel.reasons)
    items = g.tables()[0]
    assert _col(items, "media_id") == sel.ids()
    assert _col(items, "rank") == [1, 2, 3]
    assert _col(items, "why") == sel.reasons["why"].astype(str).tolist()


def test_annotate_opens_a_selection_and_a_split_in_order(proj):
    sel = proj.select(3, embedding="e")
    assert sel.ids() != sorted(sel.ids())  # pick order, not id order: the test can tell them apart
    assert proj.annotate(sel).media_ids == sel.ids()
    proj.split("v1", {"train": 0.75, "test": 0.25}, stratify="none")
    train = proj.dataset("v1/train")
    w = proj.annotate(train)
    assert w.media_ids == train.ids() and sorted(w.media_ids) == sorted(
        proj.split_of("v1").query("split == 'train'")["media_id"].tolist())
    assert w.total == 6
