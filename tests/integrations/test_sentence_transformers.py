"""hybridlib's samplers and masked loss inside the real SentenceTransformerTrainer."""

from __future__ import annotations

import pytest
import torch

from hybridlib.integrations.sentence_transformers import (
    MaskedMultipleNegativesRankingLoss,
    PlannedRows,
)
from hybridlib.losses import info_nce
from hybridlib.samplers import HybridBatchSampler, PerPairMixingSampler

from .conftest import training_pairs


@pytest.fixture(scope="module")
def st_model(tmp_path_factory):
    from benchmarks.training import model_folder, sentence_transformer

    folder = model_folder("tiny", tmp_path_factory.mktemp("model"))
    return sentence_transformer(folder, max_length=32)


def test_rows_are_every_item_of_a_key_and_map_back():
    pairs = training_pairs(2)  # 2 keys x 3 languages: 2 * 3**2 rows
    rows = PlannedRows(pairs)
    assert len(rows) == 18
    columns = rows.columns()
    for r, (q, p) in enumerate(rows.items):
        assert pairs[q].parallel_key == pairs[p].parallel_key
        assert columns["anchor"][r] == pairs[q].query
        assert columns["positive"][r] == pairs[p].passage
        assert rows.rows([(q, p)]) == [r]
    # label: [parallel key id, passage text id]; equal text ids exactly for equal passages
    labels = columns["label"]
    for r, (_, p) in enumerate(rows.items):
        for s, (_, p2) in enumerate(rows.items):
            same_text = pairs[p].passage == pairs[p2].passage
            assert (labels[r][1] == labels[s][1]) == same_text
            assert (labels[r][0] == labels[s][0]) == (
                pairs[p].parallel_key == pairs[p2].parallel_key
            )


def test_an_item_across_two_keys_is_refused():
    rows = PlannedRows(training_pairs(2))
    with pytest.raises(ValueError, match="do not share a parallel key"):
        rows.rows([(0, 3)])  # pair 0 is k0/de, pair 3 is k1/de


def test_a_dataset_of_other_pairs_is_refused():
    rows = PlannedRows(training_pairs(3))
    other = PlannedRows(training_pairs(2)).dataset()
    with pytest.raises(ValueError, match="has 18 rows, but these training pairs give 27"):
        rows.batch_sampler()(other, batch_size=2)
    shuffled = rows.dataset().shuffle(seed=1)
    with pytest.raises(ValueError, match="row 0 of the training dataset"):
        rows.batch_sampler()(shuffled, batch_size=2)
    with pytest.raises(ValueError, match="batch_size comes from the trainer"):
        rows.batch_sampler(batch_size=4)


def test_row_batches_are_the_planned_batches():
    rows = PlannedRows(training_pairs())
    sampler = rows.batch_sampler(PerPairMixingSampler, alpha=0.5)(
        rows.dataset(), batch_size=4, seed=7
    )
    planned = PerPairMixingSampler(rows.pairs, batch_size=4, alpha=0.5, seed=7).plan(0)
    assert len(sampler) == len(planned)
    got = list(sampler)
    assert got == [rows.rows(batch.pairs) for batch in planned]


def test_loss_equals_info_nce_with_the_masks_of_its_labels(st_model):
    texts_q = ["a question", "another question", "a third one", "and a fourth"]
    texts_p = ["an answer", "an answer", "a reply", "something else"]
    features = [st_model.preprocess(texts_q), st_model.preprocess(texts_p)]
    with torch.no_grad():
        q = st_model(dict(features[0]))["sentence_embedding"]
        p = st_model(dict(features[1]))["sentence_embedding"]
    loss = MaskedMultipleNegativesRankingLoss(st_model, temperature=0.05)
    labels = torch.tensor([[0, 0], [1, 0], [0, 1], [2, 2]])  # rows 0, 2 translations; 0, 1 one text
    with torch.no_grad():
        got = loss([dict(f) for f in features], labels)
    want = info_nce(
        q,
        p,
        temperature=0.05,
        parallel_keys=["0", "1", "0", "2"],
        passage_keys=["0", "0", "1", "2"],
    )
    torch.testing.assert_close(got, want)
    # the masks change the value: without them it is plain in-batch InfoNCE
    assert not torch.allclose(got, info_nce(q, p, temperature=0.05))
    # no labels: passages with equal tokens (rows 0 and 1) are masked, nothing else
    with torch.no_grad():
        got_plain = loss([dict(f) for f in features], None)
    torch.testing.assert_close(
        got_plain, info_nce(q, p, temperature=0.05, passage_keys=["x", "x", "y", "z"])
    )
    with pytest.raises(ValueError, match=r"shape \(4, 3\)"):
        loss([dict(f) for f in features], torch.zeros(4, 3, dtype=torch.long))


def test_the_trainer_trains_on_the_planned_batches(st_model, tmp_path):
    from sentence_transformers import (
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )

    pairs = training_pairs()
    rows = PlannedRows(pairs)
    seen: list[torch.Tensor] = []

    class Recording(MaskedMultipleNegativesRankingLoss):
        def forward(self, sentence_features, labels):
            features = list(sentence_features)
            seen.append(features[0]["input_ids"].clone())
            return super().forward(features, labels)

    before = {n: w.detach().clone() for n, w in st_model.named_parameters()}
    args = SentenceTransformerTrainingArguments(
        output_dir=str(tmp_path),
        per_device_train_batch_size=6,
        max_steps=4,
        seed=3,
        learning_rate=1e-3,
        report_to=[],
        save_strategy="no",
        logging_strategy="no",
        use_cpu=True,
        dataloader_drop_last=True,
        batch_sampler=rows.batch_sampler(HybridBatchSampler, alpha=0.5),
    )
    trainer = SentenceTransformerTrainer(
        model=st_model,
        args=args,
        train_dataset=rows.dataset(),
        loss=Recording(st_model, temperature=0.05),
    )
    trainer.train()

    planned = HybridBatchSampler(rows.pairs, batch_size=6, alpha=0.5, seed=3).plan(0)
    assert len(seen) == 4
    for step, ids in enumerate(seen):
        queries = [pairs[q].query for q, _ in planned[step].pairs]
        torch.testing.assert_close(ids, st_model.preprocess(queries)["input_ids"])
    assert {batch.kind.value for batch in planned[:4]} == {"x-x", "x-y"}
    changed = [n for n, w in st_model.named_parameters() if not torch.equal(w, before[n])]
    assert changed, "four steps at lr 1e-3 moved no weight"
