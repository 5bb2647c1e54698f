"""kser's architectures: eight backend-agnostic Keras 3 classifiers.

Every model maps one input feature to **logits** (a dense layer named
"logits", no softmax): train with
`keras.losses.SparseCategoricalCrossentropy(from_logits=True)` and apply
`keras.ops.softmax` when probabilities are needed. The ensemble combines
member logits and applies its own temperature, which probabilities would
prevent. `WeightedEnsemble` (one input per feature, a dict) wraps trained
members, so `build_model` does not build it.

Inputs carry no channel axis; each model adds or reorders axes itself with
named layers, so the feature pipeline's arrays go in as they are:

- `audio_resnet`, `vgg16`, `cnn3`: `(n_bins, n_frames)` time-frequency images.
- `conv1d`: `(n_samples,)` waveforms or `(n_bins, n_frames)` feature
  sequences (bins become channels, frames become steps).
- `parallel_conv_bilstm`: `(n_features, n_frames)` frame-level descriptors.
- `linear`: any fixed shape, flattened: logistic regression, e.g. on utterance
  functionals `(n_values, 1)` (an ensemble member unlike the CNNs).
- `kernel`: any fixed shape, flattened: RBF-kernel logistic regression through
  random Fourier features, e.g. on the 19 prosodic values (an ensemble member
  unlike prosody fusion).
- `prosody_fusion`: utterance functionals whose last values are prosodic: a
  linear expert on the rest and an MLP on those, fused (kser's default).

Defaults are sized to train on a 2-core CPU; the full-size study models are
an argument away: `AudioResNet(..., width=1.0)`,
`VGG16(..., width=1.0, input_pool=(1, 1))`. Every class
is registered under the "kser" package, so `keras.saving.load_model` reads
their `.keras` files without `custom_objects`.
"""

from kser.errors import KserModelError
from kser.models.audio_resnet import AudioResNet
from kser.models.cnn3 import CNN3
from kser.models.conv1d_net import Conv1DNet
from kser.models.kernel import KernelClassifier
from kser.models.linear import LinearClassifier
from kser.models.parallel_conv_bilstm import ParallelConvBiLSTM
from kser.models.prosody_fusion import ProsodyFusionClassifier
from kser.models.vgg16 import VGG16
from kser.models.weighted_ensemble import WeightedEnsemble, WeightedLogits

MODELS = {
    "audio_resnet": AudioResNet,
    "vgg16": VGG16,
    "cnn3": CNN3,
    "conv1d": Conv1DNet,
    "parallel_conv_bilstm": ParallelConvBiLSTM,
    "linear": LinearClassifier,
    "kernel": KernelClassifier,
    "prosody_fusion": ProsodyFusionClassifier,
}


def model_names():
    """The names `build_model` accepts."""
    return tuple(MODELS)


def build_model(name, input_shape, num_classes=6, **kwargs):
    """Build the architecture called `name`; `kwargs` go to its constructor.

    Example: `build_model("audio_resnet", (64, 301), width=1.0)`.
    """
    if name not in MODELS:
        raise KserModelError(
            f"Unknown model name. Expected one of {model_names()}. Received: name={name!r}"
        )
    return MODELS[name](input_shape=input_shape, num_classes=num_classes, **kwargs)


__all__ = [
    "CNN3",
    "VGG16",
    "AudioResNet",
    "Conv1DNet",
    "KernelClassifier",
    "LinearClassifier",
    "ParallelConvBiLSTM",
    "ProsodyFusionClassifier",
    "WeightedEnsemble",
    "WeightedLogits",
    "build_model",
    "model_names",
]
