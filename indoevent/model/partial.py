"""Partial labels: a word may be allowed several tags, and the loss is the negative log of their summed
probability.

A NER-only source (IndoNLU's NERP) says nothing about event triggers or dates, so its ``O`` words may be
``O`` or any tag of a label it does not annotate; a place it does not tell a GPE from a LOC may be
``B-GPE`` or ``B-LOC``; a pseudo-labelled article (self-training) fixes only its confident spans. The
allowed tags of each word (:attr:`~indoevent.text.iob.TaggedWords.allowed`) travel through the windows
as bit sets at the word's first sub-word (``label_bits``, :mod:`.data`), become a boolean
``label_mask`` [batch, positions, tags] in the collator, and :func:`partial_nll` turns it into the loss
inside the trainer. A source's loss weight (``weight`` of a ``data.conll`` entry) travels the same way as
one number per window (``loss_weight``) and scales its words' terms. The model keeps one head over every tag, so a run folder still loads with
``AutoModelForTokenClassification`` and ``pipeline()``.

A gold word allows its own tag only (a one-hot mask): its loss is exactly the cross-entropy, so a batch
of gold windows gives the model's own loss. Windows of articles without partial labels carry no bits at
all and train exactly as before.

torch is imported inside functions: ``import indoevent`` stays light.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

BITS = 62  # tag bits per int64 chunk: Arrow stores signed 64-bit integers, so bit 63 is left alone


def n_chunks(n_tags: int) -> int:
    """Chunks of :data:`BITS` bits that hold one bit per tag.

    >>> n_chunks(43), n_chunks(62), n_chunks(63)
    (1, 1, 2)
    """
    return max(1, -(-n_tags // BITS))


def tag_bits(tag_ids: Iterable[int], n_tags: int) -> list[int]:
    """The set ``tag_ids`` as bit chunks (tag ``t`` is bit ``t % 62`` of chunk ``t // 62``).

    >>> tag_bits([0, 2], 43)
    [5]
    >>> tag_bits([1, 62], 70)
    [2, 1]
    """
    out = [0] * n_chunks(n_tags)
    for t in tag_ids:
        out[t // BITS] |= 1 << (t % BITS)
    return out


def unpack_bits(bits: Any, n_tags: int) -> Any:
    """Bit chunks [..., chunks] (an int64 tensor) -> a boolean mask [..., n_tags]."""
    import torch

    shifts = torch.arange(BITS, dtype=torch.long)
    mask = (bits.unsqueeze(-1) >> shifts) & 1  # [..., chunks, BITS]
    return mask.flatten(-2)[..., :n_tags].bool()


def one_hot_mask(labels: Any, n_tags: int) -> Any:
    """Labels [batch, positions] (-100: no label) -> the mask [batch, positions, tags] allowing each
    labelled position its own tag only (the cross-entropy's target), for weighted full-label windows."""
    import torch

    keep = labels >= 0
    return torch.nn.functional.one_hot(labels.clamp(min=0), n_tags).bool() & keep.unsqueeze(-1)


def partial_nll(logits: Any, label_mask: Any, weights: Any = None) -> Any:
    """Mean over labelled positions (any allowed tag) of ``-log sum_{t allowed} softmax(logits)_t``,
    each position's term times its window's ``weights`` [batch] where given.

    With a one-hot mask this is the cross-entropy of the allowed tag; with every tag allowed, 0.
    Weighted, the sum is still divided by the number of labelled positions (not by the weights' sum):
    a word of weight 0.3 pulls 0.3 times as hard as a gold word whatever else shares its batch.
    Computed in float32 with log-sum-exp, so a bf16 forward does not lose the small probabilities.
    """
    import torch

    logits = logits.float()
    labelled = label_mask.any(-1)
    if not bool(labelled.any()):
        return logits.sum() * 0.0  # keeps the graph: a batch without labels contributes no gradient
    total = torch.logsumexp(logits, dim=-1)
    kept = torch.logsumexp(logits.masked_fill(~label_mask, float("-inf")), dim=-1)
    nll = total - kept
    if weights is not None:
        nll = nll * weights.to(nll.dtype).unsqueeze(-1)
    return nll[labelled].sum() / labelled.sum()
