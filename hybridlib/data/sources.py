"""Where the data live and where they come from.

Every file under ``HYBRIDLIB_DATA_DIR`` is listed with its SHA-256 in the package file
``hybridlib/data/SHA256SUMS`` (a copy of the data folder's ``SHA256SUMS``). A loader asks
:func:`require` for the files it reads; a missing file is downloaded from its pinned public
source (``{base_url}/{repository}/{commit}/{path}``, GitHub's raw file server by default),
checked against its SHA-256 and renamed into place, or, offline, reported in one error that
says what is missing and how to set ``HYBRIDLIB_DATA_DIR``.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from tqdm.auto import tqdm

from hybridlib.data.errors import DataError
from hybridlib.io import atomic_path, sha256_file, sha256_of_version

ENV_DATA_DIR = "HYBRIDLIB_DATA_DIR"
ENV_OFFLINE = "HYBRIDLIB_OFFLINE"  # "1": never try to download
ENV_BASE_URL = "HYBRIDLIB_DATA_BASE_URL"  # another raw file server (a mirror)
ENV_VERIFY = "HYBRIDLIB_VERIFY_DATA"  # "0": loaders skip the SHA-256 check (synthetic test roots)
GITHUB_RAW = "https://raw.githubusercontent.com"


@dataclass(frozen=True)
class Source:
    """A data set's pinned public source: ``repository`` at ``commit``, files under ``path``.

    ``repository`` is ``None`` for a set that has no single public file to download.
    """

    folder: str
    repository: str | None
    commit: str | None
    path: str | None
    license: str
    note: str = ""

    def remote_path(self, name: str) -> str:
        """The path in the repository of the file ``name`` (relative to ``folder``)."""
        if self.path is None:
            raise ValueError(f"{self.folder} has no pinned file source")
        if self.folder == "tydiqa-goldp":  # language_data/{language}/{language}_tydiqa_{split}.json
            return f"{self.path}/{name.split('_')[0]}/{name}"
        return f"{self.path}/{name}"


SOURCES: dict[str, Source] = {
    source.folder: source
    for source in (
        Source("xquad-r", "google-research-datasets/lareqa",
               "9bc8c7fb6dd8d01d72a05a93c2cb96882b0d299c", "xquad-r", "CC BY-SA 4.0"),
        Source("mlqa-r", "google-research-datasets/lareqa",
               "354d67d1cd066854cdfbf5ad0e6105528976141d", "mlqa-r", "CC BY-NC 4.0"),
        Source("tatoeba", "facebookresearch/LASER",
               "74bc6ae7ffb7cba670fe0f428d0ede9f666fb821", "data/tatoeba/v1",
               "Tatoeba terms (CC BY 2.0 FR)"),
        Source("tydiqa-goldp", "sagorbrur/tydiqa-language-specific",
               "55c6649475e0765f717a6d32a173c6664096a8ce", "language_data",
               "Apache-2.0 (repository)"),
        Source("multi30k", "multi30k/dataset",
               "a3d2e0d26b56f3846f66a952536ffed4e401d05a", "data/task1/raw",
               "research use (Flickr30K terms)"),
        Source("beir/scifact", None, None, None, "CC BY-NC 2.0",
               note="rebuilt into the BEIR layout from the SciFact release (corpus) and "
               "Kirloxious/CSI4107_Assignment2@640c17fd (queries, qrels); no single file "
               "to download: copy the beir/scifact folder of the project's data into "
               "HYBRIDLIB_DATA_DIR"),
        Source("beir/scifact-mt", None, None, None, "CC BY-NC 2.0 (as SciFact)",
               note="SciFact's claims and corpus machine-translated offline by Apertium 3.8.3 "
               "(rule-based) with the data folder's beir/scifact-mt/translate.py; no file to "
               "download: copy the beir/scifact-mt folder of the project's data into "
               "HYBRIDLIB_DATA_DIR"),
        Source("tico-19", "tico-19/tico-19.github.io",
               "d97615f9cffa28ec7de571e00fbd513e5a1c7fc7", "data/TM", "CC0 1.0"),
        Source("xm3600", None, None, None, "CC BY 4.0 (Google LLC; Thapliyal et al. 2022)",
               note="rebuilt into XM3600's published layout by the data folder's "
               "xm3600/build_captions.py from google/crossmodal-3600@ad44c380 (image keys) and "
               "uriberger/cross_lingual_diff_in_descs@9379b75e (captions); no single file to "
               "download: copy the xm3600 folder of the project's data into HYBRIDLIB_DATA_DIR"),
    )
}  # fmt: skip


@lru_cache(maxsize=1)
def expected_sha256() -> dict[str, str]:
    """``{relative path: sha256}`` for every pinned file, from the package's SHA256SUMS."""
    text = resources.files("hybridlib.data").joinpath("SHA256SUMS").read_text("utf-8")
    hashes = {}
    for line in text.splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            hashes[name.strip().removeprefix("./")] = digest
    return hashes


