"""Label Studio JSON export in: tasks' annotations as ground truth, their predictions as runs.

A task's image (``data.image``, else the first string in ``data``) is found under the image root
the user names: ``/data/local-files/?d=<path>`` (Local Storage) → ``<path>``; ``/data/upload/<project>/<name>``
(uploaded) → ``<name>``, else ``<name>`` without the ``<8 hex>-`` prefix Label Studio gives uploads;
an ``http(s)://``/``s3://``-style URL → its file name; anything else is a path relative to the root.
A path that escapes the root is refused (:func:`._paths.resolve_under_root`).

Of a task's annotations the newest one not cancelled (``was_cancelled``/``skipped``) is its ground
truth (the task is then marked complete; others are counted in the notes); each prediction goes
to the run named by its ``model_version`` (created when the project has none of that name), its
results' ``score`` (else the prediction's) kept. Regions are read by :mod:`._label_studio_regions`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlparse

import pandas as pd

from .._report import ImportReport
from ..errors import FormatError, ValidationError
from ..store import Schema
from ..store._prepare import prepare_instances
from ..store._repeats import DEFAULT_MODE, check_mode, write_with_mode
from ..store._runs import add_run
from ..store._schema_load import load_state
from ._coco import read_json
from ._import_tail import finish_import, translate_problems
from ._ingest import add_media, probe_files
from ._label_studio_config import read_config
from ._label_studio_regions import Parsed, parse_results
from ._label_studio_schema import schema_from_config
from ._labels import ensure_labels
from ._paths import resolve_under_root

if TYPE_CHECKING:
    from ..store import Session

__all__ = ["image_name", "import_label_studio"]

_UPLOAD_PREFIX = re.compile(r"^[0-9a-f]{8}-")
_COLUMNS = ["media_id", "label_id", "kind", "x0", "y0", "x1", "y1", "points", "attributes", "score", "extra"]


def image_name(ref: str) -> tuple[list[str], str | None]:
    """Candidate paths (relative to the image root, first match wins) of a task's image reference, or a problem.

    Example:
        >>> image_name("/data/local-files/?d=sub/a%20b.jpg")
        (['sub/a b.jpg'], None)
        >>> image_name("/data/upload/3/1a2b3c4d-cat.jpg")
        (['1a2b3c4d-cat.jpg', 'cat.jpg', '3/1a2b3c4d-cat.jpg'], None)
    """
    if "?d=" in ref and ref.lstrip("/").startswith("data/"):
        values = parse_qs(urlparse(ref).query, keep_blank_values=True).get("d") or [""]
        return ([values[-1]], None) if values[-1] else ([], f"local-files URL {ref!r} has no path after ?d=")
    path = ref[1:] if ref.startswith("/") else ref
    if path.startswith(("data/upload/", "upload/")):
        parts = path.split("/")[2 if path.startswith("data/") else 1:]
        name = parts[-1]
        out = [name] + ([_UPLOAD_PREFIX.sub("", name)] if _UPLOAD_PREFIX.match(name) else []) + ["/".join(parts)]
        return [unquote(p) for p in out], None
    u = urlparse(ref)
    if u.scheme and len(u.scheme) > 1:  # a URL (a Windows drive letter is one character)
        name = unquote(u.path.rsplit("/", 1)[-1])
        return ([name], None) if name else ([], f"URL {ref!r} names no file")
    return [ref], None


def _task_image(task: dict[str, Any]) -> Any:
    data = task.get("data")
    if not isinstance(data, dict):
        return None
    if "image" in data:
        return data["image"]
    return next((v for v in data.values() if isinstance(v, str)), None)


def _resolve(ref: Any, root: Path, allow_outside_root: bool) -> tuple[Path | None, str | None]:
    if not isinstance(ref, str) or not ref:
        return None, f"data.image {ref!r} is not an image reference (a path or URL)"
    names, problem = image_name(ref)
    if problem:
        return None, problem
    for name in names:
        full, problem = resolve_under_root(root, name, allow_outside_root=allow_outside_root)
        if problem:
            return None, problem
        if full.is_file():
            return full, None
    return None, (f"image {ref!r} is not under the image root {str(root)!r} (looked for {names!r}); pass images= "
                  "the folder Label Studio's paths are relative to")


def _annotation(task: dict[str, Any]) -> tuple[dict[str, Any] | None, int]:
    """The newest annotation not cancelled, and how many other ones the task has."""
    anns = task.get("annotations", task.get("completions")) or []
    if not isinstance(anns, list):
        return None, 0
    live = [a for a in anns if isinstance(a, dict) and not a.get("was_cancelled") and not a.get("skipped")]
    if not live:
        return None, len(anns)
    newest = max(enumerate(live), key=lambda ia: (str(ia[1].get("updated_at") or ia[1].get("created_at") or ""),
                                                   ia[0]))[1]
    return newest, len(anns) - 1


def _check_labels(parsed: Parsed, config: dict[str, dict[str, Any]] | None) -> Parsed:
    """Move rows whose label is not declared by their control in the config to the problems."""
    if config is None:
        return parsed
    declared: dict[str, set[str]] = {name: set(c["labels"]) for name, c in config.items()}
    keep = Parsed(problems=parsed.problems, rotated=parsed.rotated, labels=parsed.labels)
    for row, name in zip(parsed.rows, parsed.names, strict=True):
        ctl = row["control"]
        ok = ctl in declared and (row["kind"] == "keypoints" or row["label"] in declared[str(ctl)])
        if not ok:
            keep.problems.append((name, f"label {row['label']!r} is not declared by control {ctl!r} of the labeling "
                                        f"config; add it there or fix the task"))
            continue
        keep.rows.append(row)
        keep.names.append(name)
    return keep


def _frame(rows: list[dict[str, Any]], label_ids: dict[str, int]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["media_id", "label", *_COLUMNS[2:]])
    df["label_id"] = df.pop("label").map(label_ids)
    for c in ("x0", "y0", "x1", "y1", "score"):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    for c in ("points", "attributes", "extra"):
        df[c] = df[c].astype(object)
    return df[_COLUMNS]


def import_label_studio(session: Session, path: str | os.PathLike[str], images: str | os.PathLike[str] | None = None,
                        *, config: str | os.PathLike[str] | None = None, errors: str = "report",
                        allow_outside_root: bool = False, new_labels: bool = True, strict: bool = False,
                        clip: bool = False, mode: str = DEFAULT_MODE) -> ImportReport:
    """Import a Label Studio JSON export in one transaction (see ``Project.import_label_studio``)."""
    if errors not in ("report", "raise"):
        raise ValidationError(f"errors={errors!r}: use 'report' (store good rows, list bad ones) or 'raise'")
    mode = check_mode(mode)
    src = Path(path)
    tasks = read_json(src, "Label Studio file")
    if isinstance(tasks, dict):
        tasks = [tasks]
    if not isinstance(tasks, list):
        raise FormatError(f"Label Studio file {str(src)!r} must hold a list of tasks (Label Studio's JSON export); "
                          f"it holds a {type(tasks).__name__}")
    root = Path(images) if images is not None else src.parent
    if not root.is_dir():
        raise FormatError(f"image root {str(root)!r} is not a folder; pass images= the folder that the image "
                          f"paths in {src.name} are relative to")
    cfg_path = Path(config) if config is not None else src.with_suffix(".xml")
    cfg = read_config(cfg_path) if config is not None or cfg_path.is_file() else None
    report = ImportReport(f"Label Studio {src.name}")
    found: list[tuple[str, dict[str, Any], Path]] = []
    for k, t in enumerate(tasks):
        item = f"task {t.get('id', f'#{k}')}" if isinstance(t, dict) else f"task #{k}"
        if not isinstance(t, dict):
            report.add_problem(item, f"a task must be an object, got {type(t).__name__}")
            continue
        full, problem = _resolve(_task_image(t), root, allow_outside_root)
        if problem:
            report.add_problem(item, problem)
            continue
        assert full is not None
        found.append((item, t, full))
    base = root.resolve()
    rels = [f.relative_to(base).as_posix() if f.is_relative_to(base) else f.name for _, _, f in found]
    probed = probe_files(session, [f for _, _, f in found], rels)  # file I/O before the write transaction
    with session.store.transaction() as con:
        media_at = add_media(con, probed, [f for _, _, f in found], report, [i for i, _, _ in found])
        sizes = con.execute("SELECT media_id, width, height FROM media WHERE list_contains(?::BIGINT[], media_id)",
                            [sorted(set(media_at.values()))]).df().set_index("media_id")
        if cfg is not None and new_labels:
            schema_from_config(session, cfg, str(cfg_path))
        state = load_state(con)
        gt: list[dict[str, Any]] = []
        gt_names: list[str] = []
        preds: dict[str, tuple[list[dict[str, Any]], list[str], set[int]]] = {}
        annotated, bad_media = set(), set()
        rotated = others = 0
        for i, (item, t, _) in enumerate(found):
            if i not in media_at:
                continue
            mid = media_at[i]
            w, h = int(sizes.at[mid, "width"]), int(sizes.at[mid, "height"])
            ann, n_other = _annotation(t)
            others += n_other
            lists: list[tuple[str, Any, str | None, Any]] = []
            if ann is not None:
                lists.append(("annotation", ann.get("result") or [], None, None))
            for j, p in enumerate(t.get("predictions") or []):
                if not isinstance(p, dict):
                    report.add_problem(f"{item} prediction #{j}", "a prediction must be an object")
                    continue
                lists.append((f"prediction {p.get('model_version') or 'undefined'!r}", p.get("result") or [],
                              str(p.get("model_version") or "undefined"), p.get("score")))
            if ann is not None:
                annotated.add(mid)
            for what, results, model, score in lists:
                sized = [r for r in results if isinstance(r, dict) and "original_width" in r]
                off = next((r for r in sized if (r.get("original_width"), r.get("original_height")) != (w, h)), None)
                if off is not None:
                    report.add_problem(f"{item} {what}", f"original size {off['original_width']}x"
                                       f"{off['original_height']} is not the image's {w}x{h} (upright); its regions "
                                       "would be misplaced: fix the task or the image's EXIF rotation")
                    bad_media.add(mid)
                    continue
                parsed = _check_labels(parse_results(results, state, w, h, score), cfg)
                rotated += parsed.rotated
                for name, reason in parsed.problems:
                    report.add_problem(f"{item} {what} {name}", reason)
                    if model is None:
                        bad_media.add(mid)
                rows, names = (gt, gt_names) if model is None else preds.setdefault(model, ([], [], set()))[:2]
                if model is not None:
                    preds[model][2].add(mid)
                for row, name in zip(parsed.rows, parsed.names, strict=True):
                    rows.append({**row, "media_id": mid})
                    names.append(f"{item} {what} {name}")
        label_ids = _labels(session, gt + [r for rs, _, _ in preds.values() for r in rs], new_labels, report)
        gt_df = _frame(gt, label_ids)
        known = gt_df["label_id"].notna().to_numpy()
        bad_media |= set(gt_df["media_id"][~known].astype(int))
        state = load_state(con)
        written: dict[str, tuple[Any, pd.DataFrame, list[int]]] = {}
        for model, (rows, names, media_set) in sorted(preds.items()):
            df = _frame(rows, label_ids)
            ok = df["label_id"].notna().to_numpy()
            df, names = df[ok].reset_index(drop=True), [n for n, k in zip(names, ok, strict=True) if k]
            if df["score"].isna().all():
                df = df.drop(columns="score")
            hit = con.execute("SELECT run_id FROM runs WHERE name = ?", [model]).fetchall()
            rid = int(hit[0][0]) if hit else add_run(con, model, None, {"source": f"Label Studio {src.name}"})
            sub = ImportReport(model)
            clean = prepare_instances(con, state, df.astype({"label_id": "int64"}), report=sub, strict=strict,
                                      run_id=rid, clip=clip, keep_outside=True, noun="predictions")
            translate_problems(sub, report, names, df)
            report.notes.extend(sub.notes)
            written[model] = (rid, clean, sorted(media_set))
        if rotated:
            report.notes.append(f"{rotated} rotated rectangle(s) were stored as 4-point polygons (nblabel boxes are "
                                "axis-aligned)")
        if others:
            report.notes.append(f"{others} further annotation(s) of tasks (older or cancelled) were not imported: "
                                "the newest one not cancelled is each task's ground truth")
        finish_import(con, session, gt_df[known].reset_index(drop=True).astype({"label_id": "int64"}),
                      [n for n, k in zip(gt_names, known, strict=True) if k], report, what="regions",
                      media=sorted(annotated), bad_media=bad_media, strict=strict, errors=errors, complete=True,
                      refused_note="{n} task(s) with refused regions were not marked complete", mode=mode, clip=clip,
                      keep_outside=True)
        n_pred: dict[str, int] = {}
        for model, (rid, clean, media) in written.items():
            sub = ImportReport(model)
            ids = write_with_mode(con, clean, mode=mode, run_id=rid, media=media, report=sub, author=session.author,
                                  schema_version=state.version, noun="predictions")
            report.notes.extend(f"run {model!r}: {n}" for n in sub.notes)
            report.ids += [int(i) for i in ids]
            n_pred[model] = len(ids)
        report.added += sum(n_pred.values())
        report.extra["predictions"] = n_pred
        report.extra["media_ids"] = sorted(set(media_at.values()))
    return report


def _labels(session: Session, rows: list[dict[str, Any]], new_labels: bool, report: ImportReport) -> dict[str, int]:
    """Label ids of the rows' labels, each gaining the spatial types its rows need; with ``new_labels=False``
    a label the schema lacks is a problem (its rows are refused)."""
    need: dict[str, set[str]] = {}
    for r in rows:
        need.setdefault(r["label"], set()).add({"mask": "polygon"}.get(r["kind"], r["kind"]))
    have = Schema(session.store).state().label_ids_by_name()
    out: dict[str, int] = {}
    for name in sorted(need):
        if name not in have and not new_labels:
            continue
        spatial = sorted(need[name] - {"keypoints"})
        out.update(ensure_labels(session, [name], spatial) if spatial else {name: have[name]})
    missing = sorted(set(need) - set(out))
    if missing:
        report.add_problem(f"label {missing[0]!r}" + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""),
                           f"label(s) {missing} are not in the schema and new_labels=False; add them with "
                           "proj.schema.add_label(...) or pass new_labels=True")
    return out
