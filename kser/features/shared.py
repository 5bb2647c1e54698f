"""Intermediate results computed once per call of an extractor, whoever asks for them.

Extractors nest: the default functionals read a stack of seven
representations, the RMS energy for their active frames and the prosody,
which reads the RMS energy again. Several of them start from the same STFT
power spectrum (mel, MFCC, delta MFCC), the same constant-Q transform (chroma,
tonnetz) or the same whole representation (rms). While an extractor runs,
`shared(key, waves, compute)` returns the result of the first `compute` for
the same `key` and the same waveform tensor, so each is computed (and traced)
once per batch. The memo lives for one outermost call only: it holds graph
tensors of one trace, never values across batches.
"""

from __future__ import annotations

import contextlib
import threading

_state = threading.local()


@contextlib.contextmanager
def sharing():
    """Within it (and any nested `sharing`), equal `shared` requests compute once."""
    if getattr(_state, "memo", None) is not None:
        yield
        return
    _state.memo = {}
    try:
        yield
    finally:
        _state.memo = None


def shared(key, waves, compute):
    """`compute()`, or its earlier result for the same hashable `key` and tensor `waves`
    inside the current `sharing()` (outside one, always `compute()`)."""
    memo = getattr(_state, "memo", None)
    if memo is None:
        return compute()
    entry = (key, waves.ref())
    if entry not in memo:
        memo[entry] = compute()
    return memo[entry]
