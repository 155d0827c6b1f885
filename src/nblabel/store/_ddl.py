"""The project file's tables and views, and forward migrations between format versions.

``FORMAT_VERSION`` is the version of the table layout written by this nblabel. A file records its
version in ``meta`` (its ``format_version`` row is what marks a DuckDB file as an nblabel project);
an older file is migrated forward on open, a newer one is refused. The views (:data:`VIEWS`) are
not part of any layout: they are dropped and created again from this code on every writable open,
so a view edited inside a file never runs.
"""

from __future__ import annotations

import re

FORMAT_VERSION = 3

# Version 1: the first layout. Instances are append-only versions: an edit supersedes a row and
# appends the next version; a delete appends a tombstone (deleted = true). The current state of an
# instance is its row with superseded_at IS NULL (view ``current_instances`` hides tombstones).
DDL_V1 = [
    "CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
    """CREATE TABLE labels (
        label_id INTEGER PRIMARY KEY, name VARCHAR NOT NULL, color VARCHAR, hotkey VARCHAR,
        spatial_types VARCHAR[] NOT NULL, guide VARCHAR, template_id INTEGER, meta JSON,
        created_at TIMESTAMP NOT NULL, retired_at TIMESTAMP)""",
    """CREATE TABLE label_names (
        label_id INTEGER NOT NULL, name VARCHAR NOT NULL, from_version INTEGER NOT NULL,
        renamed_at TIMESTAMP NOT NULL)""",
    """CREATE TABLE attribute_groups (
        group_id INTEGER PRIMARY KEY, name VARCHAR NOT NULL, kind VARCHAR NOT NULL, options JSON,
        min DOUBLE, max DOUBLE, step DOUBLE, required BOOLEAN NOT NULL, label_ids INTEGER[],
        parent_group_id INTEGER, parent_option_id INTEGER, created_at TIMESTAMP NOT NULL,
        retired_at TIMESTAMP)""",
    """CREATE TABLE keypoint_templates (
        template_id INTEGER PRIMARY KEY, label_id INTEGER NOT NULL, points JSON NOT NULL,
        skeleton JSON NOT NULL, sigmas JSON, created_at TIMESTAMP NOT NULL)""",
    """CREATE TABLE schema_versions (
        version INTEGER PRIMARY KEY, created_at TIMESTAMP NOT NULL, change VARCHAR NOT NULL)""",
    """CREATE TABLE media (
        media_id BIGINT PRIMARY KEY, uri VARCHAR NOT NULL, file_name VARCHAR NOT NULL,
        sha256 VARCHAR NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL, format VARCHAR,
        orientation INTEGER, bytes BIGINT, meta JSON, added_at TIMESTAMP NOT NULL)""",
    "CREATE UNIQUE INDEX media_sha ON media (sha256)",  # dropped in version 3
    """CREATE TABLE runs (
        run_id INTEGER PRIMARY KEY, name VARCHAR NOT NULL UNIQUE, model VARCHAR, params JSON,
        created_at TIMESTAMP NOT NULL)""",
    """CREATE TABLE instances (
        instance_id BIGINT NOT NULL, version INTEGER NOT NULL, media_id BIGINT NOT NULL,
        run_id INTEGER, label_id INTEGER NOT NULL, kind VARCHAR NOT NULL,
        x0 DOUBLE NOT NULL, y0 DOUBLE NOT NULL, x1 DOUBLE NOT NULL, y1 DOUBLE NOT NULL,
        points JSON, attributes JSON, score DOUBLE, track_id BIGINT, area DOUBLE,
        iscrowd BOOLEAN NOT NULL DEFAULT false, extra JSON, author VARCHAR,
        schema_version INTEGER NOT NULL, created_at TIMESTAMP NOT NULL, superseded_at TIMESTAMP,
        deleted BOOLEAN NOT NULL DEFAULT false)""",
    """CREATE TABLE status (
        media_id BIGINT NOT NULL, stage VARCHAR NOT NULL, state VARCHAR NOT NULL, reason VARCHAR,
        author VARCHAR, schema_version INTEGER NOT NULL, started_at TIMESTAMP,
        finished_at TIMESTAMP, seconds_active DOUBLE NOT NULL DEFAULT 0,
        updated_at TIMESTAMP NOT NULL, PRIMARY KEY (media_id, stage))""",
    """CREATE TABLE datasets (
        dataset_id INTEGER PRIMARY KEY, name VARCHAR NOT NULL UNIQUE, kind VARCHAR NOT NULL,
        rule JSON, split_group VARCHAR, created_at TIMESTAMP NOT NULL)""",
    "CREATE TABLE dataset_members (dataset_id INTEGER NOT NULL, media_id BIGINT NOT NULL)",
    "CREATE TABLE embeddings (media_id BIGINT NOT NULL, name VARCHAR NOT NULL, vector FLOAT[])",
    "CREATE TABLE thumbnails (media_id BIGINT NOT NULL, size INTEGER NOT NULL, data BLOB NOT NULL)",
    """CREATE TABLE verdicts (
        media_id BIGINT NOT NULL, run_id INTEGER, gt_id BIGINT, pred_id BIGINT,
        verdict VARCHAR NOT NULL, author VARCHAR, created_at TIMESTAMP NOT NULL)""",
    """CREATE TABLE snapshots (
        name VARCHAR PRIMARY KEY, format VARCHAR NOT NULL, query JSON, created_at TIMESTAMP NOT NULL,
        sha256 VARCHAR NOT NULL, path VARCHAR NOT NULL, n_media INTEGER, n_instances INTEGER)""",
]

