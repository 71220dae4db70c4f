"""The book build (hybridlib.runner.book): every glued result shown, missing pages and glue keys
reported, the table of contents read as Jupyter Book reads it."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import re
from pathlib import Path

import nbformat
import pytest

from hybridlib.runner import BookError, build_book, load_profile, plan_profile
from hybridlib.runner.book import (
    check_book,
    glue_references,
    left_out_pages,
    toc_differences,
    toc_pages,
)

from .conftest import TOC, tiny_executions


def _png_hashes(nb_path: Path) -> set[str]:
    """SHA-256 of every glued PNG in an executed notebook."""
    nb = nbformat.read(nb_path, as_version=4)
    hashes = set()
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            scrap = output.get("metadata", {}).get("scrapbook")
            if scrap:
                png = output["data"].get(scrap.get("mime_prefix", "") + "image/png")
                if png:
                    hashes.add(hashlib.sha256(base64.b64decode(png)).hexdigest())
    return hashes


def test_small_book_shows_every_glued_figure_and_table(small_book: Path) -> None:
    store = small_book / "runs" / "store"
    records = build_book(
        small_book, tiny_executions(small_book), store, mathjax=False, progress=False
    )
    assert [r.status for r in records] == ["executed"]

    html_dir = small_book / "_build" / "html"
    page = (html_dir / "book" / "generated" / "points.html").read_text(encoding="utf-8")
    intro = (html_dir / "book" / "intro.html").read_text(encoding="utf-8")

    # the figure: the glued PNG was written into the HTML output and the page shows it
    executed = small_book / "book" / "generated" / "points.ipynb"
    pngs = _png_hashes(executed)
    assert len(pngs) == 1
    (png,) = pngs
    assert (html_dir / "_images" / f"{png}.png").is_file()
    figure = re.search(r'<figure[^>]*id="fig-line".*?</figure>', page, re.S).group(0)
    assert f"{png}.png" in figure and "A line through the points." in figure

    # the table: the glued DataFrame as an HTML table with the values of n_points = 4 rows
    table = re.search(r'<figure[^>]*id="tbl-points".*?</figure>', page, re.S).group(0)
    assert "<table" in table
    assert re.findall(r"<td>(\d+\.\d+)</td>", table) == ["0.0", "2.0", "4.0", "6.0"]

    # a number glued across documents, and numbered references to both
    assert '<span class="pasted-text">4</span> points' in intro
    assert re.search(r"Fig\. 1</span>", intro) and re.search(r"Fig\. 2</span>", intro)
    assert check_book(small_book, html_dir, built_after=0.0) == []


def test_missing_page_is_reported(small_book: Path) -> None:
    build_book(
        small_book, tiny_executions(small_book), small_book / "store", mathjax=False, progress=False
    )
    (small_book / "_toc.yml").write_text(
        (small_book / "_toc.yml").read_text() + "  - file: book/absent\n"
    )
    problems = check_book(small_book, small_book / "_build" / "html", built_after=0.0)
    assert any("'book/absent'" in p and "no source file" in p for p in problems)


def test_missing_glue_key_fails_the_build(small_book: Path) -> None:
    intro = small_book / "book" / "intro.md"
    intro.write_text(
        intro.read_text() + "\nAlso {glue:text}`generated/points.ipynb::no_such_key:d`.\n"
    )
    with pytest.raises(BookError, match="no_such_key"):
        build_book(
            small_book,
            tiny_executions(small_book),
            small_book / "store",
            mathjax=False,
            progress=False,
        )


def test_glue_references_are_parsed_like_myst_nb() -> None:
    text = (
        "{glue:text}`generated/r.ipynb::k1:.3f` and {glue}`k2` and {glue:text}`k3:d`\n"
        "```{glue:figure} k4\n:name: fig-x\n```\n"
        ":::{glue} k5\n:doc: ../other.ipynb\n:::\n"
    )
    assert glue_references(text, "book/intro") == [
        ("book/generated/r", "k1"),
        ("book/intro", "k2"),
        ("book/intro", "k3"),
        ("book/intro", "k4"),
        ("other", "k5"),
    ]


def test_toc_pages_expand_globs(small_book: Path) -> None:
    (small_book / "book" / "generated").mkdir(parents=True)
    for name in ("b", "a"):
        (small_book / "book" / "generated" / f"{name}.ipynb").write_text("{}")
    (small_book / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nchapters:\n  - glob: book/generated/*\n"
    )
    assert toc_pages(small_book) == ["book/intro", "book/generated/a", "book/generated/b"]


def test_the_toc_and_the_profile_must_agree_before_anything_runs(small_book: Path) -> None:
    """A chapter of book/generated that no execution makes, or a page the table of contents
    neither lists nor globs, stops the build before any execution (not at its end)."""
    toc, store = small_book / "_toc.yml", small_book / "store"

    def build() -> None:
        build_book(small_book, tiny_executions(small_book), store, mathjax=False, progress=False)

    toc.write_text(TOC + "  - file: book/generated/absent\n")
    with pytest.raises(BookError, match=r"nothing was run:\n- _toc.yml lists book/generated/absent"
                       r", but no execution .*\(add notebooks/absent.ipynb"):  # fmt: skip
        build()
    assert not store.exists()
    toc.write_text(TOC.replace("chapters:\n  - file: book/generated/points\n", ""))
    with pytest.raises(BookError, match="makes the page book/generated/points, but _toc.yml "
                       "neither lists nor globs it"):  # fmt: skip
        build()
    assert not store.exists()
    # a glob of book/generated that matches nothing fails jupyter-book at the end (-W): it is
    # refused first, unless the profile leaves that folder out (its page fills the glob)
    toc.write_text(TOC + "  - glob: book/generated/runs/other/*\n")
    with pytest.raises(BookError, match=r"_toc.yml globs book/generated/runs/other/\*, but no "
                       r"execution .* \(list 'runs/other' under the profile's leaves_out"):  # fmt: skip
        build()
    assert not store.exists()
    executions = tiny_executions(small_book)
    assert toc_differences(small_book, executions, ["runs/other"]) == []
    assert toc_differences(small_book, executions, ["runs/elsewhere"]) == [
        "_toc.yml globs book/generated/runs/other/*, but no execution of this profile makes a "
        "page there and jupyter-book refuses an empty glob (list 'runs/other' under the "
        "profile's leaves_out with the reason, or remove the entry)",
        "the profile leaves out 'runs/elsewhere' (leaves_out), but _toc.yml neither lists "
        "book/generated/runs/elsewhere nor globs book/generated/runs/elsewhere/*",
    ]
    inside = [dataclasses.replace(executions[0], name="runs/other/points")]  # a folder it fills
    assert toc_differences(small_book, inside, ["runs/other"]) == [
        "_toc.yml lists book/generated/points, but no execution of this profile makes it (add "
        "notebooks/points.ipynb to the profile's notebooks in profiles.yaml, list it under the "
        "profile's leaves_out with the reason, or remove the entry)",
        "the profile leaves out 'runs/other' (leaves_out), but makes pages there: "
        "book/generated/runs/other/points",
    ]
    toc.write_text(TOC.replace("- file: book/generated/points", "- glob: book/generated/*"))
    build()  # a glob covers the page
    assert (store / "points.ipynb").is_file()


def test_every_profile_of_the_repository_makes_exactly_the_chapters_of_its_toc() -> None:
    repo = Path(__file__).resolve().parents[2]
    for name in ("smoke", "cpu", "cpu-full", "full", "full-dry"):
        profile = load_profile(repo / "profiles.yaml", name)
        executions = plan_profile(profile)
        assert toc_differences(repo, executions, profile.leaves_out) == [], name
    # the default build leaves the second LAReQA direction's runs out: their folder's page
    # says why and names the profile that builds them
    cpu = load_profile(repo / "profiles.yaml", "cpu")
    page = left_out_pages(repo, repo / "profiles.yaml", cpu)["runs/mlqa-to-xquad/left-out"]
    assert (
        page.startswith("# runs/mlqa-to-xquad/\n")
        and "leaves the runs of this folder out: " in page
    )
    assert "(`hybridlib book --profile cpu-full`)" in page


def test_a_chapter_the_profile_leaves_out_gets_a_page_saying_why_and_who_builds_it(
    small_book: Path,
) -> None:
    """A profile may leave out a chapter of ``_toc.yml`` (``leaves_out``, with the reason):
    the book then holds a page with the chapter's title, the reason and the profiles that
    build it, so links to it still resolve; a build of such a profile replaces the page by
    the executed chapter. A chapter left out that no profile builds, or that the profile
    makes, is refused before anything runs."""
    from .conftest import make_notebook

    extra = make_notebook([("markdown", "# An extra chapter\n\nIts result.")], "x = 1")
    nbformat.write(extra, small_book / "notebooks" / "extra.ipynb")
    (small_book / "_toc.yml").write_text(TOC + "  - file: book/generated/extra\n")
    intro = small_book / "book" / "intro.md"
    intro.write_text(intro.read_text() + "\nSee {doc}`generated/extra`.\n")
    profiles = small_book / "profiles.yaml"
    profiles.write_text(
        "profiles:\n"
        "  tiny:\n    description: one notebook\n"
        "    notebooks:\n      - notebook: notebooks/points.ipynb\n        parameters: {n_points: 4}\n"
        "    leaves_out: {extra: it costs too much here.}\n"
        "  both:\n    extends: tiny\n    leaves_out: null\n"
        "    notebooks:\n      - notebook: notebooks/points.ipynb\n"
        "      - notebook: notebooks/extra.ipynb\n"
    )
    store = small_book / "runs" / "store"
    tiny = load_profile(profiles, "tiny")
    pages = left_out_pages(small_book, profiles, tiny)
    build_book(small_book, plan_profile(tiny), store, mathjax=False, progress=False,
               left_out=pages)  # fmt: skip
    html = small_book / "_build" / "html"
    page = (html / "book" / "generated" / "extra.html").read_text(encoding="utf-8")
    text = " ".join(re.sub(r"<[^>]+>", "", page).split())
    assert "This build (profile tiny) leaves this chapter out: it costs too much here." in text
    assert "An extra chapter" in text and "build it: both (hybridlib book --profile both)" in text
    assert 'href="generated/extra.html"' in (html / "book" / "intro.html").read_text()
    assert check_book(small_book, html, built_after=0.0) == []

    both = load_profile(profiles, "both")
    build_book(small_book, plan_profile(both), store, mathjax=False, progress=False)
    generated = small_book / "book" / "generated"
    assert sorted(p.name for p in generated.iterdir()) == ["extra.ipynb", "points.ipynb"]
    assert "costs too much" not in (html / "book" / "generated" / "extra.html").read_text()

    with pytest.raises(BookError, match="leaves out 'extra' \\(leaves_out\\), but makes it"):
        build_book(small_book, plan_profile(both), store, mathjax=False, progress=False,
                   left_out=pages)  # fmt: skip
    profiles.write_text(
        profiles.read_text().replace("      - notebook: notebooks/extra.ipynb\n", "")
    )
    with pytest.raises(BookError, match="leaves out 'extra', but no profile"):
        left_out_pages(small_book, profiles, load_profile(profiles, "tiny"))
