"""The built book as a reader's browser sees it: headless Chromium over a local HTTP server.

:func:`check_site` opens every page of an HTML build and reports, one line each:

- a console error or an uncaught script error, a request that failed or answered >= 400;
- an image that did not load (not complete, or zero natural width);
- maths left unrendered (a ``.math`` element without MathJax's output inside it);
- an internal link, cross-reference or download link whose file or anchor does not exist
  (:func:`dead_links`, pure Python, also usable without a browser);
- a search for ``search_word`` that finds nothing.

Chromium is Debian's (``apt-get install chromium``), driven by Playwright (``pip install
playwright``; no browser download). ``python -m hybridlib.runner.browser _build/html WORD``
exits 1 with the problems listed.
"""

from __future__ import annotations

import functools
import html.parser
import http.server
import shutil
import threading
import urllib.parse
from pathlib import Path
from typing import Any

SKIPPED_FOLDERS = ("_static", "_sources", "_images", "_data", "_downloads", "_sphinx_design_static")


class _Anchors(html.parser.HTMLParser):
    """Collects ``id``/``name`` anchors, ``href`` targets and ``src`` of one page."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.redirect = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for key in ("id", "name"):
            if values.get(key):
                self.ids.add(str(values[key]))
        if tag in ("a", "link") and values.get("href"):
            self.links.append(str(values["href"]))
        if tag in ("img", "script") and values.get("src"):
            self.links.append(str(values["src"]))
        if tag == "meta" and str(values.get("http-equiv", "")).lower() == "refresh":
            self.redirect = True  # "0; url=target.html": a link like any other
            self.links.append(str(values.get("content", "")).split("url=", 1)[-1].strip())


@functools.cache
def _parse(path: Path) -> _Anchors:
    parser = _Anchors()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return parser


def pages(html_dir: str | Path) -> list[Path]:
    """Every HTML page of the build (not the theme's or Sphinx's support folders)."""
    root = Path(html_dir)
    return sorted(
        p for p in root.rglob("*.html") if p.relative_to(root).parts[0] not in SKIPPED_FOLDERS
    )


def dead_links(html_dir: str | Path) -> list[str]:
    """Internal links (relative or root-relative ``href``/``src``) whose file does not exist,
    or whose ``#anchor`` is not an id of the target page; one line per problem."""
    root = Path(html_dir).resolve()
    _parse.cache_clear()
    problems = []
    for page in pages(root):
        for link in _parse(page).links:
            parsed = urllib.parse.urlsplit(link)
            if (
                parsed.scheme
                or parsed.netloc
                or link.startswith(("mailto:", "javascript:", "data:"))
            ):
                continue
            path = urllib.parse.unquote(parsed.path)
            target = (
                page
                if not path
                else ((root / path.lstrip("/")) if path.startswith("/") else page.parent / path)
            )
            target = target.resolve()
            if target.is_dir():
                target = target / "index.html"
            where = f"{page.relative_to(root)}: link {link!r}"
            if not target.is_file():
                problems.append(
                    f"{where}: no file {target.relative_to(root) if root in target.parents else target}"
                )
            elif (
                parsed.fragment
                and target.suffix == ".html"
                and parsed.fragment not in _parse(target).ids
            ):
                problems.append(
                    f"{where}: no anchor #{parsed.fragment} in {target.relative_to(root)}"
                )
    return problems


def _favicon(location: dict) -> bool:
    """The browser's own request for /favicon.ico (no page asks for it; the book has none)."""
    return urllib.parse.urlsplit(str(location.get("url", ""))).path == "/favicon.ico"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base class's name)
        pass


def chromium_path() -> str:
    """Debian's Chromium; a clear error when it is missing."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise FileNotFoundError(
        "no Chromium found: install Debian's (apt-get install --no-install-recommends chromium)"
    )


def check_site(
    html_dir: str | Path, search_word: str | None = None, *, timeout_ms: int = 20000
) -> list[str]:
    """Every problem a reader's browser meets in the build ``html_dir`` (see the module
    docstring); an empty list when there is none."""
    from playwright.sync_api import sync_playwright

    root = Path(html_dir).resolve()
    problems = dead_links(root)
    handler = functools.partial(_Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium_path(), args=["--no-sandbox"]
            )
            page = browser.new_page()
            current: list[str] = [""]

            def on_console(message: Any) -> None:
                if message.type == "error" and not _favicon(message.location):
                    problems.append(f"{current[0]}: console {message.type}: {message.text}")

            page.on("console", on_console)
            page.on("pageerror", lambda e: problems.append(f"{current[0]}: script error: {e}"))
            page.on(
                "requestfailed", lambda r: problems.append(f"{current[0]}: request failed: {r.url}")
            )
            page.on("response", lambda r: problems.append(f"{current[0]}: HTTP {r.status}: {r.url}")
                    if r.status >= 400 else None)  # fmt: skip
            for path in pages(root):
                if _parse(path).redirect:
                    continue  # a redirect page: its target is checked as a link
                current[0] = str(path.relative_to(root))
                page.goto(
                    base + urllib.parse.quote(current[0]), wait_until="load", timeout=timeout_ms
                )
                broken = page.evaluate(
                    "Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)"
                )
                problems += [f"{current[0]}: image did not load: {src}" for src in broken]
                if page.locator(".math").count():
                    page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise",
                                           timeout=timeout_ms)  # fmt: skip
                    page.evaluate("MathJax.startup.promise")
                    raw = page.evaluate(
                        "Array.from(document.querySelectorAll('.math')).filter(m => !m.querySelector('mjx-container')"
                        " && !m.closest('mjx-container')).length"
                    )
                    if raw:
                        problems.append(f"{current[0]}: {raw} formula(s) not rendered by MathJax")
            if search_word:
                current[0] = f"search for {search_word!r}"
                page.goto(
                    f"{base}search.html?q={urllib.parse.quote(search_word)}", wait_until="load"
                )
                try:
                    page.wait_for_selector("#search-results ul.search li", timeout=timeout_ms)
                except Exception:  # playwright's TimeoutError
                    problems.append(f"search.html: a search for {search_word!r} finds nothing")
            browser.close()
    finally:
        server.shutdown()
    return problems


def main(argv: list[str] | None = None) -> int:
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    if not 1 <= len(args) <= 2:
        print("usage: python -m hybridlib.runner.browser HTML_DIR [SEARCH_WORD]", file=sys.stderr)
        return 2
    problems = check_site(args[0], args[1] if len(args) > 1 else None)
    n_pages = len(pages(args[0]))
    for line in problems:
        print(line)
    print(f"browser check: {n_pages} pages, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
