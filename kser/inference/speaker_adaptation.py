"""The vectors a Keras model's speaker-adaptation graph compares (see `kser.speakers.adaptation`).

`SpeakerAdaptation` and the label propagation itself are numpy only and live
in `kser.speakers.adaptation`; they are re-exported here for older imports.
"""

from __future__ import annotations

import keras

from kser.models.weighted_ensemble import WeightedEnsemble
from kser.speakers.adaptation import (  # noqa: F401  (re-exported)
    GRAPHS,
    SpeakerAdaptation,
    clip_summaries,
    neighbour_graph,
    propagate,
)

# The layer whose input is a kser model's embedding (`kser.models.blocks.logits_head`).
EMBEDDING_LAYER = "logits"


def suited_graph(model) -> str:
    """Which of `GRAPHS` suits `model` (see `SpeakerAdaptation.suited_to`)."""
    if is_ensemble(model):
        return "members"
    reads_frames = any(tensor.shape[-1] != 1 for tensor in model.inputs)
    has_embedding = any(layer.name == EMBEDDING_LAYER for layer in model.layers)
    return "embedding" if reads_frames and has_embedding else "input"


def is_ensemble(model) -> bool:
    """Whether `model` joins member models, one per feature."""
    return isinstance(model, WeightedEnsemble)


def embedding_model(model) -> keras.Model:
    """`model` up to its embedding: the input of its "logits" layer."""
    return keras.Model(model.inputs, model.get_layer(EMBEDDING_LAYER).input)


def graph_vectors(model, inputs, batch_size: int = 64):
    """The vectors `model`'s suited graph compares for its normalized `inputs`.

    For an ensemble, a dict of its members' own: a member's embedding under
    the member's name, or its input under the feature's name (members that
    read one feature share it). The same for a member alone, so the graph of
    out-of-fold member predictions is the graph its ensemble will use.
    """
    if is_ensemble(model):
        vectors = {}
        for member, feature in zip(model.members, model.feature_names, strict=True):
            vectors.update(
                member_graph_vectors(member, member.name, feature, inputs[feature], batch_size)
            )
        return vectors
    if suited_graph(model) == "embedding":
        return keras.ops.convert_to_numpy(
            embedding_model(model).predict(inputs, batch_size=batch_size, verbose=0)
        )
    return inputs


def member_graph_vectors(model, name: str, feature: str, inputs, batch_size: int = 64) -> dict:
    """`{key: vectors}` of the ensemble member `name` (a `model` on `feature`) for its
    normalized `inputs`: keyed by `name` for an embedding, by `feature` for the input."""
    if suited_graph(model) == "embedding":
        return {name: graph_vectors(model, inputs, batch_size)}
    return {feature: inputs}
