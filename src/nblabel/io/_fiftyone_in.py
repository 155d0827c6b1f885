"""A FiftyOne dataset into a project: media, schema, ground truth, runs, splits (see ``nl.from_fiftyone``).

The steps: the samples' files go in as media (probed as ``add_images`` probes them); the schema comes
from ``dataset.info["nblabel"]`` when ``to_fiftyone`` wrote it, else from the labels (their names,
kinds, keypoint counts and attribute values); the rows of :mod:`._fiftyone_read` become pixels and
go through the store's one write path (ground truth, then one run per prediction source); the media
are marked complete; sample tags become a split (train/val/test) and static datasets (the rest).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._report import ImportReport
from ..errors import ValidationError
from ..geometry import rle_encode
from ..store import Schema
from ..store import _runs as runs_rows
from ..store._datasets import add_static_members
from ..store._edits import add_instances
from ..store._media import set_status
from ..store._splits import add_split_members
from ._fiftyone_common import INFO_KEY, SAMPLE_RESERVED, load_fiftyone
from ._fiftyone_read import Row, Source, label_fields, read_source, sources
from ._ingest import add_images
from ._predictions import add_predictions

if TYPE_CHECKING:
    from ..store import Session

__all__ = ["import_fiftyone"]

SPLIT_TAGS = ("train", "val", "validation", "test")
SPATIAL = {"box": "box", "mask": "polygon", "polygon": "polygon", "keypoints": "keypoints", "point": "point",
           "line": "line", "tag": "tag"}
SIMPLE_FIELDS = ("StringField", "IntField", "FloatField", "BooleanField")


def _info(dataset: Any) -> dict[str, Any]:
    info = getattr(dataset, "info", None)
    d = info.get(INFO_KEY) if isinstance(info, dict) else None
    return d if isinstance(d, dict) else {}


def _media(session: Session, dataset: Any, report: ImportReport, skip: set[str]) -> tuple[list[int | None], list[str]]:
    """Add every sample's file; returns each sample's media id (``None``: not added) and its report name."""
    paths = [os.path.abspath(os.path.expanduser(str(p))) for p in dataset.values("filepath")]
    ids = dataset.values("id")
    items = [f"sample {sid} ({Path(p).name})" for sid, p in zip(ids, paths, strict=True)]
    schema = dataset.get_field_schema()
    names: list[str] | None = None
    if "file_name" in schema:  # to_fiftyone's: the project's own file names come back
        got = dataset.values("file_name")
        if all(isinstance(n, str) and n for n in got) and len(set(got)) == len(set(paths)):
            names = list(got)
    if names is None:
        root = os.path.commonpath([os.path.dirname(p) for p in paths]) if paths else ""
        names = [Path(os.path.relpath(p, root)).as_posix() for p in paths]
    source = pd.DataFrame({"path": paths, "file_name": names})
    for k, f in schema.items():
        if type(f).__name__ in SIMPLE_FIELDS and k not in SAMPLE_RESERVED and k not in skip and not k.startswith("_"):
            source[k.removeprefix("meta_")] = pd.Series(dataset.values(k), dtype=object)
    rep = add_images(session, source)
    bad = {p.item: p.reason for p in rep.problems}
    for item, p in zip(items, paths, strict=True):
        if p in bad:
            report.add_problem(item, bad[p])
    report.notes.extend(rep.notes)
    with session.store.read() as con:
        uri = con.execute("SELECT uri, media_id FROM media").fetchall()
    by_uri = {os.path.abspath(str(u)): int(m) for u, m in uri}
    return [None if p in bad else by_uri.get(p) for p in paths], items


def _ensure_schema(session: Session, rows: list[Row], report: ImportReport, dataset: Any) -> set[str]:
    """Labels (with the spatial types their rows need), keypoint templates and attribute groups the rows
    need and the project lacks; returns the attribute names that cannot go in (dropped from the rows)."""
    schema = Schema(session.store)
    kinds: dict[str, set[str]] = {}
    npts: dict[str, int] = {}
    for r in rows:
        kinds.setdefault(r.label, set()).add(r.kind)
        if r.kind == "keypoints":
            npts[r.label] = max(npts.get(r.label, 0), len(r.points))
    state = schema.state()
    have = state.label_ids_by_name()
    for name, ks in kinds.items():
        spatial = sorted({SPATIAL[k] for k in ks})
        if name not in have:
            schema.add_label(name, spatial=spatial)
        else:
            lab = state.labels[have[name]]
            if any(s not in lab.spatial for s in spatial):
                schema.update_label(name, spatial=list(lab.spatial) + [s for s in spatial if s not in lab.spatial])
    state = schema.state()
    skel = getattr(dataset, "default_skeleton", None)
    for name, count in npts.items():
        if state.template_for(state.label_ids_by_name()[name]) is None:
            if skel is not None and len(skel.labels or []) == count:
                schema.add_keypoints(name, points=list(skel.labels), skeleton=[tuple(e) for e in skel.edges])
            else:
                schema.add_keypoints(name, points=[f"kp{i}" for i in range(count)])
    known = {a.name for a in schema.state().attributes.values()}
    seen: dict[str, set[str]] = {}
    options: dict[str, set[str]] = {}
    for r in rows:
        for k, v in r.attributes.items():
            if k in known:
                continue
            if isinstance(v, bool):
                t = "bool"
            elif isinstance(v, (int, float)):
                t = "number"
            elif isinstance(v, str):
                t = "text"
            elif isinstance(v, (list, tuple)) and all(isinstance(x, str) for x in v):
                t = "multiselect"
                options.setdefault(k, set()).update(v)
            else:
                t = type(v).__name__
            seen.setdefault(k, set()).add(t)
    dropped = set()
    for k, ts in sorted(seen.items()):
        if len(ts) == 1 and next(iter(ts)) in ("bool", "number", "text", "multiselect"):
            t = next(iter(ts))
            if t == "multiselect" and not options.get(k):
                dropped.add(k)
                continue
            schema.add_attribute(k, kind=t, options=sorted(options[k]) if t == "multiselect" else None)
        else:
            dropped.add(k)
            report.notes.append(f"label attribute {k!r} was not read: its values are {sorted(ts)} (nblabel "
                                "attributes are one of bool, number, text or a list of text)")
    return dropped


def _frame(rows: list[Row], media: list[int | None], size: dict[int, tuple[float, float]],
           session: Session, dropped: set[str]) -> tuple[pd.DataFrame, list[str]]:
    """Rows in pixels, as the store's instance columns, and each row's report name."""
    state = session.schema_state()
    recs, names = [], []
    for r in rows:
        mid = media[r.sample]
        if mid is None:
            continue
        w, h = size[mid]
        rec: dict[str, Any] = {"media_id": mid, "label": r.label, "kind": r.kind, "x0": math.nan, "y0": math.nan,
                               "x1": math.nan, "y1": math.nan, "points": None, "score": r.score,
                               "track_id": r.track_id, "iscrowd": r.iscrowd,
                               "attributes": {k: v for k, v in r.attributes.items() if k not in dropped} or None}
        if r.box is not None and r.kind in ("box", "keypoints"):
            x, y, bw, bh = r.box
            rec.update(x0=x * w, y0=y * h, x1=(x + bw) * w, y1=(y + bh) * h)
        if r.kind == "polygon":
            rec["points"] = [[[x * w, y * h] for x, y in ring] for ring in r.points]
        elif r.kind == "line":
            rec["points"] = [[x * w, y * h] for x, y in r.points]
        elif r.kind == "keypoints":
            tpl = state.template_for(state.label_ids_by_name()[r.label])
            if len(r.points) == 1 and r.points[0][2] > 0 and (tpl is None or len(tpl.points) != 1):
                rec.update(kind="point", points=[[r.points[0][0] * w, r.points[0][1] * h]], x0=math.nan)
            else:
                rec["points"] = [[x * w, y * h, v] for x, y, v in r.points]
        elif r.kind == "mask":
            assert r.box is not None  # a mask comes from a Detection
            x, y, bw, bh = r.box  # the box as given (a COCO bbox need not be the mask's extent)
            rec.update(points=_full_mask(r.points, r.box, int(w), int(h)), x0=x * w, y0=y * h, x1=(x + bw) * w,
                       y1=(y + bh) * h)
        recs.append(rec)
        names.append(r.item)
    return pd.DataFrame(recs), names


def _full_mask(crop: np.ndarray, box: list[float] | None, w: int, h: int) -> dict[str, Any]:
    """A Detection's mask (the part inside its box) placed on the whole image, as an RLE."""
    full = np.zeros((h, w), dtype=bool)
    assert box is not None
    x, y = round(box[0] * w), round(box[1] * h)
    ch, cw = crop.shape[:2]
    ys, xs = slice(max(y, 0), min(y + ch, h)), slice(max(x, 0), min(x + cw, w))
    full[ys, xs] = crop[ys.start - y: ys.stop - y, xs.start - x: xs.stop - x]
    out = rle_encode(full)
    assert isinstance(out, dict)
    return out


