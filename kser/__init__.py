"""kser: speech emotion recognition with Keras 3.

    from kser import ExperimentConfig, load_bundle, load_corpus, run_experiment

    outcome = run_experiment(load_corpus(), ExperimentConfig(protocol="loso"), "runs/loso")
    load_bundle(outcome.splits[0].bundle_directory).predict_files(["clip.wav"])

Names are imported on first use (`kser.SpeakerProfile` loads numpy only,
`kser.__version__` nothing), so `import kser` stays light.
"""

from kser.lazy import lazy_attributes
from kser.version import __version__

# name -> the submodule that defines it.
_EXPORTS = {
    "ExperimentConfig": "training.run",
    "SpeakerProfile": "speakers.profile",
    "load_bundle": "inference.bundle",
    "load_corpus": "data",
    "run_experiment": "training.run",
}

__all__ = ["__version__", *sorted(_EXPORTS)]

__getattr__ = lazy_attributes(__name__, _EXPORTS)
