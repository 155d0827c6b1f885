"""Every public function and method has a docstring with an example (doctests run them in make test)."""

import inspect

import pytest

import nblabel as nl
import nblabel.debug
import nblabel.geometry
import nblabel.select
import nblabel.widgets

CLASSES = [nl.Project, nl.Run, nl.Schema, nl.MediaSlice, nl.InstanceSlice, nl.ImportReport,
           nblabel.widgets.Annotator, nblabel.widgets.Gallery, nblabel.select.NearDuplicates,
           nblabel.select.Selection, nblabel.select.SplitReport]
MODULES = [nl, nblabel.geometry, nblabel.widgets, nblabel.debug, nblabel.select]


def _public_callables():
    seen = set()
    for cls in CLASSES:
        # names from the class dicts, not inspect.getmembers: that reads every inherited class
        # attribute, and ipywidgets' deprecated ones (Widget._active_widgets) warn when read
        names = sorted({n for k in cls.__mro__ for n in vars(k) if not n.startswith("_")})
        for name in names:
            owner = next(k for k in cls.__mro__ if name in vars(k))
            if not owner.__module__.startswith("nblabel"):
                continue  # inherited from ipywidgets / anywidget / dataclasses
            member = getattr(cls, name)
            if not callable(member):
                continue
            key = (owner.__qualname__, name)
            if key not in seen:
                seen.add(key)
                yield f"{owner.__qualname__}.{name}", member
    for mod in MODULES:
        for name in getattr(mod, "__all__", []):
            obj = getattr(mod, name)
            if inspect.isfunction(obj) and obj.__module__.startswith("nblabel"):
                yield f"{mod.__name__}.{name}", obj


@pytest.mark.parametrize(("name", "obj"), list(_public_callables()), ids=lambda v: v if isinstance(v, str) else "")
def test_docstring_has_example(name, obj):
    doc = inspect.getdoc(obj) or ""
    assert doc.strip(), f"{name} has no docstring"
    assert "Example" in doc or ">>>" in doc, f"{name}: docstring has no example"
