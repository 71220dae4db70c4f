"""The library's samplers and loss inside other people's trainers.

- :mod:`hybridlib.integrations.sentence_transformers`: a ``datasets.Dataset`` of every
  query-passage combination the samplers can plan, a ``batch_sampler`` for
  ``SentenceTransformerTrainingArguments`` and the false-negative-masked InfoNCE as a
  sentence-transformers loss.
- :mod:`hybridlib.integrations.transformers_trainer`: the Hugging Face ``Trainer`` with a
  planned batch sampler and :class:`hybridlib.losses.InfoNCELoss`.

Each module imports its trainer library only when used (``pip install
'hybridlib[integrations]'``).
"""