# Version 2: embeddings keyed by (name, media) and carrying the image's sha256 (so a re-added image
# reuses its vector), the model that made them and their dimension (one per name).
_EMBEDDINGS_V2 = """CREATE TABLE embeddings (
        name VARCHAR NOT NULL, media_id BIGINT NOT NULL, sha256 VARCHAR NOT NULL, model VARCHAR NOT NULL,
        dim INTEGER NOT NULL, vector FLOAT[] NOT NULL, created_at TIMESTAMP NOT NULL,
        PRIMARY KEY (name, media_id))"""
_EMBEDDINGS_V1 = "CREATE TABLE embeddings (media_id BIGINT NOT NULL, name VARCHAR NOT NULL, vector FLOAT[])"

# Version 3: no unique index on media.sha256 (one media item per file name; byte-identical files
# under different names are separate items sharing the sha256, for near-duplicate grouping).
_MEDIA_SHA_V1 = "CREATE UNIQUE INDEX media_sha ON media (sha256)"

# The layout a new file gets (the latest version).
DDL = [_EMBEDDINGS_V2 if stmt == _EMBEDDINGS_V1 else stmt for stmt in DDL_V1 if stmt != _MEDIA_SHA_V1]

# Forward migrations: MIGRATIONS[v] turns a version-v file into version v+1.
MIGRATIONS: dict[int, list[str]] = {
    1: [
        _EMBEDDINGS_V2.replace("CREATE TABLE embeddings", "CREATE TABLE embeddings_v2", 1),
        """INSERT INTO embeddings_v2 (name, media_id, sha256, model, dim, vector, created_at)
           SELECT e.name, e.media_id, m.sha256, 'unknown', len(e.vector), e.vector, now()
           FROM embeddings e JOIN media m USING (media_id) WHERE e.vector IS NOT NULL
           QUALIFY row_number() OVER (PARTITION BY e.name, e.media_id) = 1""",
        "DROP TABLE embeddings",
        "ALTER TABLE embeddings_v2 RENAME TO embeddings",
    ],
    2: ["DROP INDEX IF EXISTS media_sha"],  # byte-identical files under two names are two media items
}

# The tables of the current layout (each must be a table in a project file, not a view).
TABLES: tuple[str, ...] = tuple(re.findall(r"CREATE TABLE (\w+)", " ".join(DDL)))

# name -> query of each view nblabel reads. The current state of an instance is its row with
# superseded_at IS NULL; ``current_instances`` hides tombstones.
VIEWS: dict[str, str] = {
    "current_instances": "SELECT * EXCLUDE (superseded_at, deleted) FROM instances "
                         "WHERE superseded_at IS NULL AND NOT deleted",
}
