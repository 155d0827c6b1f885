"""Helpers behind the shared fixtures of tests/conftest.py: the coco21 project and table state.

The 21 COCO photos and their annotations (tests/data/coco21) are imported once per session into a
closed project file; a test gets a fresh copy (:func:`copy_project`), so nothing it writes leaks
into another test. :func:`table_state` is the "nothing stored changed" check: the row count and
content hash of every stored table, equal before and after a refused call.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nblabel as nl

DATA = Path(__file__).parent / "data"
COCO21 = DATA / "coco21"
COCO21_GT = COCO21 / "instances.json"
COCO21_IMAGES = COCO21 / "images"
#: the author every coco21 project is imported and opened with
AUTHOR = "tester"


def import_coco21(path: Path) -> Path:
    """A closed project file at ``path`` with coco21 imported (21 images, 102 instances)."""
    with nl.open(path, author=AUTHOR) as p:
        r = p.import_coco(COCO21_GT, images=COCO21_IMAGES)
        assert r.ok and r.added == 102, r.summary()
    return path


def copy_project(src: Path, dest_dir: Path) -> Path:
    """Copy a project file (and its write-ahead log, if any; never its lock) into ``dest_dir``."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    for f in src.parent.glob(src.name + "*"):
        if f.name == src.name or f.name == src.name + ".wal":
            shutil.copy(f, dest_dir / f.name)
    return dest_dir / src.name


def table_state(p: nl.Project) -> tuple[tuple[str, int, int | None], ...]:
    """(table, row count, sum of row hashes) of every stored table, in name order."""
    with p.store.read() as con:
        tables = [t for (t,) in con.execute("SELECT table_name FROM information_schema.tables WHERE table_type = "
                                            "'BASE TABLE' ORDER BY table_name").fetchall()]
        return tuple((t, *con.execute(f'SELECT count(*), sum(hash(t)) FROM "{t}" AS t').fetchall()[0])
                     for t in tables)
