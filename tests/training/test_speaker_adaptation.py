"""Speaker adaptation: label propagation over each speaker's clips."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from kser.errors import KserBundleError, KserEvaluationError
from kser.inference.speaker_adaptation import (
    SpeakerAdaptation,
    clip_summaries,
    neighbour_graph,
    propagate,
)
from kser.models import build_model
from kser.training import load_bundle, save_bundle
from tests.training.helpers import make_bundle


def _clustered_speaker(n_per_class=30, classes=3, wrong=0.3, seed=0):
    """Clips in one tight cluster per class; probabilities with a wrong argmax for `wrong` of them.

    Returns `(features (n, 8, 1), probabilities (n, classes), labels)`."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(classes), n_per_class)
    centres = rng.normal(size=(classes, 8)) * 3
    features = centres[labels] + rng.normal(size=(len(labels), 8)) * 0.5
    predicted = labels.copy()
    flipped = rng.random(len(labels)) < wrong
    predicted[flipped] = (labels[flipped] + rng.integers(1, classes, flipped.sum())) % classes
    probabilities = np.full((len(labels), classes), 0.2 / (classes - 1))
    probabilities[np.arange(len(labels)), predicted] = 0.8
    return features[..., None], probabilities, labels


def test_neighbours_of_the_same_emotion_correct_the_odd_mistakes():
    features, probabilities, labels = _clustered_speaker()
    before = (probabilities.argmax(1) == labels).mean()
    adapted = SpeakerAdaptation().apply(probabilities, features, np.zeros(len(labels)))
    after = (adapted.argmax(1) == labels).mean()
    assert before < 0.75
    assert after > 0.95
    np.testing.assert_allclose(adapted.sum(axis=1), 1.0, rtol=1e-5)
    assert (adapted >= 0).all()


def test_speakers_are_adapted_apart():
    features, probabilities, _ = _clustered_speaker()
    other_features, other_probabilities, _ = _clustered_speaker(seed=1)
    adaptation = SpeakerAdaptation(neighbours=5)
    alone = adaptation.apply(probabilities, features, np.zeros(len(features)))
    together = adaptation.apply(
        np.concatenate([probabilities, other_probabilities]),
        np.concatenate([features, other_features]),
        np.repeat(["a", "b"], [len(features), len(other_features)]),
    )
    np.testing.assert_allclose(together[: len(features)], alone, rtol=1e-5)


def test_strength_zero_or_a_lone_clip_leaves_predictions_unchanged():
    features, probabilities, _ = _clustered_speaker()
    unchanged = SpeakerAdaptation(strength=0.0).apply(probabilities, features, np.zeros(90))
    np.testing.assert_allclose(unchanged, probabilities, rtol=1e-6)
    lone = SpeakerAdaptation().apply(probabilities, features, np.arange(90))
    np.testing.assert_allclose(lone, probabilities, rtol=1e-6)
    # Three clips: k is capped at the two others.
    few = SpeakerAdaptation(neighbours=10).apply(probabilities[:3], features[:3], np.zeros(3))
    assert not np.allclose(few, probabilities[:3])


def test_a_temperature_below_one_restores_confidence_without_changing_the_argmax():
    from kser.evaluation.calibration import fit_temperature, negative_log_likelihood

    features, probabilities, labels = _clustered_speaker()
    speakers = np.zeros(len(labels))
    flat = SpeakerAdaptation().apply(probabilities, features, speakers)
    # Averaging over neighbours: right far more often than its confidence says.
    assert (flat.argmax(1) == labels).mean() > flat.max(axis=1).mean() + 0.2
    fitted = fit_temperature(np.log(flat), labels)
    assert fitted < 1.0
    sharp = SpeakerAdaptation(temperature=fitted).apply(probabilities, features, speakers)
    np.testing.assert_array_equal(sharp.argmax(1), flat.argmax(1))
    np.testing.assert_allclose(sharp.sum(axis=1), 1.0, rtol=1e-6)
    assert negative_log_likelihood(np.log(sharp), labels) < (
        negative_log_likelihood(np.log(flat), labels) - 0.1
    )
    # A lone clip is not averaged, so it is not re-tempered either.
    lone = SpeakerAdaptation(temperature=0.3).apply(probabilities, features, np.arange(90))
    np.testing.assert_allclose(lone, probabilities, rtol=1e-6)