def source_of(relative: str) -> Source:
    """The pinned source of the data file ``relative`` (e.g. ``"xquad-r/en.json"``)."""
    for folder in sorted(SOURCES, key=len, reverse=True):
        if relative.startswith(folder + "/"):
            return SOURCES[folder]
    raise DataError(
        "SHA256SUMS", "path", relative, f"belongs to no known data set ({', '.join(SOURCES)})"
    )


def data_dir() -> Path:
    """The data folder: ``$HYBRIDLIB_DATA_DIR``, which must be set and exist."""
    value = os.environ.get(ENV_DATA_DIR)
    if not value:
        raise DataError(
            "environment",
            ENV_DATA_DIR,
            DataError.MISSING,
            "is not set: point it at the folder that holds xquad-r/, mlqa-r/, tatoeba/, ... "
            "(in this project: export HYBRIDLIB_DATA_DIR=../shared/data), "
            "or pass root= to the loader",
        )
    path = Path(value).expanduser()
    if not path.is_dir():
        raise DataError("environment", ENV_DATA_DIR, value, "is not a folder")
    return path


def resolve_root(root: str | os.PathLike[str] | None) -> Path:
    """``root`` as a Path, or :func:`data_dir` when it is ``None``."""
    return Path(root) if root is not None else data_dir()


def _offline_error(root: Path, missing: list[str], reason: str) -> DataError:
    shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
    return DataError(
        root,
        "missing files",
        len(missing),
        f"({shown}) are not there and cannot be downloaded ({reason}); set "
        f"{ENV_DATA_DIR} to a folder that has them (in this project: ../shared/data)",
    )


def require(
    relative_paths: Iterable[str],
    root: str | os.PathLike[str] | None = None,
    *,
    base_url: str | None = None,
    online: bool | None = None,
) -> list[Path]:
    """The local paths of ``relative_paths`` under ``root``, downloading the missing ones.

    ``base_url=None`` means ``$HYBRIDLIB_DATA_BASE_URL`` or GitHub's raw file server;
    ``online=None`` means "try unless ``HYBRIDLIB_OFFLINE=1``". A file without a pinned
    source (BEIR SciFact), or a failed connection, raises one :class:`DataError` listing
    what is missing.
    """
    root = resolve_root(root)
    relative_paths = list(relative_paths)
    missing = [rel for rel in relative_paths if not (root / rel).is_file()]
    if missing:
        if online is None:
            online = os.environ.get(ENV_OFFLINE, "") not in {"1", "true", "yes"}
        for rel in missing:
            if rel not in expected_sha256():
                raise _offline_error(root, missing, f"{rel} has no pinned source")
            if source_of(rel).repository is None:
                raise _offline_error(root, missing, source_of(rel).note)
        if not online:
            raise _offline_error(root, missing, f"offline: online=False or {ENV_OFFLINE}=1")
        base_url = base_url or os.environ.get(ENV_BASE_URL) or GITHUB_RAW
        for rel in tqdm(missing, desc="downloading data", unit="file", disable=len(missing) < 2):
            download(rel, root, base_url=base_url, missing=missing)
    if os.environ.get(ENV_VERIFY, "1") not in {"0", "false", "no"}:
        for rel in relative_paths:
            check_pinned(root, rel)
    return [root / rel for rel in relative_paths]


def check_pinned(root: Path, relative: str) -> None:
    """Raise :class:`DataError` if a pinned file's SHA-256 is not the pinned one (a file
    changed in place is never read silently). Hashed once per process per file version."""
    expected = expected_sha256().get(relative)
    if expected is None:
        return
    path = root / relative
    actual = sha256_of_version(path)
    if actual != expected:
        raise DataError(
            path, "sha256", actual,
            f"differs from the pinned {expected} (hybridlib/data/SHA256SUMS): the file was "
            f"changed or is another version; restore it (`hybridlib data fetch`) or set "
            f"{ENV_VERIFY}=0 to read it anyway",
        )  # fmt: skip


def known_folders() -> list[str]:
    """The data folders with pinned files (``xquad-r``, ``beir/scifact``, ...)."""
    return sorted(SOURCES)


