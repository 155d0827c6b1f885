"""Jupyter widgets: the annotator (label and review queues), its static fallback picture, the gallery.

Example:
    >>> import nblabel as nl, numpy as np
    >>> from nblabel.widgets import Annotator, render_static
    >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((40, 60, 3), np.uint8)])
    >>> isinstance(p.annotate(), Annotator), render_static(p, 1).size
    (True, (60, 40))
"""

from ._annotator import Annotator, schema_for_browser
from ._display import DisplayImage, display_size, encode_display
from ._gallery import Gallery
from ._static import StaticView, png_bytes, render_static

__all__ = ["Annotator", "DisplayImage", "Gallery", "StaticView", "display_size", "encode_display", "png_bytes",
           "render_static", "schema_for_browser"]
