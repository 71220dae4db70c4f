"""Atomic writes and provenance: the one home for both.

Every result, cache entry, checkpoint and download is written to a temporary name in the
destination folder and renamed into place, so an interrupted process leaves either the old
file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

TRACKED_PACKAGES = (
    "hybridlib",
    "torch",
    "transformers",
    "tokenizers",
    "numpy",
    "pandas",
    "faiss-cpu",
    "bm25s",
    "scipy",
)


@contextlib.contextmanager
def atomic_path(destination: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``destination``; rename it into place on success.

    Works for files and folders: whatever the body writes at the yielded path replaces
    ``destination`` atomically (a folder is replaced by rename after removing the old one).
    On an exception the temporary path is removed and ``destination`` is untouched.
    """
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(
        tempfile.mkdtemp(prefix=f".{destination.name}.", suffix=".tmp", dir=destination.parent)
    )
    target = tmp / "payload"
    try:
        yield target
        if target.is_dir() and destination.is_dir():
            shutil.rmtree(destination)
        os.replace(target, destination)
    except (OSError, RuntimeError) as error:
        shutil.rmtree(tmp, ignore_errors=True)  # free the space first, then say why
        if _disk_full(error, destination.parent):
            raise OSError(
                errno.ENOSPC, "No space left on device (the disk is full)", str(destination)
            ) from error
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _disk_full(error: BaseException, folder: Path) -> bool:
    """Whether a failed write ran out of disk (libraries' C++ streams say only "iostream error")."""
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    try:
        return shutil.disk_usage(folder).free < 1 << 20
    except OSError:
        return False


LOCK_FILE = ".hybridlib.lock"  # in a folder that one process at a time writes


class FolderBusyError(OSError):
    """Another process is writing the folder (it holds the folder's lock)."""


@contextlib.contextmanager
def only_writer(folder: str | os.PathLike[str], what: str) -> Iterator[Path]:
    """Hold ``folder``'s lock (:data:`LOCK_FILE`, an ``flock`` released when the process ends,
    however it ends) while the body writes the folder; raise :class:`FolderBusyError` at once,
    naming the other process (pid, command, since when), when another holds it. ``what``
    names the folder in the message ("training output", "book execution")."""
    import fcntl

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK_FILE, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise FolderBusyError(
                f"{what} {folder} is being written by {holder}; wait for it to end, or "
                "write elsewhere (one writer per folder: two would mix their files)"
            ) from None
        handle.seek(0)
        handle.truncate()
        started = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
        handle.write(f"process {os.getpid()} ({' '.join(sys.argv)[:200]}) since {started}\n")
        handle.flush()
        try:
            yield folder
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def refuse_book_folder(
    path: str | os.PathLike[str], what: str, project_root: str | os.PathLike[str] | None = None
) -> None:
    """Raise ``ValueError`` when ``path`` lies in a book's folder ``runs/<profile>/``: one that
    holds the book's ``notebooks/manifest.json``, or any ``runs/<profile>/`` of
    ``project_root`` (a book not built yet); ``runs/adhoc/`` is open. A book's results are its
    own executions' only, and a run written there from outside would be taken in."""
    root = Path(project_root).resolve() if project_root is not None else None
    resolved = Path(path).resolve() if root is None else (root / path).resolve()
    for folder in (resolved, *resolved.parents):
        if folder.parent.name != "runs" or folder.name == "adhoc":
            continue
        if (folder / "notebooks" / "manifest.json").is_file() or folder.parent.parent == root:
            shown = f"runs/{folder.name}/" if folder.parent.parent == root else str(folder)
            raise ValueError(
                f"{what} {path} lies in the {folder.name!r} book's folder {shown}, which holds "
                "only that book's own executions; write elsewhere (runs/adhoc/ is open), or "
                f"rerun it through `hybridlib book --profile {folder.name} --only NOTEBOOK -p ...`"
            )


# the most CPU threads a setting may ask for: above the hardware threads of any one machine
# today (two-socket servers have a few hundred), so it never limits a real run, yet a typo
# such as 100000 is refused at once instead of making OpenMP start that many threads. Not
# os.cpu_count(): a config written on one machine runs on others, and oversubscribing is
# legitimate (only slower).
MAX_THREADS = 1024


def check_threads(value: int, field: str) -> int:
    """``value`` as a CPU thread count: an integer in [1, :data:`MAX_THREADS`]; else
    ValueError naming ``field`` and the value."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_THREADS:
        raise ValueError(f"{field} = {value!r} must be an integer in [1, {MAX_THREADS}]")
    return value


def thread_count(text: str) -> int:
    """An argparse ``type`` for a thread count option (see :func:`check_threads`)."""
    import argparse

    try:
        return check_threads(int(text), "thread count")
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a thread count in [1, {MAX_THREADS}]"
        ) from error


def remove_stale_temporaries(
    folder: str | os.PathLike[str], name: str | None = None, *, older_than: float | None = None
) -> list[Path]:
    """Remove what :func:`atomic_path` left in ``folder`` when its process was killed (the
    hidden ``.<name>.<random>.tmp`` folders; only those of ``name`` when given). Call it when
    the same step runs again; returns what was removed. ``older_than`` (seconds): only
    temporaries last modified that long ago, where another process may be writing the same
    name at this moment (a shared cache)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    pattern = f".{name}.*.tmp" if name is not None else ".*.tmp"
    removed = [path for path in folder.glob(pattern) if path.is_dir()]
    if older_than is not None:
        now = time.time()
        removed = [path for path in removed if _age(path, now) >= older_than]
    for path in removed:
        shutil.rmtree(path, ignore_errors=True)
    return removed


