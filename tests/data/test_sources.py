"""The data folder's sources (hybridlib.data.sources): pinned URLs and hashes, download on demand,
and what a missing file says offline."""

from __future__ import annotations

import functools
import hashlib
import http.server
import shutil
import socket
import threading
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest

from hybridlib.data import (
    DataError,
    data_dir,
    load_beir,
    load_lareqa,
    load_tatoeba,
)
from hybridlib.data.sources import (
    SOURCES,
    download,
    expected_sha256,
    known_folders,
    require,
    url_of,
    verification_report,
    verify,
)
from hybridlib.io import sha256_file

from .conftest import assert_names

AFR = ["tatoeba/tatoeba.afr-eng.afr", "tatoeba/tatoeba.afr-eng.eng"]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def file_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """(base URL, served folder) of a threaded HTTP server on 127.0.0.1."""
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", served
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _publish(served: Path, relative: str, data: bytes) -> None:
    """Put ``data`` where the pinned URL of ``relative`` points on the served folder."""
    path = served / url_of(relative, base_url="").lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _all_files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_missing_files_offline_say_what_and_how(tmp_path: Path) -> None:
    with pytest.raises(DataError) as caught:
        load_lareqa("xquad-r", languages=["de"], root=tmp_path)
    message = str(caught.value)
    assert "xquad-r/de.json, xquad-r/en.json" in message
    assert "HYBRIDLIB_DATA_DIR" in message and "offline" in message
    assert_names(caught.value, tmp_path, "missing files", 2)


def test_pinned_urls() -> None:
    assert url_of("xquad-r/en.json") == (
        "https://raw.githubusercontent.com/google-research-datasets/lareqa/"
        "9bc8c7fb6dd8d01d72a05a93c2cb96882b0d299c/xquad-r/en.json"
    )
    assert url_of("tydiqa-goldp/korean_tydiqa_train.json", "http://mirror/") == (
        "http://mirror/sagorbrur/tydiqa-language-specific/"
        "55c6649475e0765f717a6d32a173c6664096a8ce/language_data/korean/korean_tydiqa_train.json"
    )
    assert url_of("multi30k/val.cs.gz").endswith(
        "multi30k/dataset/a3d2e0d26b56f3846f66a952536ffed4e401d05a/data/task1/raw/val.cs.gz"
    )
    hashes = expected_sha256()
    assert len(hashes) == 332 and hashes["xquad-r/en.json"].startswith("7b0954f3")
    assert {name.split("/")[0] for name in hashes} == {s.split("/")[0] for s in SOURCES}


def test_shipped_hashes_match_the_real_data(real_data_dir: Path) -> None:
    shipped = resources.files("hybridlib.data").joinpath("SHA256SUMS").read_text("utf-8")
    assert (real_data_dir / "SHA256SUMS").read_text("utf-8") == shipped
    assert verify(real_data_dir, ["xquad-r", "beir/scifact"]) == {}


