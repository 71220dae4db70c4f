"""The book's Sphinx extension, on a small book built for real: tables numbered "Table n" and
figures "Figure n"; under each glued result its CSV (the data, exactly), its SVG, the executed
notebook and the code of the cell that made it; the BibTeX entry of the build."""

from __future__ import annotations

import io
import re
from pathlib import Path

import nbformat
import pandas as pd

from hybridlib.runner import build_book, load_profile, plan_profile
from hybridlib.runner.sphinx_ext import book_bibtex, glue_cell, mark_tables

from .conftest import CONFIG, GLUED_RESULTS, make_notebook

PUBLISHED_NOTEBOOK = [
    (
        "code",
        """
        import matplotlib.pyplot as plt
        import pandas as pd
        from hybridlib.reporting import glue_figure, glue_table
    """,
    ),
    (
        "code",
        """
        table = pd.DataFrame({"x": range(n_points), "y": [i * slope for i in range(n_points)]})
        fig, ax = plt.subplots(figsize=(3, 2))
        ax.plot(table.x, table.y)
        glue_figure("line_figure", fig, data=table)
        glue_table("points_table", table.set_index("x"))
    """,
    ),
    (
        "markdown",
        """
        # Points

        {numref}`tbl-points` lists what {numref}`fig-line` draws: $y = 2x$.

"""
        + GLUED_RESULTS
        + """
        ```{hybridlib-bibtex}
        ```
    """,
    ),
]

EXTENSION = """\
  extra_extensions: [hybridlib.runner.sphinx_ext]
  config:
    numfig_format: {figure: "Figure %s", table: "Table %s"}
    suppress_warnings: ["mystnb.unknown_mime_type"]
"""


def test_tables_figures_and_what_is_behind_them(small_book: Path) -> None:
    config = CONFIG.replace("sphinx:\n  config:\n", "sphinx:\n" + EXTENSION)
    (small_book / "_config.yml").write_text(config)
    (small_book / "book" / "intro.md").write_text(
        "# A small book\n\nIts one chapter has a table and a figure.\n"
    )
    nb = make_notebook(PUBLISHED_NOTEBOOK, "n_points = 3\nslope = 2.0")
    nbformat.write(nb, small_book / "notebooks" / "points.ipynb")
    executions = plan_profile(load_profile(small_book / "profiles.yaml", "tiny"))
    build_book(small_book, executions, small_book / "runs" / "store", mathjax=False, progress=False)

    html = small_book / "_build" / "html"
    page = (html / "book" / "generated" / "points.html").read_text(encoding="utf-8")
    assert re.search(r"Table 1</span>.*Figure 1</span>", page, re.S)  # references, own counters
    table = re.search(r'<figure[^>]*id="tbl-points".*?</figure>', page, re.S).group(0)
    figure = re.search(r'<figure[^>]*id="fig-line".*?</figure>', page, re.S).group(0)
    assert 'caption-number">Table 1 ' in table and 'caption-number">Figure 1 ' in figure

    # the data behind each, written where the links point, equal to what was glued
    csv = html / "_data" / "book" / "generated" / "points" / "tbl-points.csv"
    assert 'href="../../_data/book/generated/points/tbl-points.csv"' in table
    expected = pd.DataFrame({"x": range(4), "y": [0.0, 2.0, 4.0, 6.0]})  # n_points = 4 (profile)
    pd.testing.assert_frame_equal(pd.read_csv(csv), expected)
    pd.testing.assert_frame_equal(pd.read_csv(csv.with_name("fig-line.csv")), expected)
    svg = csv.with_name("fig-line.svg").read_text(encoding="utf-8")
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "fig-line.svg" in figure
    # the executed notebook and the code of the cell that made it, one click away
    assert 'href="../../_sources/book/generated/points.ipynb"' in table
    assert (html / "_sources" / "book" / "generated" / "points.ipynb").is_file()
    executed = nbformat.read(small_book / "book" / "generated" / "points.ipynb", as_version=4)
    index, _ = glue_cell(executed, "points_table")  # after papermill's injected parameters
    assert executed.cells[index].source.count("glue_table(") == 1
    assert f"<summary>Code of cell {index + 1}</summary>" in table
    assert f"points.ipynb, cell {index + 1}" in table and "glue_table" in re.sub(
        r"<[^>]+>", "", table
    )
    # each script once (Jupyter Book 1.x adds Thebe's settings twice: a script error), and the
    # scripts added later for the page (MathJax, for its formula) still there
    assert page.count("const THEBE_JS_URL") == 1
    assert re.search(r'<script[^>]*src="[^"]*mathjax[^"]*"', page)
    text = re.sub(r"<[^>]+>", "", page)
    assert "@misc{hybridlib_book," in text and "built from commit" in text


