"""The trainer's step pieces (hybridlib.training.step): what they build and what they refuse."""

from __future__ import annotations

import pytest

from hybridlib.losses import CachedInfoNCELoss, InfoNCELoss
from hybridlib.models import tiny_encoder
from hybridlib.training import TrainConfig
from hybridlib.training.step import make_loss


def test_the_loss_follows_the_config() -> None:
    config = TrainConfig.from_dict({"steps": 1, "temperature": 0.1, "symmetric": True})
    loss = make_loss(config, tiny_encoder())
    assert type(loss) is InfoNCELoss and loss.temperature == 0.1 and loss.symmetric
    cached = make_loss(
        TrainConfig.from_dict({"steps": 1, "grad_cache_chunk_size": 4}), tiny_encoder()
    )
    assert isinstance(cached, CachedInfoNCELoss) and cached.mini_batch_size == 4


def test_an_encoder_scored_by_dot_product_is_not_trained_on_cosine() -> None:
    """Issue 17: ``EncoderSettings.normalize=False`` was contradicted by the loss (always
    cosine): the model was trained on one similarity and evaluated on another."""
    with pytest.raises(ValueError, match="normalize=False: it is evaluated by dot product"):
        make_loss(TrainConfig.from_dict({"steps": 1}), tiny_encoder(normalize=False))