def test_bundles_saved_before_the_temperature_existed_adapt_as_before():
    stored = {"neighbours": 10, "strength": 0.8, "graph": "input"}
    assert SpeakerAdaptation.from_dict(stored).temperature == 1.0
    with pytest.raises(ValueError, match="temperature must be a positive number"):
        SpeakerAdaptation(temperature=0.0)


def test_the_closed_form_is_the_fixed_point_of_the_iteration():
    features, probabilities, _ = _clustered_speaker(n_per_class=10)
    graph = neighbour_graph(clip_summaries(features), neighbours=4)
    np.testing.assert_allclose(graph.sum(axis=1), 1.0)
    np.testing.assert_allclose(graph > 0, graph.T > 0)  # symmetric edges
    assert np.diag(graph).max() == 0
    iterated = probabilities.copy()
    for _ in range(300):
        iterated = 0.3 * probabilities + 0.7 * graph @ iterated
    np.testing.assert_allclose(propagate(probabilities, graph, 0.7), iterated, rtol=1e-8)


def test_clip_summaries_are_values_or_their_frame_mean_and_std():
    vectors = np.arange(12.0).reshape(3, 4, 1)
    np.testing.assert_array_equal(clip_summaries(vectors), vectors[..., 0])
    frames = np.random.default_rng(0).normal(size=(3, 4, 5))
    summary = clip_summaries(frames)
    np.testing.assert_allclose(summary[:, :4], frames.mean(-1))
    np.testing.assert_allclose(summary[:, 4:], frames.std(-1))
    joined = clip_summaries({"b": vectors, "a": frames})
    np.testing.assert_allclose(joined, np.concatenate([summary, vectors[..., 0]], axis=1))


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="neighbours"):
        SpeakerAdaptation(neighbours=0)
    with pytest.raises(ValueError, match="strength"):
        SpeakerAdaptation(strength=1.0)
    with pytest.raises(ValueError, match="graph"):
        SpeakerAdaptation(graph="spectrogram")
    with pytest.raises(KserEvaluationError, match="4 predictions, 3 feature rows"):
        SpeakerAdaptation().apply(np.ones((4, 2)) / 2, np.ones((3, 2, 1)), np.zeros(4))


def test_a_bundle_keeps_its_adaptation_and_can_predict_without_it(tmp_path):
    bundle = make_bundle()
    bundle.info["speaker_adaptation"] = SpeakerAdaptation(neighbours=3).to_dict()
    loaded = load_bundle(save_bundle(bundle, tmp_path / "bundle"))
    assert loaded.speaker_adaptation == SpeakerAdaptation(neighbours=3)
    plain = loaded.with_speaker_adaptation(None)
    assert plain.speaker_adaptation is None and loaded.speaker_adaptation is not None
    waves = np.random.default_rng(0).normal(size=(24, 16000)).astype(np.float32) * 0.1
    features = loaded._extract(waves)
    adapted, unadapted = loaded.predict_features(features), plain.predict_features(features)
    assert not np.allclose(adapted, unadapted)
    np.testing.assert_allclose(
        adapted,
        SpeakerAdaptation(neighbours=3).apply(
            unadapted, loaded.normalizer.transform(features, np.zeros(24)), np.zeros(24)
        ),
        rtol=1e-4,
        atol=1e-6,
    )


def test_a_bundle_with_an_unusable_adaptation_is_refused(tmp_path):
    bundle = make_bundle()
    bundle.info["speaker_adaptation"] = {"neighbours": 10, "strength": 2.0}
    with pytest.raises(KserBundleError, match="speaker_adaptation.*strength"):
        load_bundle(save_bundle(bundle, tmp_path / "bundle"))


def test_models_over_frames_compare_embeddings_and_vector_models_their_inputs():
    frames = build_model("cnn3", (16, 20), num_classes=6, width=0.125)
    assert SpeakerAdaptation.suited_to(frames).graph == "embedding"
    vectors = build_model("linear", (40, 1), num_classes=6)
    assert SpeakerAdaptation.suited_to(vectors).graph == "input"
    # No "logits" layer to take an embedding from: the input.
    inputs = keras.Input((16, 20))
    unnamed = keras.Model(inputs, keras.layers.Dense(6)(keras.layers.Flatten()(inputs)))
    assert SpeakerAdaptation.suited_to(unnamed).graph == "input"


