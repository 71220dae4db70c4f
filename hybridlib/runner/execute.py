"""Execute planned notebooks with papermill, cached by content.

Each execution's cache key is the SHA-256 of
- the template's code and markdown (not its outputs or metadata),
- the parameters actually injected,
- the project's source files (``hybridlib``, ``benchmarks``) the notebook imports, followed
  transitively (``code_version``),
- the keys of the executions it depends on (a rerun upstream reruns what is downstream).

The store holds ``{name}.ipynb`` (the executed notebook) and ``{name}.json`` (its stamp, written
last, so a stamp means a finished execution; it is removed before an execution starts, so an
interrupted one leaves none). The stamp lists every file of the execution's declared
artifacts with its size and SHA-256; a rerun whose key matches a stamp, and whose artifacts
are all present and unchanged, is skipped. A failure stops the run with ``NotebookFailure`` naming the
notebook and the cell; the failed notebook is kept as ``{name}.failed.ipynb``.
"""

from __future__ import annotations

import ast
import atexit
import dataclasses
import functools
import hashlib
import json
import os
import shutil
import socket
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import nbformat
import papermill
from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import DeadKernelError
from tqdm.auto import tqdm
from traitlets import default

from hybridlib.io import atomic_path, atomic_write_json, package_versions, remove_stale_temporaries
from hybridlib.runner.plan import Execution

KERNEL = "python3"


KERNEL_FOLDER_PREFIX = "hybridlib-"  # <runtime>/hybridlib-<host>-<pid>: one process's kernels


def _host_tag() -> str:
    """8 hex digits of this host's name: a shared home folder (a cluster) holds the kernel
    folders of several hosts, and a process id means something on its own host only."""
    return hashlib.blake2b(socket.gethostname().encode(), digest_size=4).hexdigest()


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_dead_kernel_folders(runtime: str | os.PathLike[str] | None = None) -> list[Path]:
    """Remove this host's kernel folders whose process no longer runs: a book killed with
    SIGKILL cannot clean up, and leaves its kernels' connection files and sockets there.
    ``runtime``: the Jupyter runtime folder (None: ``jupyter_runtime_dir()``). Returns the
    folders removed; other programs' files and other hosts' folders are never touched."""
    from jupyter_core.paths import jupyter_runtime_dir

    mine = f"{KERNEL_FOLDER_PREFIX}{_host_tag()}-"
    removed = []
    for folder in sorted(Path(runtime or jupyter_runtime_dir()).glob(f"{mine}*")):
        pid = folder.name[len(mine) :]
        if folder.is_dir() and not folder.is_symlink() and pid.isdigit():
            if not _process_alive(int(pid)):
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
    return removed


@functools.cache
def kernel_folder() -> Path:
    """This process's folder for its kernels' connection files and IPC sockets,
    ``<Jupyter runtime folder>/hybridlib-<host>-<pid>`` (mode 700), made on first use after
    removing the folders of dead processes (:func:`remove_dead_kernel_folders`); removed when
    the process exits."""
    from jupyter_core.paths import jupyter_runtime_dir

    runtime = Path(jupyter_runtime_dir())
    remove_dead_kernel_folders(runtime)
    folder = runtime / f"{KERNEL_FOLDER_PREFIX}{_host_tag()}-{os.getpid()}"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    atexit.register(shutil.rmtree, folder, True)
    return folder


class LocalKernelManager(AsyncKernelManager):
    """Kernels reached over local IPC sockets instead of TCP ports, with their files in this
    process's :func:`kernel_folder`.

    The sockets are files there, so no other user or host can reach the kernel, and ipykernel
    has no "running over TCP without encryption" warning to print for every notebook of a
    build. The connection file lies there too (jupyter_client's default is a temporary file
    in /tmp), so a book killed before it could shut its kernels down leaves one folder, which
    the next book removes.
    """

    @default("connection_file")
    def _connection_file_default(self) -> str:
        # a name of its own per kernel: two kernels started at once (a Dask grid) never share
        return str(kernel_folder() / f"kernel-{uuid.uuid4().hex[:12]}.json")

    @default("transport")
    def _default_transport(self) -> str:
        # a socket path (the connection file's stem + "-ipc-N") must fit in 107 bytes
        return "ipc" if len(self.connection_file) + 1 <= 107 else "tcp"


