"""A small book, built from scratch in a temporary folder, for the runner and build tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

import nbformat
import pytest

from hybridlib.runner import load_profile, plan_profile
from hybridlib.runner.plan import Execution


def make_notebook(cells: list[tuple[str, str]], parameters: str) -> nbformat.NotebookNode:
    """A notebook with a ``parameters`` cell (literals) followed by ``cells`` (kind, source)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    first = nbformat.v4.new_code_cell(parameters)
    first.metadata["tags"] = ["parameters"]
    nb.cells.append(first)
    for kind, source in cells:
        maker = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
        nb.cells.append(maker(textwrap.dedent(source).strip()))
    return nb


GLUED_RESULTS = """\
        ```{glue:figure} line_figure
        :name: fig-line

        A line through the points.
        ```

        ```{glue:figure} points_table
        :name: tbl-points

        The points.
        ```
"""  # the figure and the table of a points page (markdown, indented like the cells)

FIGURE_NOTEBOOK = [
    (
        "code",
        """
        import matplotlib.pyplot as plt
        import pandas as pd
        from myst_nb import glue
        from hybridlib.io import atomic_write_text
    """,
    ),
    (
        "code",
        """
        fig, ax = plt.subplots(figsize=(3, 2))
        ax.plot(range(n_points), [i * slope for i in range(n_points)])
        glue("line_figure", fig, display=False)
        plt.close(fig)
    """,
    ),
    (
        "code",
        """
        table = pd.DataFrame({"x": range(n_points), "y": [i * slope for i in range(n_points)]})
        glue("points_table", table, display=False)
        glue("n_points", n_points, display=False)
    """,
    ),
    (
        "code",
        """
        assert not fail, "asked to fail"
        import time
        time.sleep(sleep)  # a slow execution, to be interrupted by a test
    """,
    ),
    (
        "markdown",
        """
        # Points

"""
        + GLUED_RESULTS,
    ),
]

INTRO = """\
# A small book

There are {glue:text}`generated/points.ipynb::n_points:d` points, drawn in {numref}`fig-line`
and listed in {numref}`tbl-points`.
"""

CONFIG = """\
title: small
only_build_toc_files: true
execute:
  execute_notebooks: "off"
exclude_patterns: [_build, runs, notebooks, "**/.ipynb_checkpoints"]
sphinx:
  config:
    numfig: true
"""

TOC = """\
format: jb-book
root: book/intro
chapters:
  - file: book/generated/points
"""

PROFILES = """\
profiles:
  tiny:
    description: one notebook
    notebooks:
      - notebook: notebooks/points.ipynb
        parameters: {n_points: 4}
"""


@pytest.fixture()
def small_book(tmp_path: Path) -> Path:
    """A book folder: _config.yml, _toc.yml, book/intro.md, notebooks/points.ipynb, profiles.yaml."""
    (tmp_path / "book").mkdir()
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "_config.yml").write_text(CONFIG)
    (tmp_path / "_toc.yml").write_text(TOC)
    (tmp_path / "book" / "intro.md").write_text(INTRO)
    (tmp_path / "profiles.yaml").write_text(PROFILES)
    nb = make_notebook(FIGURE_NOTEBOOK, "n_points = 3\nslope = 2.0\nfail = False\nsleep = 0.0")
    nbformat.write(nb, tmp_path / "notebooks" / "points.ipynb")
    return tmp_path


def tiny_executions(book: Path, **overrides) -> list[Execution]:
    executions = plan_profile(load_profile(book / "profiles.yaml", "tiny"))
    if overrides:
        executions = [
            Execution(
                e.name,
                e.notebook,
                {**e.parameters, **overrides},
                e.offered,
                e.depends_on,
                e.artifacts,
                e.page,
            )
            for e in executions
        ]
    return executions


def write_profiles(tmp_path: Path, text: str) -> Path:
    """``text`` as ``tmp_path/profiles.yaml``."""
    path = tmp_path / "profiles.yaml"
    path.write_text(text)
    return path
