"""Build the book: run a profile's notebooks, copy the executed ones where the book reads
them, build with Jupyter Book 1.x (warnings as errors), then check the result.

Checks after the build (any failure is an error that names what is missing):
- every glue key referenced in the book's pages exists in the executed notebook it names;
- every page of ``_toc.yml`` exists in the HTML output, written by this build (guards
  against Jupyter Book exiting 0 having built nothing).
"""

from __future__ import annotations

import fnmatch
import glob as _glob
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import nbformat
import yaml

from hybridlib.io import atomic_path
from hybridlib.runner.execute import ExecutionRecord, run_executions
from hybridlib.runner.plan import Execution

if TYPE_CHECKING:
    from hybridlib.runner.profiles import Profile

GENERATED = PurePosixPath("book/generated")  # where the book reads executed notebooks
# the page of a runs folder a profile leaves out (leaves_out: {"runs/<direction>": reason}):
# book/generated/runs/<direction>/left-out.md, which the folder's glob in _toc.yml lists
LEFT_OUT_PAGE = "left-out"
MATHJAX_PACKAGE = "mathjax@3"
MATHJAX_ENTRY = Path("mathjax/es5/tex-mml-chtml.js")  # relative to the static folder


class BookError(RuntimeError):
    """The book did not build, or built without something it must contain."""


# ---------------------------------------------------------------------------------------------
# MathJax, offline


def install_mathjax(static_dir: str | Path) -> Path:
    """Unpack the npm package ``mathjax@3`` (its ``es5`` folder) into ``static_dir/mathjax``.

    Skipped when the entry script already exists. Uses ``npm pack`` (the registry's ordinary
    client); the result is git-ignored and copied into the HTML by Sphinx.
    """
    static_dir = Path(static_dir)
    entry = static_dir / MATHJAX_ENTRY
    if entry.is_file():
        return entry
    npm = shutil.which("npm")
    if npm is None:
        raise BookError(
            f"npm not found: needed once to install {MATHJAX_PACKAGE} into {entry.parent}"
        )
    with tempfile.TemporaryDirectory() as tmp:
        result = subprocess.run(
            [npm, "pack", MATHJAX_PACKAGE, "--pack-destination", tmp, "--silent"],
            capture_output=True,
            text=True,
        )
        tarballs = list(Path(tmp).glob("mathjax-*.tgz"))
        if result.returncode != 0 or not tarballs:
            raise BookError(f"npm pack {MATHJAX_PACKAGE} failed: {result.stderr.strip()[-2000:]}")
        with atomic_path(static_dir / "mathjax") as target:
            with tarfile.open(tarballs[0]) as archive:
                members = [
                    m
                    for m in archive.getmembers()
                    if m.name.startswith("package/es5/") or m.name == "package/LICENSE"
                ]
                archive.extractall(tmp, members=members, filter="data")
            shutil.copytree(Path(tmp) / "package", target)
    if not entry.is_file():
        raise BookError(f"{MATHJAX_PACKAGE} unpacked, but {entry} is missing")
    return entry


# ---------------------------------------------------------------------------------------------
# executed notebooks -> the book's folder


def sync_pages(
    executions: list[Execution],
    store: Path,
    book_dir: Path,
    left_out: Mapping[str, str] | None = None,
) -> list[Path]:
    """Copy every executed notebook into ``book_dir`` (same relative name) and write each
    ``left_out`` page (its name under ``book_dir`` -> markdown, :func:`left_out_pages`) as
    ``<name>.md``; remove stale ones. The folder then holds exactly the current profile's
    pages."""
    wanted = {f"{e.name}.ipynb" for e in executions} | {f"{name}.md" for name in left_out or {}}
    book_dir.mkdir(parents=True, exist_ok=True)
    for existing in [*book_dir.rglob("*.ipynb"), *book_dir.rglob("*.md")]:
        if str(existing.relative_to(book_dir).as_posix()) not in wanted:
            existing.unlink()
    copied = []
    for name in sorted(f"{e.name}.ipynb" for e in executions):
        source, target = store / name, book_dir / name
        with atomic_path(target) as tmp:
            shutil.copyfile(source, tmp)
        copied.append(target)
    for name, text in sorted((left_out or {}).items()):
        (book_dir / f"{name}.md").parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(book_dir / f"{name}.md") as tmp:
            tmp.write_text(text, encoding="utf-8")
        copied.append(book_dir / f"{name}.md")
    return copied


# ---------------------------------------------------------------------------------------------
# checks