def test_mark_tables_and_glue_cell_by_hand() -> None:
    from docutils import nodes
    from docutils.frontend import get_default_settings
    from docutils.parsers.rst import Parser
    from docutils.utils import new_document

    document = new_document("<test>", get_default_settings(Parser))
    table, figure = nodes.figure(ids=["tbl-a"]), nodes.figure(ids=["fig-a"])
    document += [table, figure]
    assert mark_tables(document) == 1
    assert type(table).__name__ == "glued_table" and type(figure) is nodes.figure
    notebook = {"cells": [
        {"cell_type": "markdown", "source": "x"},
        {"cell_type": "code", "source": "a", "outputs": [{"metadata": {"scrapbook": {"name": "k1"}}}]},
        {"cell_type": "code", "source": "b", "outputs": [{"metadata": {"scrapbook": {"name": "k2"}}}]},
    ]}  # fmt: skip
    assert glue_cell(notebook, "k2")[0] == 2 and glue_cell(notebook, "k3") is None
    entry = book_bibtex("0.1.0", "abc123+dirty", "2026")
    assert "version = {0.1.0}" in entry and "commit abc123+dirty" in entry and entry.endswith("}")


def test_published_figure_carries_png_svg_and_csv_but_shows_png() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hybridlib.reporting.publish import CSV_MIME, SVG_MIME, figure_bundle, table_bundle

    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    data = pd.DataFrame({"a": [1.5, 2.5]})
    bundle = figure_bundle(fig, data)
    plt.close(fig)
    assert set(bundle) == {"image/png", "text/plain", SVG_MIME, CSV_MIME}
    assert "image/svg+xml" not in bundle  # the page shows the PNG; the SVG is a download
    pd.testing.assert_frame_equal(pd.read_csv(io.StringIO(bundle[CSV_MIME])), data)
    indexed = pd.DataFrame({"v": [1, 2]}, index=pd.Index(["p", "q"], name="k"))
    assert table_bundle(indexed)[CSV_MIME].splitlines() == ["k,v", "p,1", "q,2"]


def test_published_files_are_the_same_bytes_in_every_build() -> None:
    """No creation date or random clip-path ids in the SVG; floats to 12 significant digits
    in the CSV, so a last-bit difference of a BLAS sum does not change the file."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hybridlib.reporting.publish import CSV_MIME, SVG_MIME, figure_bundle

    bundles = []
    for last_bit in (0.014346050313184897, 0.014346050313184895):  # 1 ulp apart
        fig, ax = plt.subplots()
        ax.bar([0, 1], [1, 2])  # bars are clipped: clip-path ids
        bundles.append(figure_bundle(fig, pd.DataFrame({"ci_low": [last_bit]})))
        plt.close(fig)
    assert "clip-path" in bundles[0][SVG_MIME] and "<dc:date>" not in bundles[0][SVG_MIME]
    assert bundles[0][SVG_MIME] == bundles[1][SVG_MIME]
    assert bundles[0][CSV_MIME] == bundles[1][CSV_MIME] == "ci_low\n0.0143460503132\n"
