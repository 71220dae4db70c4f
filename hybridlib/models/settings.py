"""What decides an embedding besides the weights: :class:`EncoderSettings`.

Pooling, query and passage prefixes, input length, normalisation, arithmetic precision,
provenance and an optional dense head; saved as JSON beside the weights
(``hybridlib_encoder.json``, :mod:`hybridlib.models.loading`) so that a fine-tuned encoder
reloads exactly. :func:`default_settings` gives the pooling and prefixes of well-known
checkpoints by name; :func:`position_limit` the input length a transformer's position table
admits.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any, Literal

SETTINGS_FORMAT = 1
POOLINGS = ("mean", "cls")
KINDS = ("query", "passage")
PRECISIONS = ("float32", "bfloat16")
# models whose position ids start after the padding id (positions usable = max_pos - 2)
_OFFSET_POSITION_MODELS = {"roberta", "xlm-roberta", "camembert", "xlm-roberta-xl"}

Kind = Literal["query", "passage"]
Pooling = Literal["mean", "cls"]


@dataclasses.dataclass
class EncoderSettings:
    """Everything besides the weights that decides an embedding (saved as JSON)."""

    name: str
    pooling: str = "mean"
    query_prefix: str = ""
    passage_prefix: str = ""
    max_length: int = 512
    normalize: bool = True
    # arithmetic of the forward pass: "float32", or "bfloat16" autocast (matrix products in
    # bf16, LayerNorm, softmax and pooling in fp32; on CPUs with AMX about 4x faster per layer)
    precision: str = "float32"
    # free-form provenance carried through save/load (e.g. "4-bit rounded weights")
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)
    # a dense layer after pooling (sentence-transformers' Dense, e.g. LaBSE's 768 -> 768 tanh):
    # the DenseHead.config() of its weights, or None
    head: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, but got {self.pooling!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, but got {self.precision!r}")
        if int(self.max_length) < 2:
            raise ValueError(f"max_length must be >= 2, but got {self.max_length}")
        self.max_length = int(self.max_length)

    def to_json(self) -> dict[str, Any]:
        return {"format": SETTINGS_FORMAT, **dataclasses.asdict(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any], source: Path) -> EncoderSettings:
        data = dict(data)
        version = data.pop("format", None)
        if version != SETTINGS_FORMAT:
            raise ValueError(
                f"{source}: field 'format' must be {SETTINGS_FORMAT}, but got {version!r}"
            )
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{source}: unknown field(s) {unknown}; expected {sorted(known)}")
        try:
            return cls(**data)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{source}: {error}") from None


def default_settings(name: str) -> dict[str, Any]:
    """Per-model defaults for well-known checkpoints, recognised by name.

    E5 (``intfloat/*e5*``): mean pooling, ``"query: "`` / ``"passage: "`` prefixes.
    LaBSE: CLS pooling, no prefix. Anything else (XLM-R, mBERT, ...): mean pooling, no prefix.
    """
    lowered = name.lower()
    if "labse" in lowered:
        return {"pooling": "cls", "query_prefix": "", "passage_prefix": ""}
    if re.search(r"(?<![a-z0-9])e5(?![0-9])", lowered):
        return {"pooling": "mean", "query_prefix": "query: ", "passage_prefix": "passage: "}
    return {"pooling": "mean", "query_prefix": "", "passage_prefix": ""}


def position_limit(config: Any) -> int | None:
    """How many tokens the model's position table admits (None when it has no such limit)."""
    max_positions = getattr(config, "max_position_embeddings", None)
    if max_positions is None:
        return None
    offset = 2 if getattr(config, "model_type", "") in _OFFSET_POSITION_MODELS else 0
    return int(max_positions) - offset
