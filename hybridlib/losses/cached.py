"""GradCache (Gao et al., 2021): the InfoNCE loss of a large batch in the memory of a small one.

The loss couples every pair of the batch, so it cannot be split into independent parts;
its gradient can:

1. embed the batch in mini-batches without a graph (memory: one mini-batch of activations);
2. compute :func:`~hybridlib.losses.info_nce` on the detached embeddings and its gradient
   ``g = d loss / d embeddings`` (cheap: the loss only sees ``(B, d)`` tensors);
3. on ``backward``, re-embed each mini-batch with a graph and backpropagate
   ``sum(embeddings * g)``, whose parameter gradient is the mini-batch's share of the full one.

Dropout draws random numbers: the RNG state before each mini-batch's first pass is saved and
replayed in its second pass, so both passes see the same masks and the gradient is exact.
Each replay is a forward and backward of its own, run by the loss's ``encoder_runner`` when
one is set, which is told which replay is the last (under DistributedDataParallel all but
the step's last run under ``no_sync``, so the gradients are averaged over ranks once).
The scoring is not copied: step 2 calls the same :class:`InfoNCELoss` code as the plain loss.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

import torch

from hybridlib.losses.info_nce import DEFAULT_TEMPERATURE, InfoNCELoss, flatten_hard_negatives


class RandState:
    """The CPU (and CUDA, for ``devices``) RNG state at construction, replayable later."""

    def __init__(self, devices: list[torch.device]) -> None:
        self.devices = [d for d in devices if d.type == "cuda"]
        self.cpu_state = torch.get_rng_state()
        self.cuda_states = [torch.cuda.get_rng_state(d) for d in self.devices]

    @contextlib.contextmanager
    def replay(self) -> Iterator[None]:
        """Run the body with the saved states; the global RNG is left as it was."""
        with torch.random.fork_rng(devices=self.devices):
            torch.set_rng_state(self.cpu_state)
            for device, state in zip(self.devices, self.cuda_states, strict=True):
                torch.cuda.set_rng_state(state, device)
            yield


class CachedInfoNCELoss(InfoNCELoss):
    """:class:`InfoNCELoss` computed with GradCache: same loss, same gradients, less memory.

    ``mini_batch_size`` texts are embedded at a time (queries, passages and hard negatives
    are chunked separately). ``forward`` returns the loss; calling ``backward`` on it (or on
    anything computed from it, e.g. ``loss / accumulation_steps``) runs the second pass and
    fills the parameter gradients. Without grad mode (evaluation) only the first pass runs.
    The batch and the options are those of :class:`InfoNCELoss` (``mask_false_negatives``
    masks by ``parallel_keys`` and by ``passage_keys`` alike).
    """

    def __init__(
        self,
        encoder: torch.nn.Module,
        *,
        mini_batch_size: int = 32,
        temperature: float = DEFAULT_TEMPERATURE,
        symmetric: bool = False,
        margin: float = 0.0,
        share_hard_negatives: bool = True,
        mask_false_negatives: bool = True,
        gather_across_processes: bool = False,
    ) -> None:
        super().__init__(
            encoder,
            temperature=temperature,
            symmetric=symmetric,
            margin=margin,
            share_hard_negatives=share_hard_negatives,
            mask_false_negatives=mask_false_negatives,
            gather_across_processes=gather_across_processes,
        )
        if mini_batch_size < 1:
            raise ValueError(f"mini_batch_size must be >= 1, but got {mini_batch_size}")
        self.mini_batch_size = mini_batch_size

    def forward(self, batch: Mapping[str, Any]) -> torch.Tensor:
        hard_texts, k = flatten_hard_negatives(batch)
        inputs = [(batch["queries"], "query"), (batch["passages"], "passage")]
        if hard_texts:
            inputs.append((hard_texts, "passage"))
        # tokenized once, padded to the longest text of each input, as the plain loss does
        features = [self.encoder.tokenize(list(texts), kind) for texts, kind in inputs]
        devices = sorted({p.device for p in self.encoder.parameters()}, key=str)

        # pass 1: embeddings without a graph, remembering the RNG state of each mini-batch
        embeddings, states = [], []
        with torch.no_grad():
            for feats in features:
                parts, part_states = [], []
                for chunk in self._chunks(feats):
                    part_states.append(RandState(devices))
                    parts.append(self.encoder.embed_tokens(chunk))  # (m, d)
                embeddings.append(torch.cat(parts).detach())  # (n, d)
                states.append(part_states)

        reps = [emb.requires_grad_(torch.is_grad_enabled()) for emb in embeddings]
        hard_emb = reps[2].reshape(len(batch["queries"]), k, -1) if hard_texts else None
        loss = self.loss_from_embeddings(reps[0], reps[1], hard_emb, batch)
        if not torch.is_grad_enabled():
            return loss

        # gradient of the loss w.r.t. the embeddings, then a leaf loss whose backward
        # replays the mini-batches with a graph
        grads = torch.autograd.grad(loss, reps)  # each (n, d)
        cached = loss.detach().requires_grad_()

        def second_pass(grad_output: torch.Tensor) -> None:
            n_chunks = sum(len(part_states) for part_states in states)
            done = 0
            with torch.enable_grad():
                for feats, part_states, grad in zip(features, states, grads, strict=True):
                    start = 0
                    for chunk, state in zip(self._chunks(feats), part_states, strict=True):
                        done += 1
                        with state.replay():  # the last replay synchronises the ranks
                            emb = self.run_encoder(chunk, last=done == n_chunks)  # (m, d)
                        g = grad[start : start + emb.shape[0]] * grad_output  # (m, d)
                        start += emb.shape[0]
                        torch.autograd.backward(emb, grad_tensors=g.to(emb.dtype))

        cached.register_hook(second_pass)
        return cached

    def _chunks(self, features: dict[str, torch.Tensor]) -> Iterator[dict[str, torch.Tensor]]:
        n = features["input_ids"].shape[0]
        for start in range(0, n, self.mini_batch_size):
            yield {
                key: value[start : start + self.mini_batch_size] for key, value in features.items()
            }