def _age(path: Path, now: float) -> float:
    """Seconds since ``path`` or anything directly in it last changed (0 if it is gone)."""
    try:
        times = [path.stat().st_mtime, *(p.stat().st_mtime for p in path.iterdir())]
    except OSError:
        return 0.0
    return now - max(times)


def atomic_write_bytes(destination: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``destination`` atomically."""
    with atomic_path(destination) as tmp:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    return Path(destination)


def atomic_write_text(destination: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` to ``destination`` atomically."""
    return atomic_write_bytes(destination, text.encode("utf-8"))


def atomic_write_json(destination: str | os.PathLike[str], obj: Any) -> Path:
    """Write ``obj`` as indented, key-sorted JSON to ``destination`` atomically."""
    return atomic_write_text(
        destination, json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    )


def cache_root() -> Path:
    """Where models and embeddings are cached: ``$HYBRIDLIB_CACHE_DIR``, else ``~/.cache/hybridlib``."""
    root = os.environ.get("HYBRIDLIB_CACHE_DIR")
    return Path(root) if root else Path.home() / ".cache" / "hybridlib"


def contained(root: str | os.PathLike[str], path: str | os.PathLike[str], what: str) -> Path:
    """``path`` (under ``root``), refused with a ``ValueError`` naming ``what``, the path and the
    link when a symbolic link along it (the path itself included) leads out of ``root``: a cache
    or output folder never writes, and never deletes, through a link to another folder."""
    root, path = Path(root), Path(path)
    real_root = root.resolve()
    current = root
    for part in path.relative_to(root).parts:
        current = current / part
        if current.is_symlink() and real_root not in current.resolve().parents:
            raise ValueError(
                f"{what} {path}: {current} is a link to {current.resolve()}, outside "
                f"{real_root}; remove the link (hybridlib never writes or deletes through one)"
            )
    return path


_SHA256_OF: dict[tuple[str, int, int], str] = {}  # (path, size, mtime_ns) -> sha256, per process


def sha256_of_version(path: str | os.PathLike[str]) -> str:
    """:func:`sha256_file` of ``path``, hashed once per process per file version (its path,
    size and modification time): a file changed in place is hashed again."""
    stat = os.stat(path)
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _SHA256_OF:
        _SHA256_OF[key] = sha256_file(path)
    return _SHA256_OF[key]


def sha256_file(path: str | os.PathLike[str], chunk_size: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def code_version() -> str:
    """The git commit of the checkout (with ``+dirty`` if modified), or the package version."""
    root = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        return commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        from hybridlib import __version__

        return f"hybridlib-{__version__}"


def package_versions(names: tuple[str, ...] = TRACKED_PACKAGES) -> dict[str, str]:
    """Installed versions of the packages that shape results (missing ones are omitted)."""
    versions = {"python": sys.version.split()[0]}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def read_lock(path: str | os.PathLike[str]) -> dict[str, str]:
    """``{package: version}`` of a pip lock file of ``name==version`` lines (comments and
    blank lines skipped; names normalised as pip does: lower case, ``_``/``.`` to ``-``)."""
    locked: dict[str, str] = {}
    for number, raw in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, version = line.partition("==")
        if not sep or not name.strip() or not version.strip():
            raise ValueError(f"{path}, line {number}: expected 'name==version', but got {raw!r}")
        locked[_normalise(name)] = version.strip()
    return locked


def _normalise(name: str) -> str:
    return name.strip().lower().replace("_", "-").replace(".", "-")


def lock_differences(path: str | os.PathLike[str]) -> list[tuple[str, str, str | None]]:
    """The packages of the lock file whose installed version differs:
    ``(package, locked, installed)``, ``installed=None`` when it is missing."""
    differences = []
    for name, version in sorted(read_lock(path).items()):
        try:
            installed: str | None = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            differences.append((name, version, installed))
    return differences


def provenance(
    parameters: Mapping[str, Any] | None = None,
    *,
    seed: int | None = None,
    data_files: Mapping[str, str | os.PathLike[str]] | None = None,
) -> dict[str, Any]:
    """A provenance record: code version, parameters, seed, package versions, data hashes.

    ``data_files`` maps a label to a file whose SHA-256 is recorded.
    """
    return {
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "code_version": code_version(),
        "parameters": dict(parameters or {}),
        "seed": seed,
        "packages": package_versions(),
        "platform": platform.platform(),
        "data_sha256": {label: sha256_file(path) for label, path in (data_files or {}).items()},
    }


def did_you_mean(name: str, choices: Iterable[str], template: str = "; did you mean {!r}?") -> str:
    """``template`` filled with the choice closest to ``name`` (``difflib``, cutoff 0.6), or
    "" when none is close: the hint appended to an error about an unknown name."""
    import difflib

    close = difflib.get_close_matches(str(name), sorted(choices), n=1, cutoff=0.6)
    return template.format(close[0]) if close else ""


def load_yaml(text: str, source: str = "<yaml>") -> Any:
    """``yaml.safe_load``, except that a key given twice in one mapping is an error (YAML
    would keep the last silently): ``ValueError`` naming the source, the key and its lines."""
    import yaml

    class _UniqueKeyLoader(yaml.SafeLoader):
        pass

    def construct_mapping(
        loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False
    ) -> dict:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise ValueError(
                    f"{source}: key {key!r} is given twice (lines {seen[key]} and {line})"
                )
            seen[key] = line
        return loader.construct_mapping(node, deep=deep)

    _UniqueKeyLoader.add_constructor(
        yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping
    )
    return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