def test_download_on_demand_then_load(
    file_server, real_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base_url, served = file_server
    for relative in AFR:
        _publish(served, relative, (real_data_dir / relative).read_bytes())
    root = tmp_path / "data"
    monkeypatch.setenv("HYBRIDLIB_OFFLINE", "0")
    monkeypatch.setenv("HYBRIDLIB_DATA_BASE_URL", base_url)
    suite = load_tatoeba("af", root=root)
    assert len(suite.queries) == 2 * 1000
    assert _all_files(root) == ["tatoeba", *AFR]  # no temporary left behind
    for relative in AFR:
        assert sha256_file(root / relative) == expected_sha256()[relative]
    # present now: a second load needs no server
    monkeypatch.setenv("HYBRIDLIB_OFFLINE", "1")
    assert len(load_tatoeba("af", root=root).queries) == 2000


def test_hash_mismatch_leaves_nothing_behind(file_server, tmp_path: Path) -> None:
    base_url, served = file_server
    relative = "xquad-r/LICENSE"
    _publish(served, relative, b"not the license\n")
    root = tmp_path / "data"
    root.mkdir()
    with pytest.raises(DataError, match="does not match the pinned") as caught:
        download(relative, root, base_url=base_url)
    actual = hashlib.sha256(b"not the license\n").hexdigest()
    assert caught.value.file == str(root / relative)
    assert (caught.value.field, caught.value.value) == ("sha256", actual)
    assert f"sha256 = '{actual}'" in str(caught.value)
    assert expected_sha256()[relative] in str(caught.value)
    assert _all_files(root) == []  # not the file, not a temporary, not the new folder


def test_404(file_server, tmp_path: Path) -> None:
    base_url, _ = file_server
    root = tmp_path / "data"
    with pytest.raises(DataError, match="download status = 404 from http://127.0.0.1") as caught:
        require(["mlqa-r/de.json"], root, base_url=base_url, online=True)
    assert caught.value.file == str(root / "mlqa-r/de.json")
    assert "/google-research-datasets/lareqa/354d67d1" in str(caught.value)
    assert not root.exists() or _all_files(root) == []


def test_unreachable_server_is_the_offline_error(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port on which nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(DataError, match="cannot be downloaded") as caught:
        require(AFR, tmp_path, base_url=f"http://127.0.0.1:{port}", online=True)
    message = str(caught.value)
    assert "tatoeba/tatoeba.afr-eng.afr, tatoeba/tatoeba.afr-eng.eng" in message
    assert "HYBRIDLIB_DATA_DIR" in message
    assert _all_files(tmp_path) == []


def test_scifact_must_be_provided(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no single file to download") as caught:
        load_beir("scifact", "test", root=tmp_path)
    assert "beir/scifact/corpus.jsonl" in str(caught.value)


def test_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("HYBRIDLIB_DATA_DIR", raising=False)
    with pytest.raises(DataError, match="HYBRIDLIB_DATA_DIR = <missing> is not set"):
        data_dir()
    monkeypatch.setenv("HYBRIDLIB_DATA_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(DataError, match="is not a folder"):
        data_dir()
    monkeypatch.setenv("HYBRIDLIB_DATA_DIR", str(tmp_path))
    assert data_dir() == tmp_path


def test_verify_reports_missing_and_changed_files(real_data_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "xquad-r"
    folder.mkdir()
    for source in (real_data_dir / "xquad-r").iterdir():
        if source.name != "LICENSE":
            shutil.copyfile(source, folder / source.name)  # contents only, not read-only modes
    with open(folder / "en.json", "ab") as handle:
        handle.write(b" ")
    problems = verify(tmp_path, ["xquad-r"])
    assert sorted(problems) == ["xquad-r/LICENSE", "xquad-r/en.json"]
    assert problems["xquad-r/LICENSE"] == "missing"
    assert problems["xquad-r/en.json"].startswith(
        f"sha256 {sha256_file(folder / 'en.json')} != pinned"
    )
    report = {row["folder"]: row for row in verification_report(tmp_path)}
    assert report["xquad-r"]["pinned"] == 12 and report["xquad-r"]["matching"] == 10
    assert report["xquad-r"]["problem"] == "xquad-r/LICENSE: missing (and 1 more)"
    assert report["tatoeba"]["matching"] == 0 and set(report) == set(known_folders())
    assert {row["problem"] for row in verification_report(real_data_dir)} == {""}


def test_a_changed_data_file_is_refused_by_the_loader(real_data_dir, tmp_path, monkeypatch):
    """Issue 14, case 5: loaders never checked hashes, so a changed file was read silently."""
    import shutil

    from hybridlib.data import DataError, load_tatoeba

    root = tmp_path / "data"
    shutil.copytree(real_data_dir / "tatoeba", root / "tatoeba")
    load_tatoeba("de", root=root)  # the pinned files: read
    english = root / "tatoeba" / "tatoeba.deu-eng.eng"
    english.write_bytes(english.read_bytes().replace(b"I ", b"i ", 1))
    with pytest.raises(DataError, match=r"tatoeba.deu-eng.eng.*sha256.*differs from the pinned"):
        load_tatoeba("de", root=root)
    monkeypatch.setenv("HYBRIDLIB_VERIFY_DATA", "0")  # the user's explicit choice
    load_tatoeba("de", root=root)


@pytest.mark.parametrize("action", ["verify", "fetch"])
def test_a_misspelt_data_folder_is_an_error_not_a_pass(action, capsys):
    """Issue 14, case 5: `data verify xquadr` passed, having checked nothing."""
    from hybridlib.cli import main

    assert main(["data", action, "xquadr"]) == 2
    assert "unknown data folder 'xquadr'; did you mean 'xquad-r'?" in capsys.readouterr().err
