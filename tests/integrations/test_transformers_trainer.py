"""hybridlib's samplers and InfoNCELoss inside the real Hugging Face Trainer."""

from __future__ import annotations

import pytest
import torch
from transformers import TrainingArguments

from hybridlib.integrations.transformers_trainer import PlannedBatchTrainer
from hybridlib.losses import InfoNCELoss
from hybridlib.models import load_encoder
from hybridlib.samplers import HybridBatchSampler

from .conftest import training_pairs


class RecordingLoss(InfoNCELoss):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen: list[list[str]] = []

    def forward(self, batch):
        self.seen.append(list(batch["queries"]))
        return super().forward(batch)


def arguments(tmp_path, **options) -> TrainingArguments:
    return TrainingArguments(
        output_dir=str(tmp_path),
        learning_rate=1e-3,
        report_to=[],
        save_strategy="no",
        logging_strategy="no",
        use_cpu=True,
        remove_unused_columns=False,
        seed=0,
        **options,
    )


def test_the_trainer_trains_on_the_planned_batches_across_epochs(tmp_path):
    pairs = training_pairs(8)  # 24 pairs, batches of 6: 4 steps per epoch
    sampler = HybridBatchSampler(pairs, batch_size=6, alpha=0.5, seed=5)
    loss = RecordingLoss(load_encoder("tiny"), temperature=0.05)
    before = {n: w.detach().clone() for n, w in loss.named_parameters()}
    trainer = PlannedBatchTrainer(
        model=loss, args=arguments(tmp_path, num_train_epochs=2), batch_sampler=sampler
    )
    trainer.train()

    reference = HybridBatchSampler(pairs, batch_size=6, alpha=0.5, seed=5)
    planned = reference.plan(0) + reference.plan(1)
    assert len(loss.seen) == 8
    assert loss.seen == [[pairs[q].query for q, _ in batch.pairs] for batch in planned]
    assert reference.plan(0) != reference.plan(1)  # the second epoch is a new plan
    changed = [n for n, w in loss.named_parameters() if not torch.equal(w, before[n])]
    assert changed, "eight steps at lr 1e-3 moved no weight"


def test_one_trainer_step_is_one_plain_step_of_adamw(tmp_path):
    """The Trainer adds nothing to the loss: its first step equals AdamW on InfoNCELoss."""
    pairs = training_pairs(8)
    encoder = load_encoder("tiny")
    ours = InfoNCELoss(load_encoder("tiny"), temperature=0.05)
    ours.load_state_dict(InfoNCELoss(encoder).state_dict())
    for module in (encoder, ours):
        for sub in module.modules():
            if isinstance(sub, torch.nn.Dropout):
                sub.p = 0.0
    sampler = HybridBatchSampler(pairs, batch_size=6, alpha=0.5, seed=1)
    batch = sampler.pairs.collate([sampler.pairs[item] for item in sampler.plan(0)[0].pairs])

    trainer = PlannedBatchTrainer(
        model=InfoNCELoss(encoder, temperature=0.05),
        args=arguments(
            tmp_path, max_steps=1, lr_scheduler_type="constant", weight_decay=0.0, max_grad_norm=1e9
        ),
        batch_sampler=sampler,
    )
    trainer.train()

    optimizer = torch.optim.AdamW(ours.parameters(), lr=1e-3, weight_decay=0.0)
    ours.train()
    ours(batch).backward()
    optimizer.step()
    for (name, want), (_, got) in zip(
        ours.named_parameters(), trainer.model.named_parameters(), strict=True
    ):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6, msg=name)


def test_a_sampler_for_other_ranks_or_a_dataset_is_refused(tmp_path):
    pairs = training_pairs(8)
    loss = InfoNCELoss(load_encoder("tiny"))
    wrong = HybridBatchSampler(pairs, batch_size=3, num_replicas=2, rank=1)
    trainer = PlannedBatchTrainer(
        model=loss, args=arguments(tmp_path, max_steps=1), batch_sampler=wrong
    )
    with pytest.raises(ValueError, match="num_replicas=2, rank=1, but this process is rank 0 of 1"):
        trainer.train()
    with pytest.raises(ValueError, match="do not pass train_dataset"):
        PlannedBatchTrainer(
            model=loss,
            args=arguments(tmp_path, max_steps=1),
            batch_sampler=HybridBatchSampler(pairs, batch_size=3),
            train_dataset=pairs,
        )