PACKAGE_DIR = Path(__file__).resolve().parents[1]  # .../hybridlib
# top-level packages of the project whose sources key the cache (``benchmarks`` sits beside
# ``hybridlib`` in a checkout; an installed hybridlib has none, and nothing is tracked there)
TRACKED_PACKAGES = ("hybridlib", "benchmarks")


class NotebookFailure(RuntimeError):
    """A notebook failed; ``notebook``, ``execution``, ``cell_index`` and ``source`` say where."""

    def __init__(
        self,
        execution: str,
        notebook: str,
        cell_index: int | None,
        source: str,
        error: str,
        failed_copy: Path | None,
    ):
        self.execution, self.notebook, self.cell_index = execution, notebook, cell_index
        self.source, self.error, self.failed_copy = source, error, failed_copy
        first_line = source.strip().splitlines()[0] if source.strip() else "<empty>"
        where = f"cell {cell_index}" if cell_index is not None else "before any cell ran"
        super().__init__(
            f"notebook {notebook} (execution {execution!r}) failed in {where} "
            f"[{first_line}]: {error}"
            + (f"\nexecuted copy with the traceback: {failed_copy}" if failed_copy else "")
        )

    def __reduce__(self):  # rebuilt from its fields when it crosses processes (a Dask worker)
        return (
            type(self),
            (
                self.execution,
                self.notebook,
                self.cell_index,
                self.source,
                self.error,
                self.failed_copy,
            ),
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
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
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
            p
            for p in folder.iterdir()
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


def check_plan(executions: list[Execution], root: Path, profile: Any = None,
               train_fields: Iterable[str] | None = None,
               check_values: Callable[[Any], list[str]] | None = None) -> None:  # fmt: skip
    """Check a whole plan before anything runs, and report every problem at once.

    Each notebook must exist and declare every parameter given to it explicitly; every key of
    the profile's ``common`` must be declared by at least one of its notebooks (else it would
    be dropped without a word); the keys of ``experiment.train`` must be among ``train_fields``
    (the trainer's fields, given by the caller so the runner never imports the trainer);
    ``check_values(profile)`` (also the caller's) lists the problems of the profile's values
    (a batch size of 0, a NaN learning rate, an unknown suite or language). Raises
    :class:`ParameterError` listing all problems, each with a suggestion where one is close.
    """
    from hybridlib.io import did_you_mean

    problems: list[str] = []
    declared_anywhere: set[str] = set()
    for execution in executions:
        template = root / execution.notebook
        if not template.is_file():
            problems.append(
                f"execution {execution.name!r}: notebook {execution.notebook} not found"
            )
            continue
        declared = declared_parameters(template)
        declared_anywhere |= declared
        for name in sorted(set(execution.parameters) - declared):
            problems.append(f"notebook {execution.notebook} (execution {execution.name!r}) does not "
                            f"declare parameter {name!r}{did_you_mean(name, declared)}")  # fmt: skip
    if profile is not None:
        for name in sorted(set(profile.common) - declared_anywhere):
            problems.append(f"profile {profile.name!r}, common: no notebook declares {name!r}"
                            f"{did_you_mean(name, declared_anywhere)}")  # fmt: skip
        if profile.experiment is not None and train_fields is not None:
            fields = set(train_fields)
            for name in sorted(set(profile.experiment.train) - fields):
                problems.append(f"profile {profile.name!r}, experiment.train: {name!r} is not a "
                                f"trainer field{did_you_mean(name, fields)}")  # fmt: skip
        if check_values is not None:
            problems.extend(check_values(profile))
    if problems:
        raise ParameterError(f"{len(problems)} problem(s) in the plan, nothing was run:\n  - "
                             + "\n  - ".join(dict.fromkeys(problems)))  # fmt: skip


def cache_key(
    execution: Execution, root: Path, parameters: dict[str, Any], upstream_keys: list[str]
) -> str:
    sources = notebook_sources(root / execution.notebook)
    payload = {
        "notebook": sources,
        "parameters": parameters,
        "code": code_version(s for kind, s, _ in sources if kind == "code"),
        "upstream": upstream_keys,
        "kernel": KERNEL,
        "environment": package_versions(),  # a torch or numpy upgrade reruns the notebook
    }
    blob = json.dumps(payload, sort_keys=True, default=str).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()


# ---------------------------------------------------------------------------------------------
# running


HASHED_ARTIFACT_BYTES = 64 * 2**20  # larger artifact files are checked by size only


def artifact_manifest(root: Path, artifacts: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Every file under the declared artifacts but hidden ones (a lock, a temporary):
    ``{relative path: {"size", "sha256"}}`` (the hash for files up to
    :data:`HASHED_ARTIFACT_BYTES`). A missing artifact is an error."""
    from hybridlib.io import sha256_file

    manifest: dict[str, dict[str, Any]] = {}
    for artifact in artifacts:
        path = root / artifact
        if not path.exists():
            raise FileNotFoundError(f"the execution did not leave its declared artifact {artifact}")
        # hidden files are a folder's lock and temporaries, not what the execution made
        files = [path] if path.is_file() else sorted(
            p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")
        )  # fmt: skip
        for file in files:
            size = file.stat().st_size
            entry: dict[str, Any] = {"size": size}
            if size <= HASHED_ARTIFACT_BYTES:
                entry["sha256"] = sha256_file(file)
            manifest[file.relative_to(root).as_posix()] = entry
    return manifest


def _changed_packages(before: dict[str, str] | None, now: dict[str, str]) -> str:
    """``"torch 2.12.0 -> 2.13.0, ..."`` for the packages whose versions differ ('' if none)."""
    if not before:
        return ""
    names = sorted(name for name in set(before) | set(now) if before.get(name) != now.get(name))
    return ", ".join(f"{name} {before.get(name, '-')} -> {now.get(name, '-')}" for name in names)


def _stale_reason(record: dict[str, Any], root: Path, execution: Execution) -> str | None:
    """Why a finished execution's artifacts can no longer be trusted (None: they verify)."""
    try:
        found = artifact_manifest(root, execution.artifacts)
    except FileNotFoundError as error:
        return str(error)
    expected = record.get("artifacts")
    if expected is None:
        return "its stamp records no artifacts"
    for name in sorted(set(expected) | set(found)):
        if name not in found:
            return f"{name} is missing"
        if name not in expected:
            return f"{name} was not written by it"
        if found[name] != expected[name]:
            return f"{name} differs from what it wrote ({found[name]} != {expected[name]})"
    return None


def _is_cached(stamp: Path, output: Path, key: str, execution: Execution, root: Path,
               log: Callable[[str], None] | None = None) -> dict | None:  # fmt: skip
    """The stamp of a finished execution with this key whose artifacts all verify, else None."""
    if not (stamp.is_file() and output.is_file()):
        return None
    try:
        record = json.loads(stamp.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    if record.get("key") != key:
        changed = _changed_packages(record.get("packages"), package_versions())
        if changed and log is not None:
            log(f"{execution.name}: run again, package versions changed ({changed})")
        return None
    reason = _stale_reason(record, root, execution)
    if reason is not None:
        if log is not None:
            log(f"{execution.name}: run again, {reason}")
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


def _running_cell(path: Path) -> tuple[int | None, str]:
    """The index and source of the last cell that started in the partly executed notebook at
    ``path`` (papermill's ``start_time``): the one running when the kernel died; ``(None, "")``
    when none started."""
    try:
        nb = nbformat.read(path, as_version=4)
    except (OSError, ValueError):
        return None, ""
    started = [
        (index, cell.source)
        for index, cell in enumerate(nb.cells)
        if cell.get("metadata", {}).get("papermill", {}).get("start_time")
    ]
    return started[-1] if started else (None, "")


def execute_one(
    execution: Execution, root: Path, output: Path, parameters: dict[str, Any]
) -> float:
    """Run one notebook into ``output`` atomically; returns wall seconds."""
    started = time.perf_counter()
    # the kernels inherit this: no "Loading weights" progress bars from transformers or the hub in
    # the build's log (set it to 0 to see them)
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
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
                kernel_manager_class=LocalKernelManager,
            )
        except DeadKernelError as error:  # the kernel process died (killed, out of memory)
            failed = output.with_name(output.stem + ".failed.ipynb")
            index, source = _running_cell(tmp)
            if tmp.is_file():
                shutil.copyfile(tmp, failed)
            raise NotebookFailure(
                execution.name,
                execution.notebook,
                index,
                source,
                f"the kernel died ({type(error).__name__}: {error}); killed, or out of memory?",
                failed if failed.exists() else None,
            ) from None
        except papermill.PapermillExecutionError as error:
            failed = output.with_name(output.stem + ".failed.ipynb")
            if tmp.is_file():
                shutil.copyfile(tmp, failed)
            raise NotebookFailure(
                execution.name,
                execution.notebook,
                error.cell_index,
                error.source,
                f"{error.ename}: {error.evalue}",
                failed if failed.exists() else None,
            ) from None
        _hide_injected_parameters(tmp)
        tmp.rename(target)
    output.with_name(output.stem + ".failed.ipynb").unlink(missing_ok=True)  # stale by now
    return time.perf_counter() - started


def _remove(path: Path) -> None:
    """Remove a file or a folder tree, if present."""
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


# thread counts that Dask's nanny sets to 1 in its workers; a kernel inherits them, and a
# BLAS summing in another order gives other last digits: the build's own values are restored
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def _execute_and_stamp(
    execution: Execution,
    root: Path,
    store: Path,
    parameters: dict[str, Any],
    key: str,
    *finished: Any,
    environ: dict[str, str | None] | None = None,
) -> float:
    """Run one execution that is not cached and write its stamp; returns its seconds.

    ``finished``: what its dependencies returned (ignored; a Dask task starts after them).
    ``environ``: variables to set (None: unset) before the kernel starts (a Dask worker)."""
    for name, value in (environ or {}).items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    output = store / f"{execution.name}.ipynb"
    stamp = store / f"{execution.name}.json"
    # Outputs of a finished run with another key are stale; those of an interrupted run are
    # kept only where the notebook resumes from them.
    if stamp.is_file() or not execution.resumable:
        for artifact in execution.artifacts:
            _remove(root / artifact)
    # no stamp while it runs: an interrupted execution is never taken for a finished one
    stamp.unlink(missing_ok=True)
    remove_stale_temporaries(output.parent, output.name)  # a killed run's half notebook
    seconds = execute_one(execution, root, output, parameters)
    atomic_write_json(
        stamp,
        {"key": key, "name": execution.name, "notebook": execution.notebook,
         "parameters": parameters, "seconds": seconds,
         "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
         "packages": package_versions(),
         "artifacts": artifact_manifest(root, execution.artifacts)},
    )  # fmt: skip
    return seconds


def cached_executions(executions: list[Execution], root: str | Path, store: str | Path) -> set[str]:
    """The names of the executions that :func:`run_executions` would reuse now: their keys (in
    plan order, as it computes them) match a stamp in ``store`` whose artifacts verify."""
    root, store = Path(root).resolve(), Path(store).resolve()
    keys: dict[str, str] = {}
    cached: set[str] = set()
    for execution in executions:
        parameters = resolve_parameters(execution, root)
        key = keys[execution.name] = cache_key(
            execution, root, parameters, [keys[d] for d in execution.depends_on if d in keys]
        )
        output, stamp = store / f"{execution.name}.ipynb", store / f"{execution.name}.json"
        if _is_cached(stamp, output, key, execution, root) is not None:
            cached.add(execution.name)
    return cached


def _progress_bar(executions: list[Execution], weights: dict[str, float] | None,
                  progress: bool) -> Any:  # fmt: skip
    """The build's one bar: in estimated seconds of work when ``weights`` are given (each
    execution advances it by its estimate when it finishes), else in notebooks. Its rate is
    the average since the start (``smoothing=0``), so the remaining time is the work left at
    the pace of the work done (a factor of 2 against the estimate shows as a rate of 0.5)."""
    if weights is None:
        return tqdm(total=len(executions), desc="notebooks", unit="nb", disable=not progress)
    total = sum(max(weights.get(e.name, 0.0), 0.0) for e in executions)
    return tqdm(total=round(total, 1), desc="build", unit=" est. s", smoothing=0, disable=not progress,
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} estimated s "
                           "[{elapsed} elapsed, {remaining} left at {rate_fmt}]")  # fmt: skip


def run_executions(
    executions: list[Execution],
    root: str | Path,
    store: str | Path,
    *,
    force: bool = False,
    progress: bool = True,
    on_record: Callable[[list[ExecutionRecord]], None] | None = None,
    client: Any | None = None,
    weights: dict[str, float] | None = None,
) -> list[ExecutionRecord]:
    """Execute (or reuse) every execution; returns one record per execution, in plan order.

    ``store`` receives ``{name}.ipynb``, ``{name}.json`` and ``manifest.json`` (the records of
    the finished executions in plan order, updated after every execution, so a notebook can
    show the table of those it depends on).

    ``client``: a ``dask.distributed.Client``. The executions that are not cached then run as
    tasks of its cluster (a ``LocalCluster`` of processes, or workers on SLURM or Kubernetes
    through dask-jobqueue / dask-kubernetes, sharing this file system), each task after the
    executions it depends on, independent ones at the same time; without it, one after another
    in plan order. The keys, caches and results are the same either way: a key depends on the
    notebook, parameters, imported code and the keys of its dependencies, never on the order.

    ``weights``: ``{name: estimated seconds}`` (:func:`hybridlib.runner.cost.estimate_plan`,
    0 for a cached execution): the one progress bar of the build then counts estimated work,
    each execution advancing it by its weight when it finishes (a cached one at once), so its
    remaining time is honest; without them, it counts notebooks.
    """
    root, store = Path(root).resolve(), Path(store).resolve()
    keys: dict[str, str] = {}
    parameters_of: dict[str, dict[str, Any]] = {}
    done: dict[str, ExecutionRecord] = {}
    pending: list[Execution] = []
    bar = _progress_bar(executions, weights, progress)

    def finish(execution: Execution, status: str, seconds: float) -> None:
        done[execution.name] = ExecutionRecord(
            execution.name, execution.notebook, status, keys[execution.name],
            parameters_of[execution.name], seconds, f"{execution.name}.ipynb")  # fmt: skip
        records = [done[e.name] for e in executions if e.name in done]
        atomic_write_json(store / "manifest.json", [dataclasses.asdict(r) for r in records])
        bar.update(1 if weights is None else round(max(weights.get(execution.name, 0.0), 0.0), 1))
        if on_record is not None:
            on_record(records)

    for execution in executions:  # keys and cache checks, in plan order (cheap)
        missing = [d for d in execution.depends_on if d not in keys]
        if missing:
            raise ValueError(
                f"execution {execution.name!r} depends on {missing}, not run before it"
            )
        parameters = parameters_of[execution.name] = resolve_parameters(execution, root)
        key = keys[execution.name] = cache_key(
            execution, root, parameters, [keys[d] for d in execution.depends_on]
        )
        output, stamp = store / f"{execution.name}.ipynb", store / f"{execution.name}.json"
        cached = None if force else _is_cached(stamp, output, key, execution, root, log=bar.write)
        if cached is not None:
            finish(execution, "cached", float(cached.get("seconds", 0.0)))
        elif client is None:  # one after another: run it now, before checking the next
            bar.set_postfix_str(execution.name)
            seconds = _execute_and_stamp(execution, root, store, parameters, key)
            bar.write(f"{execution.name}: executed in {seconds:.0f} s")
            finish(execution, "executed", seconds)
        else:
            pending.append(execution)

    if pending:
        from distributed import as_completed

        assert client is not None  # executions are pending only when a client runs them
        futures: dict[str, Any] = {}
        environ = {name: os.environ.get(name) for name in THREAD_VARIABLES}
        for execution in pending:
            inputs = [futures[d] for d in execution.depends_on if d in futures]
            futures[execution.name] = client.submit(
                _execute_and_stamp, execution, root, store, parameters_of[execution.name],
                keys[execution.name], *inputs, environ=environ,
                key=f"{execution.name}-{keys[execution.name][:12]}", pure=False, retries=0,
            )  # fmt: skip
        by_future = {future.key: name for name, future in futures.items()}
        named = {e.name: e for e in pending}
        for future in as_completed(list(futures.values())):
            name = by_future[future.key]
            if future.status == "error":
                error = future.exception()  # the execution's error (NotebookFailure)
                for other in futures.values():
                    if other.key != future.key:
                        other.cancel()
                raise error
            seconds = future.result()
            bar.write(f"{name}: executed in {seconds:.0f} s")
            finish(named[name], "executed", seconds)
    bar.close()
    return [done[e.name] for e in executions]
