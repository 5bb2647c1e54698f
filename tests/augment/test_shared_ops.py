import numpy as np
import pytest
import tensorflow as tf

from kser.augment.sampling import check_range
from kser.augment.shared_ops import add_noise, interpolate_last_axis
from kser.errors import KserFeatureError

SEED = tf.constant([1, 2], tf.int64)


def measured_snr_db(clean, noisy):
    axes = tuple(range(1, clean.ndim))
    return 10 * np.log10(clean.var(axis=axes) / ((noisy - clean) ** 2).mean(axis=axes))


@pytest.mark.parametrize("shape", [(2, 4000), (2, 8, 16)], ids=["waveform", "features"])
def test_noise_reaches_the_stated_snr_and_keeps_the_shape(shape):
    clean = (np.random.default_rng(0).normal(size=shape) + 3.0).astype(np.float32)
    noisy = add_noise(tf.constant(clean), SEED, snr_db=(20.0, 20.0)).numpy()
    assert noisy.shape == shape
    np.testing.assert_allclose(measured_snr_db(clean, noisy), 20.0, atol=0.01)


def test_noise_draws_each_examples_snr_from_the_range():
    clean = np.random.default_rng(1).normal(size=(6, 2000)).astype(np.float32)
    noisy = add_noise(tf.constant(clean), SEED, snr_db=(10.0, 30.0)).numpy()
    snr = measured_snr_db(clean, noisy)
    assert np.all((snr >= 10.0 - 0.01) & (snr <= 30.0 + 0.01))
    assert np.ptp(snr) > 1.0


def test_interpolation_reads_between_samples_and_fills_outside():
    inputs = tf.constant([[0.0, 10.0, 20.0, 30.0]])
    positions = tf.constant([[0.5, 2.25, 3.0, 3.5, -1.0]])
    out = interpolate_last_axis(inputs, positions, fill=-7.0).numpy()
    np.testing.assert_allclose(out, [[5.0, 22.5, 30.0, -7.0, -7.0]])


@pytest.mark.parametrize("value_range", [(2.0, 1.0), (-1.0, 0.5), (0.0, 5.0), "ab", 3])
def test_bad_ranges_are_rejected_with_the_parameter_name(value_range):
    with pytest.raises(KserFeatureError, match="width"):
        check_range("width", value_range, 0.0, 1.0)
