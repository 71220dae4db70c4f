"""A saved model folder's files: their names, writing a whole model into a folder, and the
record of the weights files' SHA-256 that loading checks.

Both :mod:`hybridlib.models.embedded` (which writes the embedded model's cached folder) and
:mod:`hybridlib.models.loading` (which saves and loads encoders) use these; this module knows
no encoder class, only what it reads of one (:class:`FolderModel`).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from hybridlib.models.sentence_layout import DenseHead
from hybridlib.models.settings import EncoderSettings

SETTINGS_FILE = "hybridlib_encoder.json"  # EncoderSettings as JSON, beside the weights
HEAD_FILE = "dense_head.safetensors"  # the DenseHead's weights, beside the transformer's
FILES_RECORD = "hybridlib_files.json"  # the SHA-256 of a saved folder's weights files
BUILD_FILE = "hybridlib_build.json"  # an embedded build's record (hybridlib.models.embedded)
WEIGHTS_FILE = "model.safetensors"  # the transformer's weights, which a build record names


class CorruptModelError(ValueError):
    """A model folder whose files are not those it was saved with (changed, truncated, missing)."""


class Pretrained(Protocol):
    """A Hugging Face model or tokenizer: it writes itself into a folder."""

    def save_pretrained(self, save_directory: Path) -> object: ...


class FolderModel(Protocol):
    """What :func:`write_folder` reads of an encoder
    (:class:`hybridlib.models.encoder.Encoder` has it)."""

    @property
    def transformer(self) -> Pretrained: ...

    @property
    def tokenizer(self) -> Pretrained: ...

    @property
    def head(self) -> DenseHead | None: ...

    @property
    def settings(self) -> EncoderSettings: ...


def record_files(folder: Path) -> None:
    """Write :data:`FILES_RECORD`: the SHA-256 of every weights file in ``folder``
    (``*.safetensors``, ``*.bin``), which loading checks (:func:`verify_files`). The settings
    and tokenizer files are JSON that their readers validate field by field."""
    from hybridlib.io import sha256_file

    digests = {p.name: sha256_file(p) for p in sorted(folder.iterdir())
               if p.is_file() and p.suffix in (".safetensors", ".bin")}  # fmt: skip
    (folder / FILES_RECORD).write_text(
        json.dumps({"format": 1, "sha256": digests}, indent=2) + "\n", encoding="utf-8"
    )


def verify_files(folder: Path) -> None:
    """Raise :class:`CorruptModelError` naming the file when a file that ``folder`` recorded
    when it was saved (:data:`FILES_RECORD`, or an embedded build's ``weights_sha256``) is
    missing or has another SHA-256. Each file version is hashed once per process."""
    from hybridlib.io import sha256_of_version

    expected: dict[str, str] = {}
    for record_name, read in ((BUILD_FILE, lambda r: {WEIGHTS_FILE: r["weights_sha256"]}),
                              (FILES_RECORD, lambda r: dict(r["sha256"]))):  # fmt: skip
        record_file = folder / record_name
        if record_file.is_file():
            try:
                expected.update(read(json.loads(record_file.read_text(encoding="utf-8"))))
            except (OSError, ValueError, KeyError, TypeError) as error:
                raise CorruptModelError(
                    f"{record_file}: unreadable record of the folder's files ({error})"
                ) from None
    for name, digest in sorted(expected.items()):
        path = folder / name
        if not path.is_file():
            raise CorruptModelError(f"{path}: missing (the folder recorded it when it was saved)")
        actual = sha256_of_version(path)
        if actual != digest:
            raise CorruptModelError(
                f"{path}: sha256 = {actual} differs from {digest}, recorded when the "
                "model was saved: the file was changed or damaged (retrain the model, or "
                "delete a cached one to rebuild it)"
            )


def write_folder(encoder: FolderModel, folder: Path) -> None:
    """The whole model into ``folder``: the transformer, its tokenizer, the dense head's weights
    and the settings (the caller makes it atomic)."""
    folder.mkdir(parents=True, exist_ok=True)
    with quiet_transformers():
        encoder.transformer.save_pretrained(folder)
    encoder.tokenizer.save_pretrained(folder)
    if encoder.head is not None:
        from safetensors.torch import save_file

        state = {k: v.detach().cpu().contiguous() for k, v in encoder.head.state_dict().items()}
        save_file(state, str(folder / HEAD_FILE))
    write_settings(encoder.settings, folder)
    record_files(folder)


def write_settings(settings: EncoderSettings, folder: Path) -> None:
    """:data:`SETTINGS_FILE` in ``folder``: ``settings`` as sorted, indented JSON."""
    with open(folder / SETTINGS_FILE, "w", encoding="utf-8") as handle:
        json.dump(settings.to_json(), handle, indent=2, sort_keys=True, ensure_ascii=False)
        handle.write("\n")


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' load report (skipped pooler weights) and its progress bars."""
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()
