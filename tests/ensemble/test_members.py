"""Joining trained single-feature bundles into one multi-input ensemble bundle."""

import json

import keras
import numpy as np
import pytest

from kser import features
from kser.data.labels import EMOTIONS
from kser.ensemble.members import Member, ensemble_bundle, train_member
from kser.errors import KserBundleError
from kser.features.normalization import Normalizer
from kser.inference.speaker_adaptation import SpeakerAdaptation
from kser.training import Bundle, ExperimentConfig, load_bundle, save_bundle
from kser.training.cross_validation import METRICS_FILE
from tests.helpers import tone

CLIP_SECONDS = 1.0
EXTRACTORS = {"mel": {"n_mels": 16}, "mfcc": {"n_mels": 16, "n_mfcc": 8}}


def member_bundle(feature, seed, normalization="speaker+global"):
    """An untrained single-feature bundle: flatten + dense on `feature`, fitted normalizer."""
    extractor = features.get(feature, **EXTRACTORS[feature])
    shape = (extractor.n_bins, extractor.n_frames(int(16000 * CLIP_SECONDS)))
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape, name="features")
    flat = keras.layers.Flatten(name="flatten")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(len(EMOTIONS), name="logits")(flat))
    train = np.random.default_rng(seed).normal(size=(6, *shape)) * 10 - 40
    normalizer = Normalizer(normalization).fit(train, np.repeat(["a", "b"], 3))
    return Bundle(model, extractor, normalizer, EMOTIONS, CLIP_SECONDS)


def joined(member_bundles, weights=(0.3, 1.2)):
    return ensemble_bundle(
        member_bundles,
        normalization="non_negative",
        l1=0.0,
        weight_logits=np.array(weights),
        temperature=1.7,
        info={"note": "test"},
    )


