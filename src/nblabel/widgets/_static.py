"""A static picture of one media item with its instances: for frontends without widgets.

The picture is a PNG (label names are drawn as pixels, never inserted into a page as HTML), so
nbviewer, GitHub, a PDF export or a terminal notebook viewer still shows what was labeled.
"""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING, Any

from PIL import Image, ImageDraw, ImageFont

from ..store import media_ids
from ..store._media import media_info
from ._colors import run_color
from ._display import _decode, display_size

if TYPE_CHECKING:
    from ..store import Session

__all__ = ["StaticView", "png_bytes", "render_static"]

def png_bytes(im: Image.Image, compress_level: int = 6) -> bytes:
    """Encode a PIL image as PNG bytes.

    Example:
        >>> from PIL import Image
        >>> png_bytes(Image.new("RGB", (2, 2)))[:4]
        b'\\x89PNG'
    """
    buf = io.BytesIO()
    im.save(buf, format="PNG", optimize=False, compress_level=compress_level)
    return buf.getvalue()


def _rgb(color: str | None, default: tuple[int, int, int] = (255, 64, 64)) -> tuple[int, int, int]:
    try:
        from PIL import ImageColor

        c = ImageColor.getrgb(color or "")
        return (c[0], c[1], c[2])
    except (ValueError, TypeError):
        return default


def render_static(proj: Any, media: int | str, runs: list[str] | None = None, *,
                  max_side: int = 1024) -> Image.Image:
    """Draw one media item with its ground truth (and the given runs' predictions) into a PIL image.

    Boxes, polygons, lines, points and keypoints (with skeleton) are drawn in their label's colour
    with the label name; predictions are thinner, in their run's colour, with their score;
    whole-image tags are listed in the top-left corner. The picture is downscaled so its longest
    side is at most ``max_side``.

    Example:
        >>> import nblabel as nl, numpy as np
        >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((40, 60, 3), np.uint8)])
        >>> _ = p.schema.add_label("car"); _ = p.add_instance(1, "car", box=[5, 5, 30, 20])
        >>> render_static(p, 1).size
        (60, 40)
    """
    from ._messages import read_instances

    session: Session = getattr(proj, "session", proj)  # a Project or its Session
    with session.store.read() as con:
        (mid,) = media_ids(con, media)
        m = con.execute("SELECT uri, width, height, orientation FROM media WHERE media_id = ?", [mid]).fetchall()[0]
        gt, preds = read_instances(con, mid, runs)
        state_labels = {int(r[0]): (r[1], r[2]) for r in con.execute("SELECT label_id, name, color FROM labels").fetchall()}
        tpl = {int(r[0]): json.loads(r[1]) for r in con.execute(
            "SELECT l.label_id, t.skeleton FROM labels l JOIN keypoint_templates t USING (template_id)").fetchall()}
        run_ids = {str(r[1]): int(r[0]) for r in con.execute("SELECT run_id, name FROM runs").fetchall()}
    uri, w, h, orientation = m[0], int(m[1]), int(m[2]), int(m[3] or 1)
    dw, dh, s = display_size(w, h, max(16, int(max_side)))
    im = _decode(uri, orientation, (dw, dh) if s < 1 else None)
    if im.size != (dw, dh):
        im = im.resize((dw, dh), Image.Resampling.BILINEAR)
    im = im.convert("RGB")
    draw = ImageDraw.Draw(im)
    font = ImageFont.load_default()
    lw = max(1, round(max(dw, dh) / 400))

    def xy(p: list[float]) -> tuple[float, float]:
        return (p[0] * s, p[1] * s)

    def text(at: tuple[float, float], label: str, color: tuple[int, int, int]) -> None:
        x, y = at
        bb = draw.textbbox((0, 0), label, font=font)
        tw, th = bb[2] - bb[0], bb[3] - bb[1]
        y = max(0.0, y - th - 4)
        draw.rectangle([x, y, x + tw + 4, y + th + 4], fill=color)
        draw.text((x + 2, y + 1), label, fill=(255, 255, 255) if sum(color) < 450 else (0, 0, 0), font=font)

    tags = []
    captions = len(gt) + len(preds) <= 150  # hundreds of captions are unreadable and slow to draw
    for inst, is_pred in [(i, False) for i in gt] + [(p, True) for p in preds]:
        name, lcolor = state_labels.get(inst["label_id"], (f"label {inst['label_id']}", None))
        if is_pred:
            color = _rgb(run_color(run_ids.get(inst["run"], 1)))
            caption = f"{name} {inst['score']:.2f}" if inst["score"] is not None else name
            width = max(1, lw - 1)
        else:
            color, caption, width = _rgb(lcolor), name, lw + 1
        kind, pts, box = inst["kind"], inst["points"], inst["box"]
        if kind == "tag":
            tags.append((caption, color))
            continue
        if kind == "polygon" and pts:
            ring = [xy(p) for p in pts]
            draw.line([*ring, ring[0]], fill=color, width=width)
        elif kind == "line" and pts:
            draw.line([xy(p) for p in pts], fill=color, width=width)
        elif kind in ("point", "keypoints") and pts:
            vis = [(i, p) for i, p in enumerate(pts) if kind == "point" or (len(p) > 2 and p[2] > 0)]
            where = {i: xy(p) for i, p in vis}
            for a, b in tpl.get(inst["label_id"], []) if kind == "keypoints" else []:
                if a in where and b in where:
                    draw.line([where[a], where[b]], fill=color, width=width)
            r = 2 + lw
            for _, (x, y) in where.items():
                draw.ellipse([x - r, y - r, x + r, y + r], fill=color, outline=(255, 255, 255))
        else:
            draw.rectangle([box[0] * s, box[1] * s, box[2] * s, box[3] * s], outline=color, width=width)
        if captions:
            text((box[0] * s, box[1] * s), caption, color)
    y = 2
    for caption, color in tags:
        text((2, y + 14), caption, color)
        y += 16
    return im


class StaticView:
    """A media item drawn as a PNG; displays as ``image/png`` plus a plain-text summary.

    Example:
        >>> import nblabel as nl, numpy as np
        >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((40, 60, 3), np.uint8)])
        >>> sorted(StaticView(p, 1)._repr_mimebundle_())
        ['image/png', 'text/plain']
    """

    def __init__(self, proj: Any, media: int | str, runs: list[str] | None = None, *, max_side: int = 1024) -> None:
        self.session: Session = getattr(proj, "session", proj)
        self.media, self.runs, self.max_side = media, runs, max_side

    def image(self) -> Image.Image:
        """The picture as a PIL image.

        Example:
            >>> import nblabel as nl, numpy as np
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((40, 60, 3), np.uint8)])
            >>> StaticView(p, 1).image().size
            (60, 40)
        """
        return render_static(self.session, self.media, self.runs, max_side=self.max_side)

    def __repr__(self) -> str:
        with self.session.store.read() as con:
            info = media_info(con, self.media)
        return f"<nblabel picture of media {info['media_id']} ({info['file_name']}, {info['width']}x{info['height']})>"

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        return {"image/png": png_bytes(self.image()), "text/plain": repr(self)}
