"""The data of ``benchmarks/label_errors.py``: an image pool split into tuning and reporting
halves, annotation errors (per annotation and per image), and a detector simulated from the clean
ground truth.

Image pool: real COCO ground truth (the 100 val2014 images of ``tests/data/coco-eval-reference``
and the 21 train2017 photos of ``tests/data/coco21``, crowd boxes left out) plus synthetic layouts
with COCO box statistics (each one a real image's boxes moved, resized, thinned and topped up with
boxes of other real images). The pool is split by a hash of the image key into a TUNING half and a
REPORTING half; synthetic layouts are built only from templates of their own half.

Errors, two modes:

* per annotation: each GT box, with probability ``rate``, gets one error -- ``remove`` (deleted),
  ``shift`` (moved by 0.35-1 of its size: IoU with its object < 0.5), ``swap`` (another class,
  60% of the time one of the same COCO supercategory), ``spurious`` (a made-up box of pool size
  statistics added to the image);
* per image: a fraction ``rate`` of the images gets one image-level error -- ``drop_all`` (all
  its boxes missing), ``shift_all`` (every box moved the same way; half of the time the
  corner/centre confusion of ``xywh`` read as ``cxcywh``), ``relabel_all`` (a wrong class map:
  every class of the image replaced), ``other_image`` (the boxes of another image).

The model is simulated from the CLEAN ground truth, not from the rules of our scoring: detection
probability from object size, occlusion and a per-image difficulty; localisation jitter that grows
for small boxes; a score driven by size, localisation quality, image difficulty and noise; class
confusion mostly inside a supercategory (sometimes with a lower-scored correct twin); NMS leftovers
(duplicates), part detections, low-score clutter (more in busy images) and a few confident
detections of unannotated things.

Run it to compare the box statistics of the real and synthetic images of each half::

    .venv/bin/python benchmarks/label_errors_data.py
"""

from __future__ import annotations

import argparse
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).parents[1] / "tests" / "data"
SOURCES = {"coco100": DATA / "coco-eval-reference" / "instances_val2014_100.json",
           "coco21": DATA / "coco21" / "instances.json"}
ANN_TYPES = ("remove", "shift", "swap", "spurious")
IMG_TYPES = ("drop_all", "shift_all", "relabel_all", "other_image")
BOX = ["x0", "y0", "x1", "y1"]


# -- the image pool ------------------------------------------------------------------------------
@dataclass
class Pool:
    """Real images of one split: boxes (media_id, label_id, x0..y1), sizes, the class set."""

    gt: pd.DataFrame
    sizes: pd.DataFrame
    n_cls: int
    supercat: np.ndarray  # supercategory index per label_id (index 0 unused)


def split_of(key: str) -> str:
    return "tuning" if hashlib.sha1(key.encode()).digest()[0] % 2 == 0 else "reporting"


def real_pool(split: str) -> Pool:
    """The real COCO images whose key hashes into ``split`` (labels: 80 COCO classes, 1-based)."""
    cats: dict[int, str] = {}
    gts, sizes, mid = [], [], 0
    for name, path in SOURCES.items():
        d = json.loads(path.read_text())
        cats.update({c["id"]: c["supercategory"] for c in d["categories"]})
        by_img = pd.DataFrame([a for a in d["annotations"] if not a.get("iscrowd")])
        for im in sorted(d["images"], key=lambda x: x["id"]):
            if split_of(f"{name}/{im['id']}") != split:
                continue
            mid += 1
            sizes.append((mid, im["width"], im["height"]))
            a = by_img[by_img.image_id == im["id"]]
            b = np.array(a["bbox"].tolist(), float).reshape(-1, 4)
            gts.append(pd.DataFrame({"media_id": mid, "cat": a["category_id"].to_numpy(), "x0": b[:, 0],
                                     "y0": b[:, 1], "x1": b[:, 0] + b[:, 2], "y1": b[:, 1] + b[:, 3]}))
    ids = sorted(cats)
    label_of = {c: i + 1 for i, c in enumerate(ids)}
    sup_names = sorted(set(cats.values()))
    supercat = np.array([-1] + [sup_names.index(cats[c]) for c in ids])
    gt = pd.concat(gts, ignore_index=True)
    gt.insert(1, "label_id", gt.pop("cat").map(label_of).astype(np.int64))
    gt = gt[(gt.x1 - gt.x0 >= 1) & (gt.y1 - gt.y0 >= 1)].reset_index(drop=True)
    return Pool(gt, pd.DataFrame(sizes, columns=["media_id", "width", "height"]), len(ids), supercat)