def test_the_ensemble_bundle_saves_loads_and_predicts_like_any_bundle(tmp_path):
    bundle = joined({"mel_dense": member_bundle("mel", 0), "mfcc_dense": member_bundle("mfcc", 1)})
    directory = save_bundle(bundle, tmp_path / "ensemble")
    description = json.loads((directory / "bundle.json").read_text())
    assert sorted(description["features"]) == ["mel", "mfcc"]
    assert description["normalization"] == {"mel": "speaker+global", "mfcc": "speaker+global"}
    assert (directory / "normalizer.mel.json").is_file()

    loaded = load_bundle(directory)
    waves = [tone(220.0, 0.7), tone(440.0, 1.6)]  # the second is scored in two windows
    expected = bundle.predict_waveforms(waves)
    np.testing.assert_allclose(loaded.predict_waveforms(waves), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(expected.sum(axis=1), 1.0, rtol=1e-5)
    assert loaded.model.mixing_weights() == pytest.approx({"mel_dense": 0.3, "mfcc_dense": 1.2})
    assert float(keras.ops.convert_to_numpy(loaded.model.combiner.temperature)) == pytest.approx(
        1.7
    )
    assert loaded.sample_rate == 16000 and loaded.info["note"] == "test"
    assert loaded.speaker_adaptation is None  # neither member adapts


def test_the_ensemble_adapts_to_each_speaker_as_its_members_do():
    adapting = member_bundle("mfcc", 1)
    adapting.info["speaker_adaptation"] = SpeakerAdaptation(graph="embedding").to_dict()
    bundle = joined({"mel_dense": member_bundle("mel", 0), "mfcc_dense": adapting})
    assert bundle.speaker_adaptation == SpeakerAdaptation(graph="members")
    waves = np.stack([tone(220.0 * (1 + i / 10), 1.0) for i in range(6)])
    features = bundle._extract(waves)
    adapted = bundle.predict_features(features)
    unadapted = bundle.with_speaker_adaptation(None).predict_features(features)
    assert not np.allclose(adapted, unadapted)
    # The graph joins each member's embedding (here its flattened normalized input).
    speakers = np.zeros(len(waves))
    embeddings = {
        name: bundle.normalizers[feature].transform(features[feature], speakers).reshape(6, -1)
        for name, feature in (("mel_dense", "mel"), ("mfcc_dense", "mfcc"))
    }
    np.testing.assert_allclose(
        adapted,
        SpeakerAdaptation().apply(unadapted, embeddings, speakers),
        rtol=1e-4,
        atol=1e-6,
    )


def test_members_reading_one_feature_must_share_its_normalization():
    with pytest.raises(KserBundleError, match="member 'mel_b' differs"):
        joined({"mel_a": member_bundle("mel", 0), "mel_b": member_bundle("mel", 1)})
    shared = member_bundle("mel", 0)
    other = member_bundle("mel", 1)
    other.normalizers = shared.normalizers
    bundle = joined({"mel_a": shared, "mel_b": other})
    assert list(bundle.extractors) == ["mel"]


def test_a_bundle_missing_an_inputs_normalization_is_refused(tmp_path):
    bundle = joined({"mel_dense": member_bundle("mel", 0), "mfcc_dense": member_bundle("mfcc", 1)})
    directory = save_bundle(bundle, tmp_path / "ensemble")
    description = json.loads((directory / "bundle.json").read_text())
    del description["normalization"]["mfcc"]
    (directory / "bundle.json").write_text(json.dumps(description))
    with pytest.raises(KserBundleError, match="normalization of each input"):
        load_bundle(directory)


def test_saving_refuses_extractors_that_do_not_match_the_model_inputs(tmp_path):
    bundle = joined({"mel_dense": member_bundle("mel", 0), "mfcc_dense": member_bundle("mfcc", 1)})
    del bundle.extractors["mfcc"]
    with pytest.raises(KserBundleError, match=r"inputs are \['mel', 'mfcc'\]"):
        save_bundle(bundle, tmp_path / "ensemble")


def test_a_finished_member_run_is_reused_only_for_the_same_feature_values(tmp_path):
    fold = tmp_path / "mel_conv1d" / "loso-F1"
    saved = save_bundle(member_bundle("mel", 0), fold / "bundle")
    (fold / METRICS_FILE).write_text("{}")
    member = Member(ExperimentConfig(feature="mel", feature_params=EXTRACTORS["mel"]))
    same = features.get("mel", **EXTRACTORS["mel"])
    # Finished: loaded, not retrained (no corpus, split or features are needed).
    reused = train_member(None, member, None, fold, same, None)
    assert reused.extractor.params == load_bundle(saved).extractor.params
    with pytest.raises(KserBundleError, match=r"loso-F1.*other feature parameters"):
        train_member(None, member, None, fold, features.get("mel", n_mels=32), None)


class _Features:
    """The two things `out_of_fold_graph` reads of a `FeatureSet`."""

    def __init__(self, values, speakers):
        self.values, self.speakers = values, speakers

    def as_numpy(self):
        return self.values


def test_each_rows_graph_vectors_come_from_the_model_that_held_it_out(monkeypatch):
    import kser.ensemble.members as members_module
    from kser.ensemble import MemberLogits
    from kser.ensemble.members import out_of_fold_graph

    fold_bundles = {"fold-0": member_bundle("mel", 0), "fold-1": member_bundle("mel", 1)}
    loaded = []

    def load_fold_member(directory):
        loaded.append(directory.name)
        return fold_bundles[directory.name]

    monkeypatch.setattr(members_module, "load_member", load_fold_member)
    shape = fold_bundles["fold-0"].model.input_shape[1:]
    values = np.random.default_rng(2).normal(size=(8, *shape)).astype("float32") * 10 - 40
    speakers = np.repeat(["a", "b"], 4)
    folds = np.array(["fold-0", "fold-1"] * 4)
    member_logits = MemberLogits(("mel_cnn3",), np.arange(8), np.zeros((8, 1, 6)), folds)
    member = Member(ExperimentConfig(feature="mel", model="cnn3"))

    graph = out_of_fold_graph(
        member_logits, [member], {"mel": _Features(values, speakers)}, "members"
    )
    assert sorted(loaded) == ["fold-0", "fold-1"]
    # The members here flatten their input into the logits layer: the embedding is that input,
    # normalized by the fold model's own normalizer over the held-out rows' speakers.
    assert list(graph) == ["mel_cnn3"]
    for fold, bundle in fold_bundles.items():
        rows = np.flatnonzero(folds == fold)
        expected = bundle.normalizer.transform(values[rows], speakers[rows]).reshape(4, -1)
        np.testing.assert_allclose(graph["mel_cnn3"][rows], expected, rtol=1e-5, atol=1e-5)
