"""Evaluation plots are matplotlib Figures that draw exactly their tables; ``ax=`` draws on the
user's axes; ``slice.pl()`` is the slice as polars.

The project is small and built by hand so the confusion counts and IoUs are known without running
the code under test: three images, labels car / person / dog, and one model run with a hit per
kind of outcome (a match, a good-IoU match, a class confusion, two misses, a stray detection).
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from PIL import Image

import nblabel as nl
from nblabel.errors import MissingDependencyError, ValidationError

# ground truth -> prediction label (None: background) of every counted outcome at IoU 0.5, score >= 0.25
EXPECTED = pd.DataFrame(
    [[1, 0, 0, 1], [0, 1, 0, 1], [0, 1, 0, 0], [0, 0, 1, 0]],
    index=["car", "person", "dog", "background"], columns=["car", "person", "dog", "background"])
PERSON_IOU = 38 * 38 / (40 * 40 * 2 - 38 * 38)  # [52, 52, 92, 92] on [50, 50, 90, 90]


@pytest.fixture(scope="module")
def ev() -> nl.debug.Evaluation:
    p = nl.open(":memory:", author="t")
    p.add_images([np.full((100, 100, 3), 40 * i, np.uint8) for i in range(3)])
    for name in ("car", "person", "dog"):
        p.schema.add_label(name)
    p.add_instance(1, "car", box=[10, 10, 40, 40])
    p.add_instance(1, "person", box=[50, 50, 90, 90])
    p.add_instance(2, "dog", box=[10, 10, 50, 50])
    p.add_instance(2, "car", box=[60, 60, 90, 90])  # missed by the model
    p.add_instance(3, "person", box=[20, 20, 60, 60])  # missed by the model
    run = p.add_run("m")
    for media, label, box, score in [
        (1, "car", [10, 10, 40, 40], 0.9),  # exact match
        (1, "person", [52, 52, 92, 92], 0.8),  # a match at IoU 0.82
        (2, "person", [10, 10, 50, 50], 0.7),  # on the dog: a class confusion
        (3, "dog", [70, 5, 95, 30], 0.6),  # nothing there: a false positive
        (1, "car", [0, 60, 20, 95], 0.1),  # below min_score of the confusion matrix
    ]:
        p.add_instance(media, label, box=box, run=run, score=score)
    for media in (1, 2, 3):
        p.complete(media)
    return p.evaluate("m")


def _cells(ax: matplotlib.axes.Axes) -> dict[tuple[str, str], str]:
    """(row label, column label) -> the text drawn in that cell of a confusion matrix."""
    rows = [t.get_text() for t in ax.get_yticklabels()]
    cols = [t.get_text() for t in ax.get_xticklabels()]
    out = {}
    for t in ax.texts:
        x, y = t.get_position()
        out[rows[round(y)], cols[round(x)]] = t.get_text()
    return out


def test_confusion_table_has_the_hand_counted_outcomes(ev: nl.debug.Evaluation) -> None:
    tab = ev.confusion_table()
    pd.testing.assert_frame_equal(tab, EXPECTED, check_names=False)
    assert (tab.index.name, tab.columns.name) == ("ground truth", "prediction")
    low = ev.confusion_table(min_score=0.0)  # the 0.1 car now counts as a stray detection
    assert low.loc["background", "car"] == 1 and low.drop(index="background").equals(tab.drop(index="background"))
    norm = ev.confusion_table(normalize=True)
    np.testing.assert_allclose(norm.to_numpy(), (EXPECTED / EXPECTED.sum(axis=1).to_numpy()[:, None]).to_numpy())


def test_confusion_matrix_draws_the_counts_with_a_colour_bar(ev: nl.debug.Evaluation) -> None:
    fig = ev.confusion_matrix()
    assert isinstance(fig, Figure)
    ax, bar = fig.axes  # the matrix and its colour bar
    assert [t.get_text() for t in ax.get_yticklabels()] == list(EXPECTED.index)
    assert [t.get_text() for t in ax.get_xticklabels()] == list(EXPECTED.columns)
    expected = {(r, c): str(v) for (r, c), v in EXPECTED.stack().items() if v}
    assert _cells(ax) == expected  # one text per non-zero cell, showing its count
    np.testing.assert_array_equal(ax.images[0].get_array(), EXPECTED.to_numpy())
    assert bar.get_ylabel() == "count"
    assert ax.images[0].get_clim() == (0.0, 1.0)  # the largest count here is 1
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("prediction", "ground truth")


def test_confusion_matrix_normalized_shows_row_fractions(ev: nl.debug.Evaluation) -> None:
    fig = ev.confusion_matrix(normalize=True)
    ax, bar = fig.axes
    assert _cells(ax) == {("car", "car"): "0.50", ("car", "background"): "0.50", ("person", "person"): "0.50",
                          ("person", "background"): "0.50", ("dog", "person"): "1.00",
                          ("background", "dog"): "1.00"}
    assert bar.get_ylabel() == "fraction of the ground-truth row"
    assert ax.images[0].get_clim() == (0.0, 1.0)


def test_confusion_matrix_draws_the_most_frequent_labels(ev: nl.debug.Evaluation) -> None:
    # by count, also when normalized: person 4 outcomes, car 3, dog 2
    for normalize in (False, True):
        ax = ev.confusion_matrix(max_labels=2, normalize=normalize).axes[0]
        assert [t.get_text() for t in ax.get_yticklabels()] == ["car", "person", "background"]
        assert "top 2 of 3 labels" in ax.get_title()
    assert _cells(ev.confusion_matrix(max_labels=2).axes[0]) == {
        ("car", "car"): "1", ("car", "background"): "1", ("person", "person"): "1", ("person", "background"): "1"}
    assert ev.confusion_table().shape == (4, 4)  # the data keeps every label
    with pytest.raises(ValidationError, match="max_labels=0"):
        ev.confusion_matrix(max_labels=0)


def test_pr_curve_draws_the_pr_table(ev: nl.debug.Evaluation) -> None:
    tab = ev.pr_table()
    assert list(tab.columns) == ["recall", "mean", "car", "person", "dog"]
    fig = ev.pr_curve(labels=["car", "dog"])
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    mean, car, dog = ax.lines
    for line, col in [(mean, "mean"), (car, "car"), (dog, "dog")]:
        np.testing.assert_array_equal(line.get_xdata(), tab["recall"])
        np.testing.assert_array_equal(line.get_ydata(), tab[col])
    per = ev.per_class.set_index("label")["AP50"]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == [f"mean (AP {ev.stats[1]:.3f})", f"car (AP {per['car']:.3f})", f"dog (AP {per['dog']:.3f})"]
    assert len(ev.pr_curve().axes[0].lines) == 1  # the mean alone
    assert ev.pr_curve(labels="person").axes[0].lines[1].get_label().startswith("person")
    assert "0.75" in ev.pr_curve(iou=0.75).axes[0].get_title()


def test_iou_histogram_draws_the_iou_table(ev: nl.debug.Evaluation) -> None:
    tab = ev.iou_table(bins=20)
    # three detections without a same-label ground truth at 0, the person at 0.82, the exact car at 1
    expected = np.zeros(20, dtype=np.int64)
    expected[[0, int(PERSON_IOU * 20), 19]] = [3, 1, 1]
    np.testing.assert_array_equal(tab["count"], expected)
    np.testing.assert_array_equal(tab["tp"], np.where(np.arange(20) == 0, 0, expected))
    fig = ev.iou_histogram(bins=20)
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert len(ax.patches) == 40  # true positives, then the rest stacked on them
    tp, rest = ax.patches[:20], ax.patches[20:]
    np.testing.assert_array_equal([b.get_height() for b in tp], tab["tp"])
    np.testing.assert_array_equal([b.get_height() for b in rest], tab["count"] - tab["tp"])
    np.testing.assert_array_equal([b.get_y() for b in rest], tab["tp"])
    np.testing.assert_allclose([b.get_x() for b in tp], tab["bin_lo"])
    (threshold,) = ax.lines
    assert list(threshold.get_xdata()) == [0.5, 0.5]
    assert ev.iou_table(min_score=0.75)["count"].sum() == 2  # the car (0.9) and the person (0.8)
    with pytest.raises(ValidationError, match="bins=0"):
        ev.iou_histogram(bins=0)


def test_ax_draws_on_the_users_axes(ev: nl.debug.Evaluation) -> None:
    mine = Figure(figsize=(12, 4))
    left, mid, right = mine.subplots(1, 3)
    assert ev.pr_curve(ax=left) is mine
    assert ev.iou_histogram(ax=mid) is mine
    assert ev.confusion_matrix(ax=right) is mine
    assert len(left.lines) == 1 and len(mid.patches) == 40 and len(right.images) == 1
    assert len(mine.axes) == 4  # the three, and the matrix's colour bar
    sub = Figure().subfigures(1, 2)[1]
    root = sub.figure
    assert ev.pr_curve(ax=sub.add_subplot()) is root  # a subfigure's axes: the figure savefig writes
    with pytest.raises(ValidationError, match="matplotlib Axes"):
        ev.pr_curve(ax=mine)  # type: ignore[arg-type]


def test_refused_plots_draw_nothing(ev: nl.debug.Evaluation) -> None:
    ax = Figure().add_subplot()
    with pytest.raises(ValidationError, match="'bus' has no ground truth.*choose from \\['car', 'person', 'dog'\\]"):
        ev.pr_curve(labels=["car", "bus"], ax=ax)
    with pytest.raises(ValidationError, match="iou=0.3 is not one of the evaluated thresholds"):
        ev.pr_curve(iou=0.3, ax=ax)
    assert not ax.lines and not ax.texts and ax.get_title() == ""


def test_figures_save_and_show_as_png(ev: nl.debug.Evaluation, tmp_path: Path) -> None:
    from IPython.core.formatters import DisplayFormatter

    for fig in (ev.pr_curve(labels=["car"]), ev.confusion_matrix(), ev.iou_histogram()):
        path = tmp_path / "plot.png"
        fig.savefig(path, dpi=50)
        w, h = fig.get_size_inches() * 50
        with Image.open(path) as im:
            assert im.format == "PNG" and im.size == (round(w), round(h))
            assert len(np.unique(np.asarray(im.convert("RGB")).reshape(-1, 3), axis=0)) > 10  # drawn
        bundle, _ = DisplayFormatter().format(fig)  # what Jupyter shows: the picture
        assert bundle["image/png"][:8] == b"\x89PNG\r\n\x1a\n"
    svg = io.BytesIO()
    fig.savefig(svg, format="svg")  # the Agg canvas switches to other formats
    assert b"<svg" in svg.getvalue()[:500]
    assert "matplotlib.pyplot" not in sys.modules or not matplotlib.pyplot.get_fignums()  # no pyplot state


def test_an_empty_evaluation_plots() -> None:
    p = nl.open(":memory:")
    p.add_run("m")
    e = p.evaluate("m")
    ax = e.pr_curve().axes[0]
    assert not ax.lines and ax.texts[0].get_text() == "no ground truth in this evaluation"
    assert e.confusion_table().shape == (1, 1) and not e.confusion_matrix().axes[0].texts
    assert e.iou_table()["count"].sum() == 0 and len(e.iou_histogram().axes[0].patches) == 40


def _plain(frame: pd.DataFrame) -> dict[str, list[object]]:
    """The values of a frame, missing ones as None (pandas and polars spell a missing string differently)."""
    return frame.astype(object).where(frame.notna(), None).to_dict("list")


def test_slice_pl_equals_df(proj: nl.Project) -> None:
    pytest.importorskip("polars")  # in the test extra; optional at run time
    import polars as pl

    proj.add_instance(1, "car", box=[5, 5, 25, 25], attributes={"color": "red"})
    proj.add_instance(2, "car", polygon=[[1, 1], [20, 1], [20, 20]])
    proj.add_instance(3, "night", tag=True)
    proj.add_run("m").add_predictions(pd.DataFrame({"media_id": [1, 2], "label": "car", "x0": 1.0, "y0": 1.0,
                                                    "x1": [9.0, 30.0], "y1": 9.0, "score": [0.4, 0.8]}))
    slices = [proj.media(), proj.instances(), proj.instances("m"), proj.instances().labels("car"),
              proj.instances("m").score(0.5, 1.0).sort_by("score", descending=True),
              proj.media().where("width > ?", [60])]
    for s in slices:
        frame = s.pl()
        assert isinstance(frame, pl.DataFrame)
        want = s.df()
        assert frame.columns == list(want.columns) and frame.height == len(want)
        assert _plain(frame.to_pandas()) == _plain(want)
    assert proj.instances("m").score(0.5, 1.0).pl()["score"].to_list() == [0.8]


def test_slice_pl_without_polars_names_the_install(proj: nl.Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "polars", None)  # `import polars` now fails as if not installed
    with pytest.raises(MissingDependencyError, match=r"pip install polars") as info:
        proj.media().pl()
    assert isinstance(info.value, ImportError) and isinstance(info.value, nl.NblabelError)