def synthetic_layouts(pool: Pool, n: int, rng: np.random.Generator, first_id: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``n`` layouts, each a real image of ``pool`` with its boxes moved (N(0, 5%) of the image),
    resized (x lognormal(0, 0.2)), 15% dropped and Poisson(0.7) boxes of other images added."""
    tmpl = rng.choice(pool.sizes["media_id"].to_numpy(), n)
    sizes = pool.sizes.set_index("media_id").loc[tmpl].reset_index(drop=True)
    sizes.insert(0, "media_id", np.arange(first_id, first_id + n))
    g = pool.gt.merge(pd.DataFrame({"media_id": tmpl, "new": sizes["media_id"]}), on="media_id")
    g = g[rng.random(len(g)) >= 0.15]
    k = rng.poisson(0.7, n)
    extra = pool.gt.iloc[rng.integers(0, len(pool.gt), int(k.sum()))].copy()
    extra["new"] = np.repeat(sizes["media_id"].to_numpy(), k)
    g = pd.concat([g, extra], ignore_index=True)
    src = pool.sizes.set_index("media_id").loc[g["media_id"]]
    dst = sizes.set_index("media_id").loc[g["new"]]
    sw, sh = src["width"].to_numpy(float), src["height"].to_numpy(float)
    dw, dh = dst["width"].to_numpy(float), dst["height"].to_numpy(float)
    cx = ((g.x0 + g.x1) / 2 / sw + rng.normal(0, 0.05, len(g))) * dw
    cy = ((g.y0 + g.y1) / 2 / sh + rng.normal(0, 0.05, len(g))) * dh
    s = rng.lognormal(0, 0.2, len(g))
    w, h = (g.x1 - g.x0) / sw * dw * s, (g.y1 - g.y0) / sh * dh * s
    out = pd.DataFrame({"media_id": g["new"].to_numpy(), "label_id": g["label_id"].to_numpy(),
                        "x0": np.clip(cx - w / 2, 0, dw), "y0": np.clip(cy - h / 2, 0, dh),
                        "x1": np.clip(cx + w / 2, 0, dw), "y1": np.clip(cy + h / 2, 0, dh)})
    out = out[(out.x1 - out.x0 >= 2) & (out.y1 - out.y0 >= 2)]
    return out.sort_values("media_id", kind="stable").reset_index(drop=True), sizes


def image_set(split: str, n_synth: int, rng: np.random.Generator) -> tuple[Pool, pd.DataFrame, pd.DataFrame]:
    """(the real pool, GT of real + synthetic images, their sizes) for one split and seed."""
    pool = real_pool(split)
    sg, ss = synthetic_layouts(pool, n_synth, rng, len(pool.sizes) + 1)
    return pool, pd.concat([pool.gt, sg], ignore_index=True), pd.concat([pool.sizes, ss], ignore_index=True)


# -- corruption ----------------------------------------------------------------------------------
def _iou_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    iw = (np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0])).clip(0)
    ih = (np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1])).clip(0)
    inter = iw * ih
    ua = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1]) + (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) - inter
    return inter / np.maximum(ua, 1e-12)


def _other_label(lab: np.ndarray, pool: Pool, rng: np.random.Generator) -> np.ndarray:
    """A different class per entry: 60% one of the same supercategory (when there is one)."""
    out = (lab - 1 + rng.integers(1, pool.n_cls, len(lab))) % pool.n_cls + 1
    for i in np.flatnonzero(rng.random(len(lab)) < 0.6):
        same = np.flatnonzero(pool.supercat == pool.supercat[lab[i]])
        same = same[same != lab[i]]
        if len(same):
            out[i] = rng.choice(same)
    return out


def _move(b: np.ndarray, f: np.ndarray, ang: np.ndarray, W: np.ndarray, H: np.ndarray) -> np.ndarray:
    """Boxes moved by ``f`` of their size at angle ``ang``; a box pushed out of the image goes the
    other way; clipped to the image."""
    w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    d = np.stack([f * w * np.cos(ang), f * h * np.sin(ang)], 1)
    out = b.copy()
    for sign in (1.0, -1.0):
        nb = b + sign * np.concatenate([d, d], 1)
        nb[:, [0, 2]] = np.clip(nb[:, [0, 2]], 0, W[:, None])
        nb[:, [1, 3]] = np.clip(nb[:, [1, 3]], 0, H[:, None])
        ok = (nb[:, 2] - nb[:, 0] >= 2) & (nb[:, 3] - nb[:, 1] >= 2) & (_iou_rows(nb, b) < 0.5)
        todo = ok & (out == b).all(1)
        out[todo] = nb[todo]
    return out


def _random_boxes(pool: Pool, media: np.ndarray, sizes: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Boxes with the pool's relative sizes at random places (labels: random pool boxes')."""
    s = sizes.set_index("media_id").loc[media]
    W, H = s["width"].to_numpy(float), s["height"].to_numpy(float)
    ref = pool.gt.iloc[rng.integers(0, len(pool.gt), len(media))]
    rs = pool.sizes.set_index("media_id").loc[ref["media_id"]]
    w = np.maximum((ref.x1 - ref.x0).to_numpy() / rs["width"].to_numpy() * W, 8)
    h = np.maximum((ref.y1 - ref.y0).to_numpy() / rs["height"].to_numpy() * H, 8)
    x, y = rng.uniform(0, 1, len(media)) * (W - w), rng.uniform(0, 1, len(media)) * (H - h)
    lab = pool.gt["label_id"].to_numpy()[rng.integers(0, len(pool.gt), len(media))]
    return pd.DataFrame({"media_id": media, "label_id": lab, "x0": x, "y0": y, "x1": x + w, "y1": y + h})


def corrupt(gt: pd.DataFrame, sizes: pd.DataFrame, pool: Pool, mode: str, rate: float,
            rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Returns (noisy GT with a ``corrupt`` column naming a box's error and ``orig_*`` where a moved
    box belongs, the removed boxes, per-error rows ``media_id, type``)."""
    g = gt.assign(corrupt="")
    for c in BOX:
        g["orig_" + c] = np.nan
    s = sizes.set_index("media_id").loc[g["media_id"]]
    W, H = s["width"].to_numpy(float), s["height"].to_numpy(float)
    b = g[BOX].to_numpy(float)
    if mode == "annotation":
        hit = rng.random(len(g)) < rate
        kind = np.where(hit, rng.choice(ANN_TYPES, len(g)), "")
        sh = kind == "shift"
        nb = _move(b[sh], rng.uniform(0.35, 1.0, sh.sum()), rng.uniform(0, 2 * np.pi, sh.sum()), W[sh], H[sh])
        moved = (nb != b[sh]).any(1)
        kind[np.flatnonzero(sh)[~moved]] = ""
        g.loc[np.flatnonzero(sh)[moved], ["orig_" + c for c in BOX]] = b[sh][moved]
        g.loc[sh, BOX] = nb
        sw = kind == "swap"
        g.loc[sw, "label_id"] = _other_label(g.loc[sw, "label_id"].to_numpy(), pool, rng)
        g["corrupt"] = np.where(kind == "spurious", "", kind)
        extra = _random_boxes(pool, g.loc[kind == "spurious", "media_id"].to_numpy(), sizes, rng)
        extra["corrupt"] = "spurious"
        removed = g.loc[kind == "remove", ["media_id", "label_id", *BOX]]
        g = pd.concat([g[kind != "remove"], extra], ignore_index=True)
        errors = pd.DataFrame({"media_id": gt["media_id"].to_numpy()[kind != ""], "type": kind[kind != ""]})
    else:
        mids = np.unique(g["media_id"])
        chosen = rng.choice(mids, round(rate * len(sizes)), replace=False)
        types = rng.choice(IMG_TYPES, len(chosen))
        t_of = pd.Series(types, index=chosen).reindex(g["media_id"]).fillna("").to_numpy()
        sh = t_of == "shift_all"
        img_f = pd.Series(rng.uniform(0.4, 1.0, len(chosen)), index=chosen)
        img_a = pd.Series(np.where(rng.random(len(chosen)) < 0.5, 1.25 * np.pi,
                                   rng.uniform(0, 2 * np.pi, len(chosen))), index=chosen)  # 1.25 pi: corner/centre
        m = g.loc[sh, "media_id"]
        nb = _move(b[sh], np.where(img_a.loc[m] == 1.25 * np.pi, 0.7, img_f.loc[m]), img_a.loc[m].to_numpy(),
                   W[sh], H[sh])
        g.loc[sh, ["orig_" + c for c in BOX]] = b[sh]
        g.loc[sh, BOX] = nb
        rl = t_of == "relabel_all"
        for mid in chosen[types == "relabel_all"]:
            sel = rl & (g["media_id"].to_numpy() == mid)
            labs = np.unique(g.loc[sel, "label_id"])
            new = dict(zip(labs, _other_label(labs, pool, rng), strict=True))
            g.loc[sel, "label_id"] = g.loc[sel, "label_id"].map(new)
        g["corrupt"] = np.where(sh, "shift_all", np.where(rl, "relabel_all", ""))
        gone = np.isin(t_of, ["drop_all", "other_image"])
        removed = g.loc[gone, ["media_id", "label_id", *BOX]]
        donors = []
        for mid in chosen[types == "other_image"]:
            src = g[g["media_id"] == rng.choice(mids[mids != mid])]
            (w0, h0), (w1, h1) = sizes.set_index("media_id").loc[[src["media_id"].iloc[0], mid]].to_numpy(float)
            d = src[["media_id", "label_id", *BOX]].assign(media_id=mid, corrupt="other_image")
            d[["x0", "x1"]] *= w1 / w0
            d[["y0", "y1"]] *= h1 / h0
            donors.append(d)
        g = pd.concat([g[~gone], *donors], ignore_index=True)
        errors = pd.DataFrame({"media_id": chosen, "type": types})
    g = g.sort_values("media_id", kind="stable").reset_index(drop=True)
    return g, removed.reset_index(drop=True), errors


# -- the simulated model -------------------------------------------------------------------------
def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _occlusion(gt: pd.DataFrame) -> np.ndarray:
    """Per box, the largest fraction of it covered by another box of the image."""
    g = gt[["media_id", *BOX]].reset_index(drop=True).reset_index()
    j = g.merge(g, on="media_id", suffixes=("", "_o"))
    j = j[j["index"] != j["index_o"]]
    iw = (np.minimum(j.x1, j.x1_o) - np.maximum(j.x0, j.x0_o)).clip(lower=0)
    ih = (np.minimum(j.y1, j.y1_o) - np.maximum(j.y0, j.y0_o)).clip(lower=0)
    cov = iw * ih / np.maximum((j.x1 - j.x0) * (j.y1 - j.y0), 1e-9)
    return cov.groupby(j["index"]).max().reindex(np.arange(len(g))).fillna(0).clip(0, 1).to_numpy()


def simulate_model(clean: pd.DataFrame, sizes: pd.DataFrame, pool: Pool, rng: np.random.Generator) -> pd.DataFrame:
    """A good detector's output on the CLEAN ground truth (see the module docstring)."""
    n = len(clean)
    diff = pd.Series(rng.normal(0, 0.6, len(sizes)), index=sizes["media_id"])  # per-image difficulty
    e = diff.loc[clean["media_id"]].to_numpy()
    b = clean[BOX].to_numpy(float)
    w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    s = np.sqrt(w * h)
    det = rng.random(n) < _sigmoid(-0.2 + 1.45 * np.log(s / 10) - 1.5 * _occlusion(clean) + e)
    sd = 0.04 + 0.8 / np.maximum(s, 4)
    jb = b + rng.normal(0, 1, (n, 4)) * sd[:, None] * np.stack([w, h, w, h], 1)
    q = _iou_rows(jb, b)
    score = _sigmoid(0.5 + 0.6 * np.log(s / 10) + 4.0 * (q - 0.7) + 0.5 * e + rng.normal(0, 0.8, n))
    lab = clean["label_id"].to_numpy().copy()
    conf = det & (rng.random(n) < np.where(s < 32, 0.12, 0.04))
    lab[conf] = _other_label(lab[conf], pool, rng)
    score[conf] *= rng.uniform(0.5, 0.9, conf.sum())
    mid = clean["media_id"].to_numpy()
    parts = [pd.DataFrame({"media_id": mid[det], "label_id": lab[det], "x0": jb[det, 0], "y0": jb[det, 1],
                           "x1": jb[det, 2], "y1": jb[det, 3], "score": score[det]})]
    twin = conf & (rng.random(n) < 0.5)  # the right class too, lower
    dup = det & ~conf & (rng.random(n) < 0.1)  # NMS leftovers
    for sel, jit, fac, labs in ((twin, 0.06, (0.2, 0.6), clean["label_id"].to_numpy()), (dup, 0.15, (0.1, 0.5), lab)):
        db = b[sel] + rng.normal(0, jit, (sel.sum(), 4)) * np.stack([w, h, w, h], 1)[sel]
        parts.append(pd.DataFrame({"media_id": mid[sel], "label_id": labs[sel], "x0": db[:, 0], "y0": db[:, 1],
                                   "x1": db[:, 2], "y1": db[:, 3], "score": score[sel] * rng.uniform(*fac, sel.sum())}))
    part = rng.random(n) < 0.05  # a part of an object (the top or left half)
    pb = b[part].copy()
    top = rng.random(part.sum()) < 0.5
    pb[top, 3] = (pb[top, 1] + pb[top, 3]) / 2
    pb[~top, 2] = (pb[~top, 0] + pb[~top, 2]) / 2
    parts.append(pd.DataFrame({"media_id": mid[part], "label_id": clean["label_id"].to_numpy()[part],
                               "x0": pb[:, 0], "y0": pb[:, 1], "x1": pb[:, 2], "y1": pb[:, 3],
                               "score": rng.uniform(0.05, 0.4, part.sum())}))
    n_gt = np.bincount(mid, minlength=sizes["media_id"].max() + 1)[sizes["media_id"]]
    k = rng.poisson(0.5 + 0.1 * n_gt)  # clutter, more in busy images
    fp = _random_boxes(pool, np.repeat(sizes["media_id"].to_numpy(), k), sizes, rng)
    fp["score"] = rng.beta(1.2, 8, len(fp))
    k2 = rng.poisson(0.1, len(sizes))  # confident detections of unannotated things
    fp2 = _random_boxes(pool, np.repeat(sizes["media_id"].to_numpy(), k2), sizes, rng)
    fp2["score"] = rng.uniform(0.5, 0.9, len(fp2))
    pred = pd.concat([*parts, fp, fp2], ignore_index=True)
    sz = sizes.set_index("media_id").loc[pred["media_id"]]
    pred[["x0", "x1"]] = pred[["x0", "x1"]].clip(lower=0).clip(upper=sz["width"].to_numpy(), axis=0)
    pred[["y0", "y1"]] = pred[["y0", "y1"]].clip(lower=0).clip(upper=sz["height"].to_numpy(), axis=0)
    pred["score"] = pred["score"].clip(0, 1)
    pred = pred[(pred.x1 - pred.x0 > 1) & (pred.y1 - pred.y0 > 1) & (pred.score >= 0.05)]
    return pred.sort_values("media_id", kind="stable").reset_index(drop=True)


def describe(gt: pd.DataFrame, sizes: pd.DataFrame) -> str:
    """Boxes per image and box size (sqrt of area / sqrt of image area) quantiles."""
    per = np.bincount(gt["media_id"], minlength=sizes["media_id"].max() + 1)[sizes["media_id"]]
    img = sizes.set_index("media_id").loc[gt["media_id"]]
    rel = np.sqrt((gt.x1 - gt.x0) * (gt.y1 - gt.y0) / (img["width"] * img["height"]).to_numpy())
    q = np.quantile(rel, [0.1, 0.5, 0.9])
    return (f"{len(sizes):>5} images, boxes/image mean {per.mean():.1f} median {np.median(per):.0f} "
            f"max {per.max()}, empty {np.mean(per == 0):.0%}; relative box size p10/p50/p90 "
            f"{q[0]:.3f}/{q[1]:.3f}/{q[2]:.3f}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="box statistics of the label-error pool")
    ap.add_argument("--synthetic-images", type=int, default=2000)
    ap.add_argument("--quick", action="store_true", help="200 synthetic images")
    a = ap.parse_args(argv)
    n = 200 if a.quick else a.synthetic_images
    for split in ("tuning", "reporting"):
        pool = real_pool(split)
        sg, ss = synthetic_layouts(pool, n, np.random.default_rng(0), len(pool.sizes) + 1)
        print(f"{split:<9} real      {describe(pool.gt, pool.sizes)}")
        print(f"{split:<9} synthetic {describe(sg, ss)}")
        pred = simulate_model(sg, ss, pool, np.random.default_rng(1))
        print(f"{split:<9} simulated model: {len(pred) / len(ss):.1f} predictions/image, "
              f"{(pred.score >= 0.5).mean():.0%} scored >= 0.5")


if __name__ == "__main__":
    main()