def _toc_entries(root: Path) -> list[tuple[str, str]]:
    """``_toc.yml``'s entries in order, as ``("file", path without suffix)`` or ``("glob",
    pattern)``; the root page is a file."""
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    entries: list[tuple[str, str]] = []

    def walk(node) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for key in ("root", "file"):
                if key in node:
                    entries.append(("file", re.sub(r"\.(md|ipynb|rst)$", "", node[key])))
            if "glob" in node:
                entries.append(("glob", node["glob"]))
            for key in ("parts", "chapters", "sections"):
                if key in node:
                    walk(node[key])

    walk(toc)
    return entries


def toc_pages(root: Path) -> list[str]:
    """Every page of ``_toc.yml`` (globs expanded) as a path without suffix, relative to root."""
    pages: list[str] = []
    for kind, entry in _toc_entries(root):
        if kind == "file":
            pages.append(entry)
            continue
        for match in sorted(_glob.glob(str(root / entry))):
            if re.search(r"\.(md|ipynb|rst)$", match):
                pages.append(
                    re.sub(r"\.(md|ipynb|rst)$", "", Path(match).relative_to(root).as_posix())
                )
    return pages


def toc_differences(
    root: Path, executions: list[Execution], leaves_out: Iterable[str] | None = None
) -> list[str]:
    """Where ``_toc.yml`` and the plan disagree on the generated pages, checked before anything
    runs. ``leaves_out``: what the profile leaves out (its ``leaves_out`` keys), each a chapter
    (``_toc.yml`` lists ``book/generated/<name>``) or a folder of runs (``_toc.yml`` globs
    ``book/generated/<name>/*``). A disagreement: a chapter that no execution makes and the
    profile does not leave out; a glob of ``book/generated`` that matches no page the profile
    makes and whose folder it does not leave out (jupyter-book refuses an empty glob); a
    chapter or folder left out that the profile makes, or that ``_toc.yml`` does not list or
    glob; an execution whose page the table of contents neither lists nor matches."""
    entries = _toc_entries(root)
    files = {path for kind, path in entries if kind == "file" and path.startswith(f"{GENERATED}/")}
    globs = [pattern for kind, pattern in entries if kind == "glob"]
    made = {f"{GENERATED}/{e.name}" for e in executions}
    left_out = {f"{GENERATED}/{name}" for name in leaves_out or ()}
    folders = {page for page in left_out if f"{page}/*" in globs}
    problems = [
        f"_toc.yml lists {page}, but no execution of this profile makes it (add "
        f"notebooks/{PurePosixPath(page).name}.ipynb to the profile's notebooks in profiles.yaml, "
        "list it under the profile's leaves_out with the reason, or remove the entry)"
        for page in sorted(files - made - left_out)
    ]
    problems += [
        f"_toc.yml globs {pattern}, but no execution of this profile makes a page there and "
        "jupyter-book refuses an empty glob (list "
        f"'{PurePosixPath(pattern).parent.relative_to(GENERATED)}' under the profile's "
        "leaves_out with the reason, or remove the entry)"
        for pattern in globs
        if pattern.startswith(f"{GENERATED}/")
        and PurePosixPath(pattern).parent.as_posix() not in folders
        and not any(fnmatch.fnmatch(f"{page}.ipynb", pattern) for page in made)
    ]
    problems += [
        f"the profile leaves out {page.removeprefix(f'{GENERATED}/')!r} (leaves_out), but "
        + ("makes it" if page in made else f"_toc.yml neither lists {page} nor globs {page}/*")
        for page in sorted(left_out - folders - (files - made))
    ]
    problems += [
        f"the profile leaves out {page.removeprefix(f'{GENERATED}/')!r} (leaves_out), but "
        f"makes pages there: {', '.join(sorted(m for m in made if m.startswith(f'{page}/')))}"
        for page in sorted(folders)
        if any(m.startswith(f"{page}/") for m in made)
    ]
    problems += [
        f"the profile makes the page {page}, but _toc.yml neither lists nor globs it (add "
        f"'- file: {page}' where the chapter belongs)"
        for page in sorted(made - files)
        if not any(fnmatch.fnmatch(f"{page}.ipynb", pattern) for pattern in globs)
    ]
    return problems


_ROLE = re.compile(r"\{glue(?::(\w+))?\}`([^`]+)`")
_DIRECTIVE = re.compile(r"^\s*(`{3,}|:{3,})\{glue(?::(\w+))?\}\s+(\S+)\s*$")
_DOC_OPTION = re.compile(r"^\s*:doc:\s*(\S+)\s*$")