def test_an_embedding_graph_uses_the_input_of_the_logits_layer(tmp_path):
    bundle = make_bundle()
    adaptation = SpeakerAdaptation.suited_to(bundle.model)
    bundle = load_bundle(save_bundle(bundle.with_speaker_adaptation(adaptation), tmp_path / "b"))
    assert bundle.speaker_adaptation.graph == "embedding"
    waves = np.random.default_rng(1).normal(size=(24, 16000)).astype(np.float32) * 0.1
    features = bundle._extract(waves)
    normalized = bundle.normalizer.transform(features, np.zeros(24))
    embedding = keras.Model(bundle.model.inputs, bundle.model.get_layer("logits").input)
    expected = adaptation.apply(
        bundle.with_speaker_adaptation(None).predict_features(features),
        embedding.predict(normalized, verbose=0),
        np.zeros(24),
    )
    np.testing.assert_allclose(bundle.predict_features(features), expected, rtol=1e-4, atol=1e-6)


def test_an_embedding_graph_without_a_logits_layer_is_refused(tmp_path):
    bundle = make_bundle()
    inputs = keras.Input(bundle.model.inputs[0].shape[1:])
    bundle.model = keras.Model(inputs, keras.layers.Dense(6)(keras.layers.Flatten()(inputs)))
    bundle.info["speaker_adaptation"] = SpeakerAdaptation(graph="embedding").to_dict()
    with pytest.raises(KserBundleError, match="layer named 'logits'"):
        load_bundle(save_bundle(bundle, tmp_path / "bundle"))


def test_an_ensemble_compares_its_members_graph_vectors_joined():
    from kser.ensemble.members import renamed
    from kser.inference.speaker_adaptation import graph_vectors
    from kser.models import WeightedEnsemble

    keras.utils.set_random_seed(0)
    linear = renamed(build_model("linear", (40, 1)), "linear_member")
    kernel = renamed(build_model("kernel", (40, 1)), "kernel_member")
    frames = renamed(build_model("cnn3", (16, 20), width=0.125), "cnn_member")
    ensemble = WeightedEnsemble([linear, kernel, frames], ["functionals", "functionals", "mel"])
    assert SpeakerAdaptation.suited_to(ensemble).graph == "members"
    inputs = {
        "functionals": np.random.default_rng(0).normal(size=(5, 40, 1)).astype("float32"),
        "mel": np.random.default_rng(1).normal(size=(5, 16, 20)).astype("float32"),
    }
    vectors = graph_vectors(ensemble, inputs)
    # Members reading one vector per clip share their input; a frame model gives its embedding.
    assert sorted(vectors) == ["cnn_member", "functionals"]
    np.testing.assert_array_equal(vectors["functionals"], inputs["functionals"])
    embedding = keras.Model(frames.inputs, frames.get_layer("logits").input)
    np.testing.assert_allclose(
        vectors["cnn_member"], embedding.predict(inputs["mel"], verbose=0), rtol=1e-5, atol=1e-6
    )


def test_a_members_graph_on_a_single_model_is_refused(tmp_path):
    bundle = make_bundle()
    bundle.info["speaker_adaptation"] = SpeakerAdaptation(graph="members").to_dict()
    with pytest.raises(KserBundleError, match="needs an ensemble"):
        load_bundle(save_bundle(bundle, tmp_path / "bundle"))


def test_the_strength_grows_with_the_speakers_clips():
    adaptation = SpeakerAdaptation(strength=0.8, growth_clips=10.0)
    assert adaptation.strength_for(1) == 0.0
    assert adaptation.strength_for(11) == pytest.approx(0.4)
    assert adaptation.strength_for(10_001) == pytest.approx(0.8, abs=1e-3)
    features, probabilities, _ = _clustered_speaker()
    # A group of 90 adapted with growth is adapted with strength 0.8 * 89 / 99.
    grown = adaptation.apply(probabilities, features, np.zeros(90))
    fixed = SpeakerAdaptation(strength=0.8 * 89 / 99).apply(probabilities, features, np.zeros(90))
    np.testing.assert_allclose(grown, fixed, rtol=1e-9)
    # Growth 0 is the strength of bundles made before it existed.
    assert SpeakerAdaptation(growth_clips=0.0).strength_for(2) == 0.8
    with pytest.raises(ValueError, match="growth_clips"):
        SpeakerAdaptation(growth_clips=-1.0)
