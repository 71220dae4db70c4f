"""Reading a sentence-transformers model folder: its pooling, dense head and normalisation.

A sentence-transformers folder lists its modules in ``modules.json``, e.g. LaBSE's published
sentence encoder: ``Transformer`` (the BERT at the folder's root) -> ``Pooling`` (the CLS
token) -> ``Dense`` (768 -> 768, tanh) -> ``Normalize``. :func:`read_layout` turns that list
into what :class:`hybridlib.models.Encoder` needs: the pooling, whether to normalise, and the
dense head with its weights (:class:`DenseHead`, ``y = activation(W x + b)``). Anything else
in the list is refused by name rather than silently skipped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

MODULES_FILE = "modules.json"
ACTIVATIONS = {  # sentence-transformers' activation_function -> ours
    "torch.nn.modules.activation.Tanh": "tanh",
    "torch.nn.modules.linear.Identity": "identity",
}


class DenseHead(torch.nn.Module):
    """``y = activation(x W^T + b)`` on pooled ``(n, in_features)`` states: ``(n, out_features)``;
    the ``Dense`` module of sentence-transformers (same parameter names, ``linear.*``)."""

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, activation: str = "tanh"
    ) -> None:
        super().__init__()
        if activation not in ("tanh", "identity"):
            raise ValueError(f"activation must be 'tanh' or 'identity', but got {activation!r}")
        self.activation = activation
        self.linear = torch.nn.Linear(in_features, out_features, bias=bias)

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        out = self.linear(pooled)
        return torch.tanh(out) if self.activation == "tanh" else out

    def config(self) -> dict[str, Any]:
        """What rebuilds it (saved with the encoder's settings)."""
        return {
            "in_features": self.linear.in_features,
            "out_features": self.linear.out_features,
            "bias": self.linear.bias is not None,
            "activation": self.activation,
        }


@dataclass(frozen=True)
class Layout:
    """A sentence-transformers folder's modules: the transformer's sub-folder (``""``: the
    root), the pooling (``"cls"`` or ``"mean"``), the head (or None) and normalisation."""

    transformer_path: str
    pooling: str
    head: DenseHead | None
    normalize: bool


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: cannot read it as JSON ({error})") from None


def _pooling(folder: Path, path: str) -> str:
    """``"cls"`` or ``"mean"`` from a Pooling config: ``pooling_mode: "cls"`` (newer
    sentence-transformers) or ``pooling_mode_cls_token: true`` (older, e.g. LaBSE's repository)."""
    config_file = folder / path / "config.json"
    config = _read_json(config_file)
    if "pooling_mode" in config:
        modes = [str(config["pooling_mode"])]
    else:
        flags = {"pooling_mode_cls_token": "cls", "pooling_mode_mean_tokens": "mean"}
        modes = sorted(flags.get(key, key) for key, value in config.items()
                       if key.startswith("pooling_mode_") and value)  # fmt: skip
    if modes not in (["cls"], ["mean"]):
        raise ValueError(
            f"{config_file}: pooling {modes} is not supported; the encoder pools by the CLS "
            "token or the mean of the tokens, one of them alone"
        )
    if config.get("include_prompt", True) is False:
        raise ValueError(
            f"{config_file}: field 'include_prompt' is false; the encoder pools over the "
            "prefix tokens too"
        )
    return modes[0]


def _load_tensors(file: Path) -> Any:
    """``torch.load(file, weights_only=True)``; a pickle it refuses (an object other than
    tensors and plain data: ``UnpicklingError``) or a corrupt file raises ValueError naming
    the file, instead of torch's traceback."""
    try:
        return torch.load(file, map_location="cpu", weights_only=True)
    except Exception as error:  # UnpicklingError, EOFError, RuntimeError of a corrupt zip
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise ValueError(
            f"{file}: cannot be loaded as tensors only ({type(error).__name__}: {first[:200]}); "
            "only weights are read from a pickle, never other objects"
        ) from None


def _dense(folder: Path, path: str) -> DenseHead:
    module = folder / path
    config_file = module / "config.json"
    config = _read_json(config_file)
    function = config.get("activation_function", "torch.nn.modules.activation.Tanh")
    if function not in ACTIVATIONS:
        raise ValueError(
            f"{config_file}: field 'activation_function' is {function!r}; supported: {sorted(ACTIVATIONS)}"
        )
    try:
        head = DenseHead(int(config["in_features"]), int(config["out_features"]),
                         bool(config.get("bias", True)), ACTIVATIONS[function])  # fmt: skip
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{config_file}: not a Dense configuration ({error!r})") from None
    if (module / "model.safetensors").is_file():
        from safetensors.torch import load_file

        state = load_file(str(module / "model.safetensors"))
    elif (module / "pytorch_model.bin").is_file():
        state = _load_tensors(module / "pytorch_model.bin")
    else:
        raise FileNotFoundError(
            f"{module}: no model.safetensors or pytorch_model.bin for the Dense head"
        )
    try:
        head.load_state_dict(state)
    except RuntimeError as error:
        raise ValueError(
            f"{module}: the Dense weights do not fit {head.config()} ({error})"
        ) from None
    return head


def _module_kind(entry: dict[str, Any]) -> str:
    """``"Pooling"`` of ``"sentence_transformers.models.Pooling"`` (any module path)."""
    return str(entry.get("type", "")).rsplit(".", 1)[-1]


def module_files(modules: list[dict[str, Any]]) -> list[list[str]]:
    """The files :func:`read_layout` reads besides ``modules.json``, per module: each inner
    list is alternatives, the first that exists is enough (a Dense head's weights come as
    ``model.safetensors`` or ``pytorch_model.bin``). For fetching a hub repository's layout."""
    files: list[list[str]] = []
    for entry in modules:
        kind, path = _module_kind(entry), str(entry.get("path", "")).strip("/")
        if kind in ("Pooling", "Dense"):
            files.append([f"{path}/config.json"])
        if kind == "Dense":
            files.append([f"{path}/model.safetensors", f"{path}/pytorch_model.bin"])
    return files


def read_layout(folder: str | Path) -> Layout | None:
    """The layout of a sentence-transformers folder, or None if it has no ``modules.json``."""
    folder = Path(folder)
    modules_file = folder / MODULES_FILE
    if not modules_file.is_file():
        return None
    modules = _read_json(modules_file)
    transformer_path, pooling, head, normalize = None, None, None, False
    for entry in sorted(modules, key=lambda m: int(m.get("idx", 0))):
        kind = _module_kind(entry)
        path = str(entry.get("path", ""))
        if kind == "Transformer" and transformer_path is None:
            transformer_path = path
        elif kind == "Pooling" and pooling is None and transformer_path is not None:
            pooling = _pooling(folder, path)
        elif kind == "Dense" and head is None and pooling is not None and not normalize:
            head = _dense(folder, path)
        elif kind == "Normalize" and pooling is not None:
            normalize = True
        else:
            raise ValueError(
                f"{modules_file}: module {entry.get('idx')} ({entry.get('type')!r}) is not "
                "supported here; the encoder reads Transformer -> Pooling -> [Dense] -> [Normalize]"
            )
    if transformer_path is None or pooling is None:
        raise ValueError(
            f"{modules_file}: expected a Transformer and a Pooling module, found neither or one"
        )
    return Layout(transformer_path, pooling, head, normalize)