def glue_references(text: str, page: str) -> list[tuple[str, str]]:
    """``(document, key)`` pairs referenced by glue roles and directives in ``text``.

    ``page`` is the referencing page's path (no suffix, relative to root); documents in the
    result are resolved the same way.
    """
    refs = []
    base = PurePosixPath(page).parent
    for match in _ROLE.finditer(text):
        kind, body = match.group(1), match.group(2)
        if kind == "text":  # myst-nb's own parse: "[doc::]key:format" -> drop the format
            parts = body.rsplit(":", 1)
            body = parts[0] if len(parts) == 2 else body
        if "::" in body:
            doc, key = body.split("::", 1)
            refs.append((_normalise(base / doc), key))
        else:
            refs.append((page, body))
    lines = text.splitlines()
    for i, line in enumerate(lines):
        directive = _DIRECTIVE.match(line)
        if not directive:
            continue
        doc = page
        for option in lines[i + 1 : i + 8]:
            opt = _DOC_OPTION.match(option)
            if opt:
                doc = _normalise(base / opt.group(1))
            if not option.strip().startswith(":"):
                break
        refs.append((doc, directive.group(3)))
    return refs


def _normalise(path: PurePosixPath) -> str:
    parts: list[str] = []
    for part in path.parts:
        if part == "..":
            parts.pop()
        elif part != ".":
            parts.append(part)
    return re.sub(r"\.(md|ipynb)$", "", "/".join(parts))


def notebook_glue_keys(path: Path) -> set[str]:
    """Keys glued (``myst_nb.glue``) in an executed notebook's outputs."""
    nb = nbformat.read(path, as_version=4)
    keys = set()
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            scrap = output.get("metadata", {}).get("scrapbook")
            if scrap:
                keys.add(scrap["name"])
    return keys


def notebook_errors(path: Path) -> list[str]:
    """Error outputs left in an executed notebook (there should be none)."""
    nb = nbformat.read(path, as_version=4)
    return [
        f"{path}: cell {i}: {o.get('ename')}: {o.get('evalue')}"
        for i, cell in enumerate(nb.cells)
        for o in cell.get("outputs", [])
        if o.get("output_type") == "error"
    ]


def check_book(root: Path, html_dir: Path, built_after: float) -> list[str]:
    """Problems with a built book (empty list: none)."""
    problems: list[str] = []
    pages = toc_pages(root)
    if not pages:
        problems.append(f"{root / '_toc.yml'} lists no pages")
    keys_by_doc: dict[str, set[str]] = {}
    for page in pages:
        for suffix in (".ipynb", ".md"):
            source = root / f"{page}{suffix}"
            if source.is_file():
                break
        else:
            problems.append(f"page {page!r} of _toc.yml has no source file")
            continue
        if suffix == ".ipynb":
            keys_by_doc[page] = notebook_glue_keys(source)
            problems += notebook_errors(source)
            nb = nbformat.read(source, as_version=4)
            text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        else:
            text = source.read_text(encoding="utf-8")
        for doc, key in glue_references(text, page):
            if doc not in keys_by_doc:
                nb_path = root / f"{doc}.ipynb"
                keys_by_doc[doc] = notebook_glue_keys(nb_path) if nb_path.is_file() else set()
            if key not in keys_by_doc[doc]:
                problems.append(
                    f"page {page!r} references glue key {key!r} of {doc!r}, which does not exist"
                )
        html = html_dir / f"{page}.html"
        if not html.is_file():
            problems.append(f"page {page!r} of _toc.yml is missing from the HTML output ({html})")
        elif html.stat().st_mtime < built_after:
            problems.append(f"page {page!r}: {html} was not written by this build")
    return problems


# ---------------------------------------------------------------------------------------------
# the whole pipeline


def _title(notebook: Path) -> str | None:
    """The first ``# heading`` of a notebook's markdown cells."""
    if not notebook.is_file():
        return None
    for cell in nbformat.read(notebook, as_version=4).cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return None


