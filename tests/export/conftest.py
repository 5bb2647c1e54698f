"""Tiny bundles to export: a CNN on 16-band mel (front end in ONNX) and a two-feature ensemble
(made in tests/export/helpers.py)."""

from __future__ import annotations

import pytest

from kser.export import export_bundle
from kser.speakers.adaptation import SpeakerAdaptation
from tests.export.helpers import make_ensemble_bundle
from tests.training.helpers import make_bundle


@pytest.fixture(scope="module")
def mel_bundle():
    """The tiny mel CNN bundle, adapted on its embedding."""
    bundle = make_bundle()
    return bundle.with_speaker_adaptation(SpeakerAdaptation(neighbours=3, graph="embedding"))


@pytest.fixture(scope="module")
def exported_mel(mel_bundle, tmp_path_factory):
    directory = tmp_path_factory.mktemp("export") / "mel"
    return mel_bundle, export_bundle(mel_bundle, directory)


@pytest.fixture(scope="module")
def exported_ensemble(tmp_path_factory):
    bundle = make_ensemble_bundle()
    directory = tmp_path_factory.mktemp("export") / "ensemble"
    return bundle, export_bundle(bundle, directory)


@pytest.fixture
def tiny_corpus(tmp_path):
    """The 7-speaker synthetic nEMO corpus, loaded."""
    from kser.data import load_corpus
    from tests.helpers import make_nemo_directory

    return load_corpus(make_nemo_directory(tmp_path / "nemo"), verbose=False)