def _copy_problems(sub: ImportReport, report: ImportReport, names: list[str]) -> set[int]:
    """The store's "row N" problems under the labels' own names; returns the refused rows."""
    bad = set()
    for p in sub.problems:
        row = p.item[4:] if p.item.startswith("row ") else ""
        if row.isdigit() and int(row) < len(names):
            report.add_problem(names[int(row)], p.reason)
            bad.add(int(row))
        else:
            report.add_problem(p.item, p.reason)
    report.notes.extend(sub.notes)
    return bad


def _tags(session: Session, tags: list[list[str]], media: list[int | None], split: str,
          report: ImportReport, part_names: set[str]) -> None:
    """train/val/test tags (and the ``part_names`` to_fiftyone wrote, and ``name/part`` tags) into
    splits; other tags into static datasets."""
    parts: dict[str, dict[str, set[int]]] = {}
    static: dict[str, set[int]] = {}
    for ts, mid in zip(tags, media, strict=True):
        if mid is None:
            continue
        for t in ts or []:
            if t in SPLIT_TAGS or t in part_names:
                parts.setdefault(split, {}).setdefault(t, set()).add(mid)
            elif t.count("/") == 1 and all(t.split("/")):
                name, part = t.split("/")
                parts.setdefault(name, {}).setdefault(part, set()).add(mid)
            else:
                static.setdefault(t, set()).add(mid)
    with session.store.transaction() as con:
        for name, by_part in parts.items():
            counts: dict[int, int] = {}
            for ids in by_part.values():
                for m in ids:
                    counts[m] = counts.get(m, 0) + 1
            twice = {m for m, c in counts.items() if c > 1}
            if twice:
                report.notes.append(f"{len(twice)} media item(s) carry several of the tags of split {name!r} "
                                    f"({sorted(by_part)}); they were left out of it")
            clean = {p: sorted(ids - twice) for p, ids in by_part.items() if ids - twice}
            total = sum(len(v) for v in clean.values())
            if not total:
                continue
            ratios = {p: len(v) / total for p, v in clean.items()}
            config = {"ratios": ratios, "stratify": "labels", "group_by": None, "seed": 0, "format": 1,
                      "source": "fiftyone sample tags"}
            add_split_members(con, name, config, clean)
        for name, ids in static.items():
            add_static_members(con, name, sorted(ids))


