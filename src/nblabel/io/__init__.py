"""Formats in and out: media ingest (probe outside the write transaction), COCO / YOLO / Pascal VOC /
Parquet readers and writers, COCO results files, and snapshots (exports frozen under a name).

Everything here receives a :class:`nblabel.store.Session` and writes through ``nblabel.store``; users
reach it through ``Project.import_*`` / ``export_*`` / ``snapshot``.
"""
