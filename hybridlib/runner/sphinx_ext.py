"""The book's Sphinx extension: citable tables, and what is behind every glued result.

- A glued figure whose label starts with ``tbl-`` is a *table*: numbered and referenced as
  "Table n" (its own counter), every other glued figure as "Figure n".
- Under the caption of every glued table or figure: its data as CSV and, for a figure, its
  vector image (SVG), when the glued output carries them
  (:mod:`hybridlib.reporting.publish`); a link to the executed notebook; and, one click
  away, the code of the cell that made it.
- The directive ``hybridlib-bibtex``: the book's BibTeX entry with the version and the
  commit it is being built from (the "How to cite" page).

Enabled by ``_config.yml`` (``sphinx.extra_extensions``); files go to ``_data/<page>/`` of
the HTML output.
"""

from __future__ import annotations

import json
import posixpath
from pathlib import Path
from typing import Any

from docutils import nodes

from hybridlib.reporting.publish import CSV_MIME, SVG_MIME

TABLE_PREFIX = "tbl-"
DATA_FOLDER = "_data"


class glued_table(nodes.figure):  # noqa: N801 (docutils names node classes in lower case)
    """A glued table: a figure node numbered in the table counter."""


def _visit(self: Any, node: nodes.Element) -> None:
    self.visit_figure(node)


def _depart(self: Any, node: nodes.Element) -> None:
    self.depart_figure(node)


def _caption(node: nodes.Element) -> str:
    for child in node.children:
        if isinstance(child, nodes.caption):
            return child.astext()
    return ""


def mark_tables(document: nodes.document) -> int:
    """Turn every figure labelled ``tbl-...`` into a :class:`glued_table` (in place, so the
    labels registered for it stay valid); returns how many."""
    count = 0
    for figure in list(document.findall(nodes.figure)):
        if type(figure) is nodes.figure and any(i.startswith(TABLE_PREFIX) for i in figure["ids"]):
            figure.__class__ = glued_table
            count += 1
    return count


def glue_cell(notebook: dict[str, Any], key: str) -> tuple[int, dict[str, Any]] | None:
    """``(index, cell)`` of the code cell whose outputs glue ``key`` (myst-nb's scrapbook
    metadata), or None."""
    for index, cell in enumerate(notebook.get("cells", [])):
        for output in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            if (output.get("metadata") or {}).get("scrapbook", {}).get("name") == key:
                return index, cell
    return None


def _glued_data(notebook: dict[str, Any], key: str) -> dict[str, Any]:
    found = glue_cell(notebook, key)
    if found is None:
        return {}
    for output in found[1].get("outputs", []):
        scrapbook = (output.get("metadata") or {}).get("scrapbook", {})
        if scrapbook.get("name") == key:
            prefix = len(scrapbook.get("mime_prefix", ""))
            return {k[prefix:]: v for k, v in output.get("data", {}).items()}
    return {}


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def behind_the_result(app: Any, docname: str, key: str, label: str | None) -> list[nodes.Node]:
    """The nodes under a glued result's caption: download links and the cell's code."""
    env = app.env
    source = Path(env.doc2path(docname))
    if source.suffix != ".ipynb" or not source.is_file():
        return []
    notebook = json.loads(source.read_text(encoding="utf-8"))
    found = glue_cell(notebook, key)
    if found is None:
        return []
    index, cell = found
    data = _glued_data(notebook, key)
    page_dir = posixpath.dirname(docname)
    stem = label or key
    links: list[nodes.Node] = []

    def link(text: str, target: str) -> None:
        if links:
            links.append(nodes.Text(" · "))
        links.append(nodes.reference("", text, refuri=posixpath.relpath(target, page_dir or ".")))

    for mime, suffix, text in (
        (CSV_MIME, "csv", "data (CSV)"),
        (SVG_MIME, "svg", "vector image (SVG)"),
    ):
        if mime in data:
            target = f"{DATA_FOLDER}/{docname}/{stem}.{suffix}"
            path = Path(app.outdir) / target
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(_text(data[mime]), encoding="utf-8")
            link(text, target)
    link(f"executed notebook {source.name}, cell {index + 1}", f"_sources/{docname}.ipynb")
    paragraph = nodes.paragraph("", "", classes=["behind-the-result"])
    paragraph += nodes.Text("Behind it: ")
    paragraph.extend(links)
    code = nodes.literal_block(
        _text(cell.get("source", "")), _text(cell.get("source", "")), language="python"
    )
    return [
        paragraph,
        nodes.raw(
            "",
            f'<details class="result-code"><summary>Code of cell {index + 1}</summary>',
            format="html",
        ),
        code,
        nodes.raw("", "</details>", format="html"),
    ]


