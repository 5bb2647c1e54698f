"""Speaker adaptation of Keras models, now `kser.inference.speaker_adaptation`: these
names stay importable from here."""

from kser.inference.speaker_adaptation import (  # noqa: F401  (the names older imports use)
    EMBEDDING_LAYER,
    GRAPHS,
    SpeakerAdaptation,
    clip_summaries,
    embedding_model,
    graph_vectors,
    is_ensemble,
    member_graph_vectors,
    neighbour_graph,
    propagate,
    suited_graph,
)
