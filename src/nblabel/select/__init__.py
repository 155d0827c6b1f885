"""What to label next: embeddings, near-duplicate groups (and, beside them, selection and splits).

Example:
    >>> import nblabel as nl, numpy as np
    >>> rng = np.random.default_rng(0)
    >>> p = nl.open(":memory:"); _ = p.add_images([rng.integers(0, 255, (16, 16, 3), dtype=np.uint8) for _ in range(2)])
    >>> p.embed()
    2
    >>> p.near_duplicates().groups.empty
    True
"""

from ._duplicates import NearDuplicates, find_near_duplicates
from ._embed import embed_media
from ._embedder import DEFAULT_MODEL, DEFAULT_THRESHOLD, default_embedder
from ._import import import_embeddings
from ._selection_slice import Selection
from ._similar import find_similar
from ._splits_report import SplitReport

__all__ = ["DEFAULT_MODEL", "DEFAULT_THRESHOLD", "NearDuplicates", "Selection", "SplitReport", "default_embedder",
           "embed_media", "find_near_duplicates", "find_similar", "import_embeddings"]
