"""Glue a table or figure into the book together with what is behind it.

A glued output carries, beside what the page shows (HTML or PNG), the table's data as CSV and a
figure's data as CSV and its vector image as SVG, under MIME types that no page displays
(:data:`CSV_MIME`, :data:`SVG_MIME`). The book's Sphinx extension
(:mod:`hybridlib.runner.sphinx_ext`) writes them out for download beside the caption, with a
link to the executed notebook and the code of the cell that made them; the executed notebook
holds them too.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

CSV_MIME = "application/vnd.hybridlib.csv"
SVG_MIME = "application/vnd.hybridlib.svg+xml"
# floats to 12 significant digits: a build gives the same files wherever it runs (a BLAS
# summing in another order, with other threads or memory alignment, moves the 16th digit)
CSV_SIGNIFICANT_DIGITS = 12
# an SVG without its creation date and with clip-path ids from a fixed salt: the same figure
# gives the same bytes in every build
SVG_SETTINGS: dict[Any, Any] = {"svg.hashsalt": "hybridlib"}


class Published:
    """A display object with a fixed MIME bundle (what ``glue`` stores)."""

    def __init__(self, bundle: dict[str, Any]) -> None:
        self.bundle = bundle

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return dict(self.bundle)


def _keeps_index(frame: pd.DataFrame) -> bool:
    """Write the index unless it is pandas' default (an unnamed 0..n-1 range)."""
    return not (isinstance(frame.index, pd.RangeIndex) and frame.index.names == [None])


def to_csv(frame: pd.DataFrame) -> str:
    """``frame`` as CSV, its float columns rounded to :data:`CSV_SIGNIFICANT_DIGITS`
    significant digits (a float stays a float: ``2.0``, not ``2``)."""
    frame = frame.copy()
    for column in frame.columns[[pd.api.types.is_float_dtype(t) for t in frame.dtypes]]:
        frame[column] = [float(f"{v:.{CSV_SIGNIFICANT_DIGITS}g}") for v in frame[column]]
    return frame.to_csv(index=_keeps_index(frame))


def table_bundle(table: pd.DataFrame) -> dict[str, Any]:
    """What a table shows (pandas' HTML and text) plus its data as CSV."""
    return {"text/html": table._repr_html_() or table.to_html(), "text/plain": table.to_string(),
            CSV_MIME: to_csv(table)}  # fmt: skip


def figure_bundle(figure: Any, data: pd.DataFrame | None = None) -> dict[str, Any]:
    """A Matplotlib figure as the notebook shows it (PNG), its SVG and, given, its data as CSV."""
    import io

    import matplotlib
    from IPython.core.pylabtools import print_figure

    svg = io.StringIO()
    with matplotlib.rc_context(SVG_SETTINGS):
        figure.savefig(svg, format="svg", bbox_inches="tight", metadata={"Date": None})
    bundle = {"image/png": print_figure(figure, "png", base64=True), "text/plain": repr(figure),
              SVG_MIME: svg.getvalue()}  # fmt: skip
    if data is not None:
        bundle[CSV_MIME] = to_csv(data)
    return bundle


def glue_table(key: str, table: pd.DataFrame) -> None:
    """``myst_nb.glue(key, table)`` with the table's CSV behind it (not displayed here)."""
    from myst_nb import glue

    glue(key, Published(table_bundle(table)), display=False)


def glue_figure(key: str, figure: Any, data: pd.DataFrame | None = None) -> None:
    """``myst_nb.glue(key, figure)`` with its SVG and ``data`` as CSV; closes the figure."""
    import matplotlib.pyplot as plt
    from myst_nb import glue

    glue(key, Published(figure_bundle(figure, data)), display=False)
    plt.close(figure)


def glue_value(key: str, value: Any) -> None:
    """``myst_nb.glue(key, value)`` for the text (a number or a phrase), not displayed here."""
    from myst_nb import glue

    glue(key, value, display=False)
