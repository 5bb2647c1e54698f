"""The fast paths under the extractors: block prefix and frame sums, and results shared
within one call (kser.features.shared)."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from kser import features
from kser.features.dsp import frame_sums, prefix_sum
from kser.features.shared import shared, sharing


@pytest.mark.parametrize("length", [1, 2, 7, 16, 267, 779])
def test_prefix_sum_is_the_cumulative_sum(length):
    values = np.random.default_rng(length).normal(size=(2, 3, length))
    np.testing.assert_allclose(
        prefix_sum(tf.constant(values)).numpy(), np.cumsum(values, axis=-1), rtol=1e-12, atol=1e-12
    )


@pytest.mark.parametrize(
    ("frame_length", "hop_length"),
    [(400, 160), (7, 3), (50, 3)],  # 5 blocks of 80; 7 blocks of 1; framed (50 > 16 blocks)
)
def test_frame_sums_add_each_frame_s_samples(frame_length, hop_length):
    n_samples = 1000
    values = np.random.default_rng(0).normal(size=(2, n_samples + frame_length))
    n_frames = 1 + n_samples // hop_length
    expected = [
        values[:, t * hop_length : t * hop_length + frame_length].sum(axis=1)
        for t in range(n_frames)
    ]
    sums = frame_sums(tf.constant(values), frame_length, hop_length, n_frames).numpy()
    np.testing.assert_allclose(sums, np.stack(expected, axis=1), rtol=1e-10)


def test_shared_computes_once_per_key_and_tensor_inside_sharing_only():
    waves, other = tf.zeros([1, 8]), tf.ones([1, 8])
    calls = []

    def compute():
        calls.append(1)
        return tf.constant(len(calls))

    with sharing():
        first = shared("a", waves, compute)
        assert shared("a", waves, compute) is first
        shared("a", other, compute)  # another waveform tensor
        shared("b", waves, compute)  # another key
        with sharing():  # a nested extractor joins the outer call's memo
            assert shared("a", waves, compute) is first
    assert len(calls) == 3
    shared("a", waves, compute)  # outside any call: nothing is kept
    assert len(calls) == 4


def _graph_op_counts(extractor, op_type):
    graph = tf.function(extractor).get_concrete_function(tf.TensorSpec([2, 4000])).graph
    return sum(node.type == op_type for node in graph.get_operations())


def test_extractors_in_one_call_share_the_stft_and_the_cqt():
    # The MFCC alone takes two FFTs: its STFT and its DCT; the others add none.
    spectral = features.get("stack", features=["mel", "mfcc", "delta_mfcc", "hpss"])
    assert _graph_op_counts(features.get("mfcc"), "RFFT") == 2
    assert _graph_op_counts(spectral, "RFFT") == 2
    # One strided convolution per CQT octave, for chroma alone as for chroma and tonnetz.
    tonal = features.get("stack", features=["chroma", "tonnetz"])
    single = _graph_op_counts(features.get("chroma"), "Conv2D")
    assert single > 0 and _graph_op_counts(tonal, "Conv2D") == single


def test_a_stack_of_shared_parts_equals_its_parts_computed_alone():
    waves = tf.constant(np.random.default_rng(1).normal(size=(2, 4000)).astype(np.float32))
    names = ["mel", "mfcc", "delta_mfcc", "rms"]
    stacked = features.get("stack", features=names)(waves).numpy()
    alone = np.concatenate([features.get(name)(waves).numpy() for name in names], axis=1)
    np.testing.assert_array_equal(stacked, alone)
