"""Computing embeddings: one vector per media item, in batches, resumable, reusing vectors by sha256.

Each batch is written in its own transaction, so an interrupted run keeps what it finished and the
next run computes only the media still without a vector. Images are decoded reduced (JPEG DCT
scaling, box reduction) to the size the model needs, never at full size.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from .._warnings import warn
from ..errors import MediaError, NblabelError, ValidationError
from ..io._images import load_display_image
from ..store._embeddings import (
    delete_embeddings,
    embedding_info,
    missing_media,
    reuse_by_sha256,
    write_embeddings,
)
from ._embedder import DEFAULT_MODEL, THUMB, default_embedder
from ._scope import scope_ids

if TYPE_CHECKING:
    from ..store import Session

__all__ = ["embed_media", "model_id", "resolve_model"]

Model = Callable[[Sequence[Image.Image]], Any]


def model_id(model: Any) -> str:
    """The name stored with vectors a model made: ``model.name`` if it has one, else module.qualname.

    Example:
        >>> model_id(default_embedder)
        'nblabel-hand-v1'
        >>> model_id(len)
        'builtins.len'
    """
    if model is default_embedder:
        return DEFAULT_MODEL
    name = getattr(model, "name", None)
    if isinstance(name, str) and name:
        return name
    qual = getattr(model, "__qualname__", None) or type(model).__qualname__
    return f"{getattr(model, '__module__', None) or type(model).__module__}.{qual}"


def resolve_model(model: Any) -> tuple[Model, str]:
    """``(callable, its model id)``; ``None`` is the default embedder; a non-callable is refused.

    Example:
        >>> resolve_model(None)[1]
        'nblabel-hand-v1'
    """
    if model is None:
        return default_embedder, DEFAULT_MODEL
    if not callable(model):
        raise ValidationError(f"model must be a callable (a batch of PIL images → array [n, d]) or None "
                              f"(the default embedder), got {type(model).__name__}")
    return model, model_id(model)


def _media_rows(session: Session, ids: list[int]) -> dict[int, tuple[str, int]]:
    with session.store.read() as con:
        rows = con.execute("SELECT media_id, uri, coalesce(orientation, 1) FROM media "
                           "WHERE media_id IN (SELECT unnest(?))", [ids]).fetchall()
    return {int(r[0]): (str(r[1]), int(r[2])) for r in rows}


def _run_model(model: Model, mid: str, images: list[Image.Image]) -> np.ndarray:
    try:
        out = model(images)
    except NblabelError:
        raise
    except Exception as e:
        raise NblabelError(f"model {mid!r} failed on a batch of {len(images)} images: "
                           f"{type(e).__name__}: {e}") from e
    v = np.asarray(out, dtype=np.float32) if not hasattr(out, "detach") else np.asarray(out.detach().cpu())
    if v.ndim != 2 or v.shape[0] != len(images):
        raise ValidationError(f"model {mid!r} returned shape {getattr(v, 'shape', None)} for {len(images)} images; "
                              "it must return an array [n_images, d]")
    return v


def embed_media(session: Session, name: str = "default", *, model: Any = None, slice: Any = None,
                batch_size: int = 64, image_size: int | None = None, overwrite: bool = False,
                progress: bool | None = None) -> int:
    """Compute and store a vector for every media item of ``slice`` that has none under ``name``.

    Returns how many vectors were stored (computed, or reused from an identical image by sha256).
    Media that cannot be read are left out with a warning naming them.

    Args:
        name: the embedding's name.
        model: ``None`` (the default embedder) or a callable taking a list of PIL RGB images and
            returning an array ``[n, d]``.
        slice: the media to embed (default: all).
        batch_size: images decoded and embedded at once (memory is bounded by one batch).
        image_size: the smaller side images are decoded to at least (default: 128 for the default
            embedder, 512 for another model).
        overwrite: recompute every vector of ``name`` (needed to change the model of a name).
        progress: show a progress bar (default: when there is more than one batch).

    Example:
        >>> import nblabel as nl, numpy as np
        >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((8, 8, 3), np.uint8)])
        >>> embed_media(p.session), embed_media(p.session)
        (1, 0)
    """
    if not isinstance(name, str) or not name.strip():
        raise ValidationError(f"an embedding needs a non-empty name, got {name!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValidationError(f"batch_size must be a positive integer, got {batch_size!r}")
    fn, mid = resolve_model(model)
    info = embedding_info(session)
    stored = info.loc[info["name"] == name, "model"].tolist()
    if stored and not overwrite and stored[0] != mid:
        raise ValidationError(f"embedding {name!r} was made with model {stored[0]!r}, not {mid!r}; choose "
                              "another name or pass overwrite=True to recompute it")
    ids = scope_ids(session, slice)
    if overwrite and stored:
        delete_embeddings(session, name)
    todo = missing_media(session, name, ids)
    done = reuse_by_sha256(session, name, mid, todo) if todo else 0
    if done:
        todo = missing_media(session, name, todo)
    if not todo:
        return done
    side = image_size or (2 * THUMB if fn is default_embedder else 512)
    rows = _media_rows(session, todo)
    show = progress if progress is not None else len(todo) > batch_size
    bar = None
    if show:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(todo), desc=f"embed {name}", unit="img")
    failed: list[str] = []
    try:
        for s in range(0, len(todo), batch_size):
            batch = todo[s:s + batch_size]
            images, ok = [], []
            for m in batch:
                uri, orientation = rows[m]
                try:
                    images.append(load_display_image(uri, orientation, fit=(side, side)).convert("RGB"))
                    ok.append(m)
                except MediaError as e:
                    failed.append(f"{m}: {e}")
            if ok:
                vecs = _run_model(fn, mid, images)
                done += write_embeddings(session, name, np.asarray(ok, np.int64), vecs, model=mid)
            del images
            if bar is not None:
                bar.update(len(batch))
    finally:
        if bar is not None:
            bar.close()
    if failed:
        warn(f"{len(failed)} media could not be read and have no vector in {name!r} (first: {failed[0]}); "
             "fix the files and run proj.embed() again")
    return done