def check_folders(folders: Iterable[str] | None) -> None:
    """Raise ``ValueError`` naming a folder that holds no pinned data set (with a suggestion)."""
    from hybridlib.io import did_you_mean

    for folder in folders or ():
        if folder not in SOURCES:
            raise ValueError(f"unknown data folder {folder!r}{did_you_mean(folder, SOURCES)} "
                             f"(known: {', '.join(known_folders())})")  # fmt: skip


def url_of(relative: str, base_url: str = GITHUB_RAW) -> str:
    """The pinned download URL of the data file ``relative``."""
    source = source_of(relative)
    name = relative[len(source.folder) + 1 :]
    return f"{base_url.rstrip('/')}/{source.repository}/{source.commit}/{source.remote_path(name)}"


def download(
    relative: str,
    root: str | os.PathLike[str],
    *,
    base_url: str = GITHUB_RAW,
    timeout: float = 60.0,
    missing: list[str] | None = None,
) -> Path:
    """Download ``relative`` into ``root`` from its pinned source and check its SHA-256.

    The file is written to a temporary name and renamed only when its hash matches; on any
    failure nothing is left behind (no file, no temporary, no new empty folder).
    """
    root = Path(root)
    expected = expected_sha256().get(relative)
    if expected is None:
        raise DataError("SHA256SUMS", "path", relative, "has no pinned SHA-256")
    url = url_of(relative, base_url)
    destination = root / relative
    new_folders = [f for f in destination.parents if not f.exists() and root in f.parents]
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            with atomic_path(destination) as tmp:
                digest = hashlib.sha256()
                with open(tmp, "wb") as handle:
                    for chunk in iter(lambda: response.read(1 << 20), b""):
                        digest.update(chunk)
                        handle.write(chunk)
                    handle.flush()
                    os.fsync(handle.fileno())
                if digest.hexdigest() != expected:
                    raise DataError(
                        destination,
                        "sha256",
                        digest.hexdigest(),
                        f"does not match the pinned {expected} (downloaded from {url}); "
                        "nothing was written",
                    )
    except urllib.error.HTTPError as error:
        _remove_new_empty(new_folders)
        raise DataError(
            destination, "download status", error.code, f"from {url} ({error.reason})"
        ) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        _remove_new_empty(new_folders)
        reason = getattr(error, "reason", error)
        raise _offline_error(root, missing or [relative], f"{url}: {reason}") from None
    except BaseException:
        _remove_new_empty(new_folders)
        raise
    return destination


def _remove_new_empty(folders: list[Path]) -> None:
    """Remove the folders a failed download created (deepest first) if they are empty."""
    for folder in folders:
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


def verify(
    root: str | os.PathLike[str] | None = None, folders: Iterable[str] | None = None
) -> dict[str, str]:
    """Check every pinned file (of ``folders``, default all) under ``root``.

    Returns ``{relative path: problem}`` for the files that are missing or whose SHA-256
    differs; an empty dict means all is well.
    """
    root = resolve_root(root)
    check_folders([f.rstrip("/") for f in folders] if folders else None)
    wanted = tuple(f.rstrip("/") + "/" for f in folders) if folders else None
    problems = {}
    for relative, expected in sorted(expected_sha256().items()):
        if wanted and not relative.startswith(wanted):
            continue
        path = root / relative
        if not path.is_file():
            problems[relative] = "missing"
        elif (actual := sha256_file(path)) != expected:
            problems[relative] = f"sha256 {actual} != pinned {expected}"
    return problems


def verification_report(root: str | os.PathLike[str] | None = None) -> list[dict[str, object]]:
    """:func:`verify` folder by folder: one row per data folder with pinned files, with
    ``folder``, ``pinned`` (files whose SHA-256 the library pins), ``matching`` (present with
    that SHA-256) and ``problem`` (the first file missing or changed and how, with the count
    of the others; ``""`` when every file matches)."""
    problems = verify(root)
    pinned = expected_sha256()
    rows: list[dict[str, object]] = []
    for folder in known_folders():
        files = [name for name in pinned if source_of(name).folder == folder]
        bad = sorted(name for name in problems if source_of(name).folder == folder)
        problem = f"{bad[0]}: {problems[bad[0]]}" if bad else ""
        if len(bad) > 1:
            problem += f" (and {len(bad) - 1} more)"
        if files:
            rows.append({"folder": folder, "pinned": len(files),
                         "matching": len(files) - len(bad), "problem": problem})  # fmt: skip
    return rows
