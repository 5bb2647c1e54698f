"""Bin names of representations and value names of utterance functionals."""

from __future__ import annotations

import pytest

from kser import features
from kser.features.naming import bin_frequencies, bin_names
from kser.xai.segments import functional_layout, input_segmentation


@pytest.mark.parametrize("name", [*features.names(), "stack", "prosody"])
def test_every_representation_names_each_of_its_bins_once(name):
    extractor = features.get(name)
    names = bin_names(extractor)
    assert len(names) == extractor.n_bins
    assert len(set(names)) == len(names)


def test_bins_with_a_meaning_are_named_by_it():
    assert bin_names(features.get("chroma"))[9] == "chroma A"
    assert bin_names(features.get("contrast"))[:2] == ["contrast 0-200 Hz", "contrast 200-400 Hz"]
    assert bin_names(features.get("tempogram"))[100] == "tempogram lag 1.00 s"
    frequencies = bin_frequencies(features.get("mel", n_mels=8, fmax=4000.0))
    assert len(frequencies) == 8 and 0 < frequencies[0] < frequencies[-1] < 4000
    assert bin_frequencies(features.get("mfcc")) is None


def test_functional_values_are_named_in_output_order():
    extractor = features.get(
        "functionals", features=["mel", "rms"], statistics=["mean", "p90"], active_threshold=0.1
    )
    n_mels = 64
    names = extractor.value_names()
    assert len(names) == extractor.n_bins == 2 * 2 * (n_mels + 1) + 1 + 19
    assert names[12] == "mel 12 mean"
    assert names[n_mels] == "rms mean"
    assert names[n_mels + 1 + 12] == "mel 12 p90"
    assert names[2 * (n_mels + 1) + n_mels + 1 + 12] == "mel 12 p90 (active)"
    assert names[-20] == "active fraction" and names[-19] == "pitch mean"
    assert "pitch range p10 p90" in names
    layout = functional_layout(extractor)
    assert layout[n_mels + 1 + 12] == ("mel", "p90") and layout[-1][0] == "prosody"
    segmentation = input_segmentation(extractor, (extractor.n_bins, 1))
    assert segmentation.names[:4] == ["mel mean", "rms mean", "mel p90", "rms p90"]
    assert segmentation.n == 4 + 4 + 1 + 19