def unique_scripts(scripts: list[Any]) -> list[Any]:
    """The page's scripts with exact repeats dropped (Jupyter Book 1.x adds its toggle-button
    and Thebe settings twice, and the second ``const`` declaration is a script error)."""
    seen, kept = set(), []
    for script in scripts:
        name = getattr(script, "filename", script) or ""  # an inline script's is None or ""
        key = (str(name), repr(sorted((getattr(script, "attributes", None) or {}).items())))
        if key not in seen:
            seen.add(key)
            kept.append(script)
    return kept


def book_bibtex(version: str, commit: str, year: str) -> str:
    """The BibTeX entry of the book as built (``commit``: :func:`hybridlib.io.code_version`)."""
    return (
        "@misc{hybridlib_book,\n"
        "  title = {Hybrid batch training for multilingual dense retrieval: a reproduction},\n"
        "  author = {{hybridlib contributors}},\n"
        f"  year = {{{year}}},\n"
        f"  version = {{{version}}},\n"
        f"  note = {{Jupyter Book built from commit {commit}; reproduces arXiv:2408.10536}}\n"
        "}"
    )


def setup(app: Any) -> dict[str, Any]:
    from myst_nb.ext.glue.directives import PasteFigureDirective
    from sphinx.transforms import SphinxTransform

    class LinkedPasteFigure(PasteFigureDirective):
        """``glue:figure`` plus what is behind the result (see the module docstring)."""

        def run(self) -> list[nodes.Node]:
            result = super().run()
            env = self.state.document.settings.env
            for node in result:
                if isinstance(node, nodes.figure):
                    names = node.get("names") or [None]
                    node.extend(
                        behind_the_result(env.app, env.docname, self.arguments[0], names[0])
                    )
            return result

    from docutils.parsers.rst import Directive

    class BookBibtex(Directive):
        """The book's BibTeX entry, with this build's version and commit."""

        def run(self) -> list[nodes.Node]:
            import datetime

            from hybridlib import __version__
            from hybridlib.io import code_version

            text = book_bibtex(__version__, code_version(), str(datetime.date.today().year))
            return [nodes.literal_block(text, text, language="bibtex")]

    class MarkTables(SphinxTransform):
        default_priority = 210  # after the figures are made, before numbers are assigned

        def apply(self, **kwargs: Any) -> None:
            mark_tables(self.document)

    app.add_enumerable_node(glued_table, "table", _caption, html=(_visit, _depart),
                            latex=(_visit, _depart), text=(_visit, _depart))  # fmt: skip
    app.add_directive_to_domain("glue", "figure", LinkedPasteFigure, override=True)

    def dedupe(
        app: Any, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
    ) -> None:
        scripts = context.get("script_files")
        if isinstance(
            scripts, list
        ):  # in place: it is the builder's list, which later handlers extend
            scripts[:] = unique_scripts(scripts)

    app.add_transform(MarkTables)
    app.connect("html-page-context", dedupe, priority=1)  # first: a later handler may end the event
    app.add_directive("hybridlib-bibtex", BookBibtex)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
