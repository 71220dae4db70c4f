"""Shared test set-up: where the real data live, which tests are slow, a fresh cache."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = REPO_ROOT.parent / "shared" / "data"
# a test using one of these (directly or through another fixture) reads the real data sets
# or builds the embedded model: it is marked ``slow`` (CI runs it; ``-m "not slow"`` does not)
REAL_FIXTURES = frozenset({"real_data_dir", "embedded", "embedded_folder", "embedded_cache"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``slow`` every test whose fixtures include one of :data:`REAL_FIXTURES`."""
    for item in items:
        if REAL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """The real benchmark folder (``HYBRIDLIB_DATA_DIR`` or ``../shared/data``).

    Fails, never skips, when it is missing: CI always has it.
    """
    path = Path(os.environ.get("HYBRIDLIB_DATA_DIR", DEFAULT_DATA_DIR))
    assert (path / "xquad-r").is_dir(), f"real data not found at {path}; set HYBRIDLIB_DATA_DIR"
    return path


@pytest.fixture(autouse=True, scope="session")
def isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every test session caches models and embeddings in a fresh folder, never the user's."""
    path = tmp_path_factory.mktemp("hybridlib-cache")
    previous = os.environ.get("HYBRIDLIB_CACHE_DIR")
    os.environ["HYBRIDLIB_CACHE_DIR"] = str(path)
    yield path
    if previous is None:
        os.environ.pop("HYBRIDLIB_CACHE_DIR", None)
    else:
        os.environ["HYBRIDLIB_CACHE_DIR"] = previous