def left_out_pages(root: Path, profiles_file: Path, profile: Profile) -> dict[str, str]:
    """The page of each chapter or folder of runs ``profile`` leaves out (``leaves_out``), by
    its name under ``book/generated`` (a chapter's name; ``<folder>/left-out`` for a folder),
    as MyST markdown: the chapter's title (its notebook's first heading) or the folder, that
    this build leaves it out and why, and the profiles of ``profiles_file`` that build it
    (none: :class:`BookError`), with the command for this profile's extension (``cpu`` ->
    ``cpu-full``) or else the first."""
    if not profile.leaves_out:
        return {}
    from hybridlib.runner.plan import plan_profile
    from hybridlib.runner.profiles import load_profiles

    others = {
        name: plan_profile(other)
        for name, other in load_profiles(profiles_file).items()
        if name != profile.name
    }
    pages = {}
    for left, reason in profile.leaves_out.items():
        builders = {
            name: e
            for name, plan in others.items()
            for e in plan
            if e.name == left or e.name.startswith(f"{left}/")
        }
        if not builders:
            raise BookError(
                f"profile {profile.name!r} leaves out {left!r}, but no profile of "
                f"{profiles_file} builds it: a page would point to nothing"
            )
        names = ", ".join(f"`{name}`" for name in builders)
        # the command names this profile's extension (cpu -> cpu-full) where there is one
        extended = [name for name in builders if name.startswith(f"{profile.name}-")]
        command = f"hybridlib book --profile {(extended or list(builders))[0]}"
        if any(e.name == left for e in builders.values()):  # a chapter
            notebook = root / next(iter(builders.values())).notebook
            page, title, what = left, _title(notebook) or left, "this chapter"
        else:  # a folder of runs, e.g. a direction's systems
            page, title, what = f"{left}/{LEFT_OUT_PAGE}", f"{left}/", "the runs of this folder"
        pages[page] = (
            f"# {title}\n\n```{{note}}\nThis build (profile `{profile.name}`) leaves {what} "
            f"out: {reason}\n\nThe profiles that build {'it' if what == 'this chapter' else 'them'}: "
            f"{names} (`{command}`).\n```\n"
        )
    return pages


def jupyter_book_build(root: Path, builder: str = "html") -> subprocess.CompletedProcess:
    """``jupyter-book build ROOT --all -W -n --keep-going`` with this environment's executable.

    ``--all`` rewrites every page (no stale pages from an earlier profile, and every page's
    HTML is new, which the checks rely on).
    """
    executable = Path(sys.executable).parent / "jupyter-book"
    command = [
        str(executable) if executable.exists() else "jupyter-book",
        "build",
        str(root),
        "--all",
        "-W",
        "-n",
        "--keep-going",
        "--builder",
        builder,
    ]
    return subprocess.run(command, cwd=root, capture_output=True, text=True)


def build_book(
    root: str | Path,
    executions: list[Execution],
    store: str | Path,
    *,
    force: bool = False,
    build: bool = True,
    mathjax: bool = True,
    progress: bool = True,
    client: Any | None = None,
    weights: dict[str, float] | None = None,
    left_out: Mapping[str, str] | None = None,
) -> list[ExecutionRecord]:
    """Execute ``executions`` (cached; on the workers of a ``dask.distributed.Client`` when
    given, see :func:`~hybridlib.runner.execute.run_executions`; ``weights``: the estimated
    seconds its progress bar counts), copy them into ``book/generated`` with the pages of the
    chapters the profile leaves out (``left_out``: :func:`left_out_pages`), build and check."""
    root = Path(root).resolve()
    store = Path(store).resolve()
    left_keys = [page.removesuffix(f"/{LEFT_OUT_PAGE}") for page in left_out or {}]
    differences = toc_differences(root, executions, left_keys) if build else []
    if differences:  # the chapters are _toc.yml's and the profile's: they must agree
        raise BookError("nothing was run:\n- " + "\n- ".join(differences))
    if mathjax:
        install_mathjax(root / "book" / "_static")
    records = run_executions(
        executions, root, store, force=force, progress=progress, client=client, weights=weights
    )
    sync_pages(executions, store, root / GENERATED, left_out if build else None)
    if not build:
        return records
    started = time.time()
    result = jupyter_book_build(root)
    html_dir = root / "_build" / "html"
    if result.returncode != 0:
        log = (result.stdout + result.stderr).strip()
        raise BookError(f"jupyter-book build failed (exit {result.returncode}):\n{log[-6000:]}")
    problems = check_book(root, html_dir, started)
    if problems:
        raise BookError("the book built, but:\n- " + "\n- ".join(problems))
    return records


def select(executions: list[Execution], only: str) -> list[Execution]:
    """The executions of notebook ``only`` (a path, a stem or a glob) and what they depend on."""
    chosen = [
        e
        for e in executions
        if only in (e.notebook, PurePosixPath(e.notebook).stem, e.name)
        or fnmatch.fnmatch(e.name, only)
    ]
    if not chosen:
        known = sorted({PurePosixPath(e.notebook).stem for e in executions})
        raise BookError(f"no notebook {only!r} in this profile; notebooks: {known}")
    needed = {e.name for e in chosen}
    by_name = {e.name: e for e in executions}
    stack = list(needed)
    while stack:
        for dep in by_name[stack.pop()].depends_on:
            if dep not in needed:
                needed.add(dep)
                stack.append(dep)
    return [e for e in executions if e.name in needed]
