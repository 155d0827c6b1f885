"""Project methods for "CVAT for images 1.1" XML (the format logic is in ``nblabel.io._cvat_*``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._report import ImportReport
    from ..store import Session

PathLike = str | os.PathLike[str]


class CvatMixin:
    """``export_cvat`` / ``import_cvat``."""

    _session: Session

    def export_cvat(self, path: PathLike, *, slice: Any = None, include_incomplete: bool = False,
                    copy_images: bool = False) -> Path:
        """Write ground truth as one "CVAT for images 1.1" XML file; returns its path.

        One ``<image>`` per media item; box → ``<box>``, polygon → ``<polygon>`` (a polygon of several
        rings → one ``<polygon>`` per ring sharing a ``group_id``), RLE mask → ``<mask>``, keypoints →
        ``<points>`` in template order (with a ``visibility`` attribute CVAT ignores), point →
        ``<points>``, line → ``<polyline>``, tag → ``<tag>``; attributes as ``<attribute name>``
        children and declared per label in ``<meta>``. ``extra["occluded"]``, ``["z_order"]``,
        ``["group_id"]`` and ``["source"]`` (what :meth:`import_cvat` keeps) are written back as the
        shape's fields. Only media complete in stage "label" are written unless
        ``include_incomplete=True`` (a ``UserWarning`` says how many were left out).

        Args:
            path: the XML file to write (CVAT calls it ``annotations.xml``).
            slice: a media slice or media ids restricting the images.
            include_incomplete: also write media not complete in stage "label".
            copy_images: also copy the images to ``images/<name>`` next to the XML (the layout CVAT's
                "save images" export and datumaro's ``cvat`` format use).

        Example:
            >>> import nblabel as nl, numpy as np, tempfile, os
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((40, 60, 3), np.uint8)])
            >>> _ = p.schema.add_label("car"); _ = p.add_instance(1, "car", box=[6, 4, 30, 20]); p.complete(1)
            >>> out = p.export_cvat(os.path.join(tempfile.mkdtemp(), "annotations.xml"))
            >>> '<box label="car" source="manual" occluded="0" z_order="0" xtl="6" ytl="4" xbr="30" ybr="20"' \\
            ...     in out.read_text()
            True
        """
        from ..io._cvat_export import export_cvat
        from ..io._exports import warn_notes

        info = export_cvat(self._session, path, slice=slice, include_incomplete=include_incomplete,
                           copy_images=copy_images)
        warn_notes(info)
        return info.path

    def import_cvat(self, path: PathLike, images: PathLike | None = None, *, complete: bool = True,
                    errors: str = "report", allow_outside_root: bool = False, strict: bool = False,
                    clip: bool = False, mode: str = "skip-existing") -> ImportReport:
        """Import a "CVAT for images 1.1" XML file as ground truth in one transaction.

        Each ``<image name>`` is resolved under ``images`` and added as media. ``<box>`` → box (a
        rotated box → the polygon of its corners, the angle in ``extra["rotation"]``), ``<polygon>``
        → polygon (polygons of one label sharing a ``group_id`` → one polygon of several rings),
        ``<polyline>`` → line, ``<points>`` → keypoints when the label has a template of that many
        points, one point → point, several → keypoints, ``<mask>`` → mask, ``<tag>`` → tag; ``<attribute>`` children →
        attributes. CVAT's shape fields go into ``extra``: ``occluded`` (bool), ``z_order`` (int),
        ``group_id`` (int), ``source`` (str). Labels and attributes missing from the schema are
        created from ``<meta>`` (``select``/``radio`` → select, ``checkbox`` → bool, ``number`` →
        number, else text); a shape whose label is declared nowhere is a problem. Files with a
        DOCTYPE/ENTITY declaration are refused; malformed XML is a ``FormatError`` with its line.
        Geometry crossing the image border is stored as given and counted in the report's notes
        (``clip=True`` clips it, ``strict=True`` refuses it). Video ``<track>``\\ s, ellipses,
        cuboids and skeletons are reported, not imported.

        Args:
            path: the XML file (or a folder holding exactly one ``.xml``).
            images: the image root the ``<image name>`` entries are relative to (default: ``images/``
                next to the XML when it exists, else the XML's folder).
            complete: mark the images complete in stage "label" (images with refused shapes are not).
            errors: ``"report"`` (default): good shapes go in, bad ones are listed as ``file.xml:line``
                with the reason; ``"raise"``: any problem refuses the whole import and nothing stored
                changes.
            allow_outside_root: accept image names that resolve outside ``images``.
            strict: refuse geometry reaching outside the image.
            clip: clip geometry to the image instead of storing it as given.
            mode: what to do with shapes the project has already (see "Importing twice" in the README):
                ``"skip-existing"`` (default) leaves out shapes repeating a ground-truth instance of the
                same image (same label and box within 0.01 px, the precision of files CVAT and datumaro write
                and of COCO's boxes: re-importing ``export_cvat``'s output adds nothing); ``"replace"`` replaces the ground truth of every listed image (as new
                versions); ``"append"`` adds every shape.

        Example:
            >>> import nblabel as nl, tempfile, pathlib
            >>> from PIL import Image
            >>> d = tempfile.mkdtemp(); Image.new("RGB", (64, 48)).save(f"{d}/a.png")
            >>> _ = pathlib.Path(f"{d}/annotations.xml").write_text(
            ...     '<annotations><version>1.1</version><meta><task><labels><label><name>car</name></label>'
            ...     '</labels></task></meta><image id="0" name="a.png" width="64" height="48">'
            ...     '<box label="car" xtl="1" ytl="2" xbr="10" ybr="20" occluded="1" z_order="0"/></image>'
            ...     '</annotations>')
            >>> p = nl.open(":memory:")
            >>> p.import_cvat(f"{d}/annotations.xml", images=d)
            <ImportReport CVAT annotations.xml: 1 added, 0 skipped, 0 problems>
            >>> p.instances().df()[["label", "x0", "y1", "extra"]].values.tolist()
            [['car', 1.0, 20.0, '{"occluded": true, "z_order": 0}']]
        """
        from ..io._cvat_import import import_cvat

        return import_cvat(self._session, path, images, complete=complete, errors=errors,
                           allow_outside_root=allow_outside_root, strict=strict, clip=clip, mode=mode)
