"""The browser check of the built book, tested on small hand-made sites: it passes a clean one
and fails a planted dead link, a missing anchor, a missing image and a script error
(a test of the test). Needs Debian's Chromium (``.ci/run`` installs it)."""

from __future__ import annotations

from pathlib import Path

from hybridlib.runner.browser import check_site, dead_links

PAGE = """<!DOCTYPE html><html><head><title>{title}</title></head>
<body><h1 id="top">{title}</h1>{body}</body></html>"""


def _site(root: Path, pages: dict[str, str]) -> Path:
    for name, body in pages.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(PAGE.format(title=name, body=body), encoding="utf-8")
    return root


def _clean(root: Path) -> Path:
    (root / "_data").mkdir(parents=True)
    (root / "_data" / "t.csv").write_text("a\n1\n")
    return _site(root, {
        "index.html": '<a href="sub/b.html#top">b</a> <a href="_data/t.csv">data</a> <a href="https://example.org">out</a>',
        "sub/b.html": '<a href="../index.html">home</a> <a href="#top">here</a>',
    })  # fmt: skip


def test_dead_links_finds_missing_files_and_anchors(tmp_path: Path) -> None:
    root = _clean(tmp_path)
    assert dead_links(root) == []
    (root / "sub" / "c.html").write_text(PAGE.format(
        title="c", body='<a href="missing.html">x</a> <a href="b.html#nowhere">y</a> <img src="../_images/no.png">'))  # fmt: skip
    problems = dead_links(root)
    assert problems == [
        "sub/c.html: link 'missing.html': no file sub/missing.html",
        "sub/c.html: link 'b.html#nowhere': no anchor #nowhere in sub/b.html",
        "sub/c.html: link '../_images/no.png': no file _images/no.png",
    ]


def test_a_clean_site_passes_in_the_browser(tmp_path: Path) -> None:
    assert check_site(_clean(tmp_path)) == []


def test_a_planted_dead_link_image_and_script_error_fail_in_the_browser(tmp_path: Path) -> None:
    root = _clean(tmp_path)
    (root / "broken.html").write_text(PAGE.format(title="broken", body=(
        '<a href="gone.html">gone</a> <img src="no.png" alt="x"> <script>undefinedFunction()</script>')))  # fmt: skip
    problems = check_site(root)
    assert "broken.html: link 'gone.html': no file gone.html" in problems
    assert any(
        p.startswith("broken.html: image did not load:") and p.endswith("/no.png") for p in problems
    )
    assert any(
        p.startswith("broken.html: script error:") and "undefinedFunction" in p for p in problems
    )
    assert all(p.startswith("broken.html") for p in problems)
