"""Word-embedding gradients through the rows a step uses, into one persistent dense buffer.

A plain embedding backward allocates and zero-fills a dense ``(vocab, dim)`` gradient for
every forward pass (multilingual-e5-small: 250,037 x 384 floats, 384 MB; twice a training
step, for the queries and for the passages) and then adds the two; on 2 CPU threads that
filling took 0.5-1.1 s of a 3-4 s step (torch profiler, ``aten::fill_``), mostly page faults
of the freshly mapped memory.

With :class:`RowGradients`, each forward pass with gradients looks its tokens up through a
small leaf tensor of the rows it uses::

    unique, inverse = unique(input_ids)              # (u,), (n, seq)
    rows = W[unique]  (a leaf, requires grad)        # (u, dim)
    inputs_embeds = rows[inverse]                    # (n, seq, dim)

and :meth:`RowGradients.write` (after ``backward``) zeroes one buffer allocated once,
adds each leaf's gradient into its rows (``index_add_``), zeroes the padding row (whose
gradient a padded ``nn.Embedding`` never accumulates) and sets the buffer as ``W.grad``.
Clipping and AdamW then see the same dense gradient as with the plain lookup (equal up to
float rounding of the sums), so the update of the whole matrix is unchanged; only the
memory traffic of the backward is saved.
"""

from __future__ import annotations

import torch


class RowGradients:
    """Gathers word-embedding rows through leaves and writes their gradient as ``weight.grad``.

    weight: the ``(vocab, dim)`` embedding matrix (a parameter that requires grad; it is
    never used in the autograd graph itself while this is active).
    padding_idx: the row that receives no gradient (``nn.Embedding.padding_idx``), or None.
    """

    def __init__(self, weight: torch.Tensor, padding_idx: int | None = None) -> None:
        if weight.ndim != 2:
            raise ValueError(
                f"weight must be 2-D (vocab, dim), but got shape {tuple(weight.shape)}"
            )
        self.weight = weight
        self.padding_idx = padding_idx
        self._buffer: torch.Tensor | None = None  # (vocab, dim), allocated on first write
        self._leaves: list[tuple[torch.Tensor, torch.Tensor]] = []  # (unique ids, rows leaf)

    def lookup(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Embeddings ``(n, seq, dim)`` of ``input_ids`` ``(n, seq)``; with gradients enabled,
        through a new leaf of the unique rows (kept until :meth:`write` or :meth:`clear`)."""
        if not (torch.is_grad_enabled() and self.weight.requires_grad):
            return torch.nn.functional.embedding(input_ids, self.weight.detach())
        unique, inverse = torch.unique(input_ids, return_inverse=True)  # (u,), (n, seq)
        rows = self.weight.detach().index_select(0, unique).requires_grad_(True)  # (u, dim)
        self._leaves.append((unique, rows))
        return rows[inverse]  # (n, seq, dim)

    def write(self) -> None:
        """Add the leaves' gradients into ``weight.grad``, held in the persistent buffer.

        Like autograd's accumulation: when ``weight.grad`` is already the buffer (a second
        call, or ``zero_grad(set_to_none=False)``) the gradients are added to it; otherwise
        the buffer is zeroed, takes any other existing ``weight.grad``, and becomes the
        gradient. Call it after ``backward`` and before clipping / the optimizer; leaves
        without a gradient (not backpropagated) add nothing, and all are released.
        """
        leaves, self._leaves = self._leaves, []
        if self._buffer is None:
            self._buffer = torch.zeros_like(self.weight, memory_format=torch.contiguous_format)
        elif self.weight.grad is not self._buffer:
            self._buffer.zero_()
        buffer = self._buffer
        if self.weight.grad is not None and self.weight.grad is not buffer:
            buffer += self.weight.grad
        for unique, rows in leaves:
            if rows.grad is not None:
                if self.padding_idx is not None:
                    rows.grad[unique == self.padding_idx] = 0.0
                buffer.index_add_(0, unique, rows.grad)
        self.weight.grad = buffer

    def clear(self) -> None:
        """Drop the leaves of forward passes that will not be backpropagated."""
        self._leaves = []

    @property
    def pending(self) -> int:
        """How many leaves wait for :meth:`write`."""
        return len(self._leaves)
