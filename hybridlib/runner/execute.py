"""Execute planned notebooks with papermill, cached by content.

Each execution's cache key is the SHA-256 of
- the template's code and markdown (not its outputs or metadata),
- the parameters actually injected,
- the project's source files (``hybridlib``, ``benchmarks``) the notebook imports, followed
  transitively (``code_version``),
- the keys of the executions it depends on (a rerun upstream reruns what is downstream).

The store holds ``{name}.ipynb`` (the executed notebook) and ``{name}.json`` (its stamp, written
last, so a stamp means a finished execution). A rerun whose key matches a stamp, and whose
artifacts exist, is skipped. A failure stops the run with ``NotebookFailure`` naming the
notebook and the cell; the failed notebook is kept as ``{name}.failed.ipynb``.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import json
import shutil
import time
from pathlib import Path
from typing import Any, Callable, Iterable

import nbformat
import papermill
from tqdm.auto import tqdm

from hybridlib.io import atomic_path, atomic_write_json, package_versions
from hybridlib.runner.plan import Execution

KERNEL = "python3"
PACKAGE_DIR = Path(__file__).resolve().parents[1]  # .../hybridlib
# top-level packages of the project whose sources key the cache (``benchmarks`` sits beside
# ``hybridlib`` in a checkout; an installed hybridlib has none, and nothing is tracked there)
TRACKED_PACKAGES = ("hybridlib", "benchmarks")


class NotebookFailure(RuntimeError):
    """A notebook failed; ``notebook``, ``execution``, ``cell_index`` and ``source`` say where."""

    def __init__(self, execution: str, notebook: str, cell_index: int | None, source: str,
                 error: str, failed_copy: Path | None):
        self.execution, self.notebook, self.cell_index = execution, notebook, cell_index
        self.source, self.error, self.failed_copy = source, error, failed_copy
        first_line = source.strip().splitlines()[0] if source.strip() else "<empty>"
        where = f"cell {cell_index}" if cell_index is not None else "before any cell ran"
        super().__init__(
            f"notebook {notebook} (execution {execution!r}) failed in {where} "
            f"[{first_line}]: {error}"
            + (f"\nexecuted copy with the traceback: {failed_copy}" if failed_copy else "")
        )


class ParameterError(ValueError):
    """A parameter given to a notebook that its parameters cell does not declare."""


@dataclasses.dataclass
class ExecutionRecord:
    name: str
    notebook: str
    status: str  # "executed" | "cached"
    key: str
    parameters: dict[str, Any]
    seconds: float  # wall time of the execution that produced the notebook
    output: str  # executed notebook, relative to the store


# ---------------------------------------------------------------------------------------------
# code version: the hybridlib modules a notebook depends on


def _imports(source: str, module: str | None = None) -> set[str]:
    """Absolute names of the project's modules (``hybridlib``, ``benchmarks``) imported by ``source``.

    ``module`` (the importing module's name) resolves relative imports.
    """
    lines = [l for l in source.splitlines() if not l.lstrip().startswith(("%", "!"))]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level and module:
                package = module.split(".")
                package = package[: len(package) - node.level + (1 if _is_package(module) else 0)]
                base = ".".join(package + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            names.add(base)
            names.update(f"{base}.{a.name}" for a in node.names)
    return {n for n in names if n.split(".")[0] in TRACKED_PACKAGES}


def _module_file(module: str) -> Path | None:
    base = PACKAGE_DIR.parent.joinpath(*module.split("."))
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    return None


def _is_package(module: str) -> bool:
    file = _module_file(module)
    return file is not None and file.name == "__init__.py"


def dependency_files(sources: Iterable[str]) -> list[Path]:
    """Source files of every ``hybridlib`` module reachable from ``sources``' imports.

    Parents' ``__init__.py`` are included (importing ``a.b`` runs ``a/__init__.py``), and so
    are data files (non-Python) beside any included module.
    """
    pending = set().union(*(_imports(s) for s in sources)) if sources else set()
    seen: set[str] = set()
    files: set[Path] = set()
    while pending:
        module = pending.pop()
        if module in seen:
            continue
        seen.add(module)
        parts = module.split(".")
        pending.update(".".join(parts[:i]) for i in range(1, len(parts)))
        file = _module_file(module)
        if file is None:
            continue  # an attribute, not a module
        files.add(file)
        pending.update(_imports(file.read_text(encoding="utf-8"), module))
    for folder in {f.parent for f in files}:
        files.update(
            p for p in folder.iterdir()
            if p.is_file() and p.suffix not in {".py", ".pyc"} and not p.name.startswith(".")
        )
    return sorted(files)


def code_version(sources: Iterable[str]) -> dict[str, str]:
    """``{path relative to the package's parent: sha256}`` of the files ``sources`` depend on."""
    return {
        str(p.relative_to(PACKAGE_DIR.parent)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in dependency_files(list(sources))
    }


# ---------------------------------------------------------------------------------------------
# parameters and keys


def notebook_sources(path: Path) -> list[tuple[str, str, list[str]]]:
    """``(cell_type, source, tags)`` of every cell: the content the cache key depends on
    (tags decide what the book shows)."""
    nb = nbformat.read(path, as_version=4)
    return [(cell.cell_type, cell.source, list(cell.metadata.get("tags", []))) for cell in nb.cells]


def declared_parameters(path: Path) -> set[str]:
    """Names assigned in the cell tagged ``parameters`` (papermill's own inspection)."""
    return set(papermill.inspect_notebook(str(path)))


def resolve_parameters(execution: Execution, root: Path) -> dict[str, Any]:
    """Explicit parameters (each must be declared) plus the offered ones that are declared."""
    template = root / execution.notebook
    if not template.is_file():
        raise FileNotFoundError(f"execution {execution.name!r}: notebook {template} not found")
    declared = declared_parameters(template)
    undeclared = sorted(set(execution.parameters) - declared)
    if undeclared:
        raise ParameterError(
            f"notebook {execution.notebook} (execution {execution.name!r}) does not declare "
            f"parameter(s) {undeclared} in its 'parameters' cell; it declares {sorted(declared)}"
        )
    offered = {k: v for k, v in execution.offered.items() if k in declared}
    return {**offered, **execution.parameters}


def cache_key(execution: Execution, root: Path, parameters: dict[str, Any],
              upstream_keys: list[str]) -> str:
    sources = notebook_sources(root / execution.notebook)
    payload = {
        "notebook": sources,
        "parameters": parameters,
        "code": code_version(s for kind, s, _ in sources if kind == "code"),
        "upstream": upstream_keys,
        "kernel": KERNEL,
    }
    blob = json.dumps(payload, sort_keys=True, default=str).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()


# ---------------------------------------------------------------------------------------------
# running


def _is_cached(stamp: Path, output: Path, key: str, execution: Execution, root: Path) -> dict | None:
    if not (stamp.is_file() and output.is_file()):
        return None
    try:
        record = json.loads(stamp.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    if record.get("key") != key:
        return None
    if not all((root / a).exists() for a in execution.artifacts):
        return None
    return record


def _hide_injected_parameters(path: Path) -> None:
    """Tag papermill's injected cell ``hide-cell``: the book shows it behind a toggle."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if "injected-parameters" in tags and "hide-cell" not in tags:
            cell.metadata["tags"] = [*tags, "hide-cell"]
    nbformat.write(nb, path)


def execute_one(execution: Execution, root: Path, output: Path, parameters: dict[str, Any]) -> float:
    """Run one notebook into ``output`` atomically; returns wall seconds."""
    started = time.perf_counter()
    with atomic_path(output) as target:
        tmp = target.with_name("executed.ipynb")  # papermill wants the .ipynb suffix
        try:
            papermill.execute_notebook(
                str(root / execution.notebook),
                str(tmp),
                parameters=parameters,
                kernel_name=KERNEL,
                cwd=str(root),
                progress_bar=False,
                log_output=False,
            )
        except papermill.PapermillExecutionError as error:
            failed = output.with_name(output.stem + ".failed.ipynb")
            if tmp.is_file():
                shutil.copyfile(tmp, failed)
            raise NotebookFailure(
                execution.name, execution.notebook, error.cell_index, error.source,
                f"{error.ename}: {error.evalue}", failed if failed.exists() else None,
            ) from None
        _hide_injected_parameters(tmp)
        tmp.rename(target)
    output.with_name(output.stem + ".failed.ipynb").unlink(missing_ok=True)  # stale by now
    return time.perf_counter() - started


def run_executions(
    executions: list[Execution],
    root: str | Path,
    store: str | Path,
    *,
    force: bool = False,
    progress: bool = True,
    on_record: Callable[[list[ExecutionRecord]], None] | None = None,
) -> list[ExecutionRecord]:
    """Execute (or reuse) every execution in order; returns one record per execution.

    ``store`` receives ``{name}.ipynb``, ``{name}.json`` and ``manifest.json`` (the records so
    far, updated after every execution so a notebook can show the table of earlier ones).
    """
    root, store = Path(root).resolve(), Path(store).resolve()
    keys: dict[str, str] = {}
    records: list[ExecutionRecord] = []
    bar = tqdm(executions, desc="notebooks", unit="nb", disable=not progress)
    for execution in bar:
        bar.set_postfix_str(execution.name)
        missing = [d for d in execution.depends_on if d not in keys]
        if missing:
            raise ValueError(f"execution {execution.name!r} depends on {missing}, not run before it")
        parameters = resolve_parameters(execution, root)
        key = cache_key(execution, root, parameters, [keys[d] for d in execution.depends_on])
        output = store / f"{execution.name}.ipynb"
        stamp = store / f"{execution.name}.json"
        cached = None if force else _is_cached(stamp, output, key, execution, root)
        if cached is not None:
            seconds, status = float(cached.get("seconds", 0.0)), "cached"
        else:
            # Outputs of a finished run with another key are stale; those of an interrupted run
            # are kept only where the notebook resumes from them.
            if stamp.is_file() or not execution.resumable:
                for artifact in execution.artifacts:
                    shutil.rmtree(root / artifact, ignore_errors=True)
            seconds, status = execute_one(execution, root, output, parameters), "executed"
            atomic_write_json(
                stamp,
                {"key": key, "name": execution.name, "notebook": execution.notebook,
                 "parameters": parameters, "seconds": seconds,
                 "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                 "packages": package_versions()},
            )
        keys[execution.name] = key
        records.append(ExecutionRecord(execution.name, execution.notebook, status, key,
                                       parameters, seconds, f"{execution.name}.ipynb"))
        atomic_write_json(store / "manifest.json", [dataclasses.asdict(r) for r in records])
        if on_record is not None:
            on_record(records)
    return records
