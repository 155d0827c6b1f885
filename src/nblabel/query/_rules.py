"""Dynamic dataset rules as data: the slice methods that built a slice, replayed when the rule is read.

A rule is JSON naming the root slice and each method call with its plain arguments::

    {"version": 2, "slice": "media", "options": {},
     "steps": [["meta_where", ["iso", "<=", 400], {}], ["image_size", [], {"max_width": 200}]]}

Reading a rule calls those methods again, so the SQL that runs is always built by this version's
code with the values as parameters. A project file is data, and a crafted rule can name only a
method of :data:`RULE_METHODS` (``where``, the raw-SQL escape hatch, is not one) with JSON values,
which the method checks as it would a user's. Version-1 rules (SQL fragments, nblabel ≤ 0.1) are
refused with how to define them again.

Example:
    >>> import nblabel as nl
    >>> p = nl.open(":memory:")
    >>> text = p.media().image_size(min_width=640).head(5).to_rule()
    >>> json.loads(text)["steps"]
    [['image_size', [], {'min_width': 640}], ['head', [5], {}]]
    >>> replay(p._session, rule_from_json(text)).sql()[1]
    [640, 5]
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import ValidationError

if TYPE_CHECKING:
    from ..store import Session
    from ._slice import Slice

__all__ = ["RULE_METHODS", "RULE_VERSION", "encode_step", "replay", "rule_from_json", "rule_to_json"]

RULE_VERSION = 2

# The slice methods a rule may call, per slice kind; each records itself as a step.
RULE_METHODS: dict[str, frozenset[str]] = {
    "media": frozenset({
        "labels", "status", "attribute", "count_between", "has_predictions", "no_predictions", "score_between",
        "stage", "in_dataset", "not_in_dataset", "meta", "meta_where", "image_size", "ids_in", "instances",
        "sort_by", "head", "sample"}),
    "instances": frozenset({
        "run", "labels", "score", "attribute", "kind", "area", "box_size", "in_media", "media", "sort_by", "head",
        "sample"}),
}
_ROOT_OPTIONS = {"media": frozenset(), "instances": frozenset({"run"})}
_MAX_DEPTH = 16  # nested slices and datasets referring to datasets

Step = tuple[str, list[Any], dict[str, Any]]


class _Unsaveable(Exception):
    """An argument that is not a plain value (the slice cannot be saved as a rule)."""


def _encode(v: Any) -> Any:
    from ._slice import Slice

    if v is None or isinstance(v, (bool, str)):
        return v
    if getattr(getattr(v, "dtype", None), "kind", None) == "b":  # a numpy bool
        return bool(v)
    if isinstance(v, numbers.Integral):
        return int(v)
    if isinstance(v, numbers.Real):
        if not math.isfinite(float(v)):
            raise _Unsaveable(v)
        return float(v)
    if isinstance(v, (list, tuple, set, frozenset)):
        return [_encode(x) for x in v]
    if isinstance(v, Slice):
        return {"$slice": v.rule_dict()}
    name = getattr(v, "name", None)
    if hasattr(v, "run_id") and isinstance(name, str):  # a Run: slices take its name
        return name
    raise _Unsaveable(v)


def encode_step(name: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Step | None:
    """One method call as a JSON-ready step; None when an argument is not a plain value.

    Example:
        >>> encode_step("labels", (("car", "bus"),), {"how": "all"})
        ('labels', [['car', 'bus']], {'how': 'all'})
    """
    try:
        return name, [_encode(a) for a in args], {str(k): _encode(v) for k, v in kwargs.items()}
    except (_Unsaveable, ValidationError):
        return None


def rule_to_json(rule: Mapping[str, Any]) -> str:
    """The stored text of a rule (see :meth:`Slice.rule_dict`).

    Example:
        >>> rule_to_json({"slice": "media", "options": {}, "steps": []})
        '{"version": 2, "slice": "media", "options": {}, "steps": []}'
    """
    return json.dumps({"version": RULE_VERSION, "slice": rule["slice"], "options": rule["options"],
                       "steps": rule["steps"]}, allow_nan=False)


def rule_from_json(text: str, *, name: str | None = None) -> dict[str, Any]:
    """Parse and check a stored rule; a version-1 rule (stored SQL) is refused with how to redo it.

    Example:
        >>> rule_from_json('{"version": 1, "slice": "media", "filters": [["1=1", []]]}', name="old")
        Traceback (most recent call last):
        nblabel.errors.ValidationError: dataset 'old' was saved by nblabel 0.1 as SQL text, ...
    """
    what = f"dataset {name!r}" if name is not None else "a dynamic dataset"
    try:
        r = json.loads(text)
    except (TypeError, ValueError):
        raise ValidationError(f"{what} has a rule that is not JSON: {str(text)[:80]!r}") from None
    if isinstance(r, dict) and r.get("version") == 1:
        raise ValidationError(
            f"{what} was saved by nblabel 0.1 as SQL text, and nblabel no longer runs SQL stored in a project "
            "file; define it again from its filters, e.g. proj.define_dataset(name, rule=proj.media()...,"
            " overwrite=True), or delete it with proj.delete_dataset(name)")
    if not isinstance(r, dict) or r.get("version") != RULE_VERSION:
        raise ValidationError(f"{what} has a rule of an unknown layout: {str(text)[:80]!r}; "
                              "a newer nblabel may have written it (pip install -U nblabel)")
    _check_rule(r, what)
    return r


def _check_rule(r: Any, what: str) -> None:
    if not isinstance(r, dict) or r.get("slice") not in RULE_METHODS:
        raise ValidationError(f"{what} has a rule over an unknown slice kind: {str(r)[:80]!r}")
    opts = r.get("options")
    if not isinstance(opts, dict) or not set(opts) <= _ROOT_OPTIONS[r["slice"]] \
            or not all(v is None or isinstance(v, str) for v in opts.values()):
        raise ValidationError(f"{what} has a rule with unknown options: {str(opts)[:80]!r}")
    steps = r.get("steps")
    if not isinstance(steps, list):
        raise ValidationError(f"{what} has a rule without steps")
    for step in steps:
        if not (isinstance(step, list) and len(step) == 3 and isinstance(step[0], str)
                and isinstance(step[1], list) and isinstance(step[2], dict)):
            raise ValidationError(f"{what} has a malformed rule step: {str(step)[:80]!r}")


def _decode(session: Session, v: Any, depth: int) -> Any:
    if isinstance(v, list):
        return [_decode(session, x, depth) for x in v]
    if isinstance(v, dict):
        if set(v) != {"$slice"}:
            raise ValidationError(f"a dataset rule argument is an unknown object: {str(v)[:80]!r}")
        return replay(session, v["$slice"], _depth=depth + 1)
    return v


def replay(session: Session, rule: Mapping[str, Any], *, _depth: int = 0) -> Slice:
    """Build the slice a (parsed) rule describes by calling its methods again.

    Example:
        >>> import nblabel as nl
        >>> p = nl.open(":memory:")
        >>> replay(p._session, {"slice": "media", "options": {}, "steps": [["where", ["1=1"], {}]]})
        Traceback (most recent call last):
        nblabel.errors.ValidationError: a dataset rule calls 'where', which is not a media-slice method a rule may call...
    """
    from ._instances import InstanceSlice
    from ._media import MediaSlice

    if _depth > _MAX_DEPTH:
        raise ValidationError(f"a dataset rule nests slices or datasets more than {_MAX_DEPTH} deep "
                              "(does a dataset refer to itself?)")
    _check_rule(rule, "a dataset rule")
    s: Slice = MediaSlice(session) if rule["slice"] == "media" else InstanceSlice(session, **rule["options"])
    for name, args, kwargs in rule["steps"]:
        allowed = RULE_METHODS[s._kind]
        if name not in allowed:
            raise ValidationError(f"a dataset rule calls {name!r}, which is not a {s._kind.rstrip('s')}-slice "
                                  f"method a rule may call; those are {sorted(allowed)}")
        a = _decode(session, args, _depth)
        kw = {str(k): _decode(session, v, _depth) for k, v in kwargs.items()}
        try:
            s = getattr(s, name)(*a, **kw)
        except TypeError as e:  # arguments a crafted rule gives that the method does not take
            raise ValidationError(f"a dataset rule calls {name}() with arguments it does not take ({e})") from None
    return s