def import_fiftyone(session: Session, dataset: Any, *, gt_field: str | None = "ground_truth",
                    pred_fields: Any = None, split: str | None = None, errors: str = "report") -> ImportReport:
    """Bring a FiftyOne dataset (or view) into the project (see ``nl.from_fiftyone``)."""
    load_fiftyone()
    if errors not in ("report", "raise"):
        raise ValidationError(f"errors={errors!r}: use 'report' or 'raise'")
    if not (hasattr(dataset, "get_field_schema") and hasattr(dataset, "values")):
        raise ValidationError(f"from_fiftyone needs a fiftyone Dataset or view, got {type(dataset).__name__}")
    report = ImportReport(f"FiftyOne {getattr(dataset, 'name', '')}")
    info = _info(dataset)
    evals = list(dataset.list_evaluations()) if hasattr(dataset, "list_evaluations") else []
    drop_attrs = {k for e in evals for k in (e, f"{e}_id", f"{e}_iou")}
    drop_fields = {f"{e}_{x}" for e in evals for x in ("tp", "fp", "fn")}
    fields = label_fields(dataset, report, drop_fields)
    srcs: list[Source] = sources(fields, gt_field, pred_fields, {v: k for k, v in info.get("runs", {}).items()})
    if isinstance(info.get("schema"), dict):
        Schema(session.store).load_dict({k: info["schema"][k] for k in ("labels", "attributes") if k in info["schema"]})
    media, items = _media(session, dataset, report, drop_fields | set(fields))
    attr_names = {v: k for k, v in info.get("attributes", {}).items()}
    values = {f: dataset.values(f) for s in srcs for f in s.fields}
    rows = {id(s): read_source(values, fields, s, len(media), items, drop_attrs, attr_names, report) for s in srcs}
    dropped = _ensure_schema(session, [r for rs in rows.values() for r in rs], report, dataset)
    with session.store.read() as con:
        size = {int(m): (float(w), float(h)) for m, w, h in con.execute("SELECT media_id, width, height FROM media").fetchall()}
    refused_media: set[int] = set()
    for s in srcs:
        got = rows[id(s)]
        if s.run is not None:  # a prediction needs its score
            for r in got:
                if r.score is None:
                    report.add_problem(r.item, f"has no confidence; the predictions of run {s.run!r} need one each "
                                       "(set label.confidence, or bring the field in as gt_field)")
            got = [r for r in got if r.score is not None]
        df, names = _frame(got, media, size, session, dropped)
        if df.empty:
            if s.run is not None:
                with session.store.transaction() as con:
                    runs_rows.add_run(con, s.run, None, {"fiftyone_fields": s.fields})
            continue
        if s.run is None:
            sub = add_instances(session, df, errors="report", mode="append")
        else:
            with session.store.transaction() as con:
                rid = runs_rows.add_run(con, s.run, None, {"fiftyone_fields": s.fields})
            sub = add_predictions(session, rid, s.run, df, errors="report", mode="append")
        bad = _copy_problems(sub, report, names)
        report.added += sub.added
        if s.run is None:
            refused_media |= {int(df["media_id"].iloc[i]) for i in bad}
    made: dict[str, list[str]] = info["splits"] if isinstance(info.get("splits"), dict) else {}
    own = next(iter(made.items())) if len(made) == 1 else None  # to_fiftyone wrote its parts as plain tags
    if split is None:
        split = str(own[0]) if own else "fiftyone"
    _tags(session, dataset.values("tags"), media, split, report, set(own[1]) if own else set())
    if gt_field is not None:
        status = dataset.values("nblabel_status") if "nblabel_status" in dataset.get_field_schema() else None
        done = sorted({m for i, m in enumerate(media) if m is not None and m not in refused_media
                       and (status is None or status[i] == "complete")})
        with session.store.transaction() as con:
            if done:
                set_status(con, done, "complete", stage="label", reason=None, seconds_active=0.0,
                           author=session.author)
        if refused_media:
            report.notes.append(f"{len(refused_media)} media item(s) with refused ground truth were not marked complete")
    report.skipped = len(report.problems)
    report.extra["media_ids"] = sorted({m for m in media if m is not None})
    if errors == "raise":
        report.raise_if_problems()
    return report
