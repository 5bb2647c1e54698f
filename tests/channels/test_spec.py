"""Channel specs: parsing, chaining, bad specs, and per-clip determinism."""

from __future__ import annotations

import numpy as np
import pytest

from kser.channels import Channel, clip_seed, parse_channel
from kser.errors import KserConfigError
from tests.helpers import tone

SAMPLE_RATE = 16000


def test_specs_parse_to_a_canonical_chain_applied_left_to_right():
    channel = parse_channel(" Telephone + noise:10.0+reverb:0.5 ")
    assert channel.stages == (("telephone", None), ("noise", 10.0), ("reverb", 0.5))
    assert channel.spec == "telephone+noise:10+reverb:0.5"
    assert parse_channel("clean") == parse_channel("none") == Channel()
    wave = tone(300, 1.0, SAMPLE_RATE)
    assert np.array_equal(Channel().apply(wave, SAMPLE_RATE, 0), wave)
    chained = parse_channel("telephone+noise:10").apply(wave, SAMPLE_RATE, 5)
    other_order = parse_channel("noise:10+telephone").apply(wave, SAMPLE_RATE, 5)
    assert not np.allclose(chained, other_order)


@pytest.mark.parametrize(
    "spec, problem",
    [
        ("", "empty"),
        ("phone", "unknown stage"),
        ("noise", "needs a value"),
        ("noise:abc", "SNR in dB from -20 to 60"),
        ("noise:100", "SNR in dB from -20 to 60"),
        ("reverb:0", "RT60 in seconds from 0.05 to 3"),
        ("telephone:8000", "takes no value"),
        ("telephone+", "unknown stage"),
    ],
)
def test_a_bad_spec_is_a_config_error_naming_it(spec, problem):
    with pytest.raises(KserConfigError, match=problem) as raised:
        parse_channel(spec)
    assert repr(spec) in str(raised.value) or spec == ""


def test_a_clip_is_corrupted_the_same_way_every_time_and_differently_from_others():
    wave = tone(300, 1.0, SAMPLE_RATE)
    channel = parse_channel("noise:5+reverb:0.4")
    seed = clip_seed("/data/nemo/samples/SM0_anger_1.flac", 7)
    assert seed == clip_seed("/elsewhere/SM0_anger_1.flac", 7)  # the name, not the folder
    first, again = (channel.apply(wave, SAMPLE_RATE, seed) for _ in range(2))
    assert np.array_equal(first, again)
    other_clip = channel.apply(wave, SAMPLE_RATE, clip_seed("SM0_anger_2.flac", 7))
    other_base = channel.apply(wave, SAMPLE_RATE, clip_seed("SM0_anger_1.flac", 8))
    assert not np.allclose(first, other_clip) and not np.allclose(first, other_base)
