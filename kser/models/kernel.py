"""Kernel logistic regression through random Fourier features (an RBF-kernel classifier)."""

import math

import keras
from keras import layers, ops

from kser.models import arguments
from kser.models.blocks import logits_head
from kser.models.kser_model import KserModel

# The random map is part of the architecture: the same for every build.
RANDOM_MAP_SEED = 0


@keras.saving.register_keras_serializable(package="kser")
class KernelClassifier(KserModel):
    """Flatten, a fixed random Fourier map, and one L2-penalised dense layer of logits.

    `sqrt(2 / D) cos(W x + b)` with `W ~ N(0, 2 gamma)` and `b ~ U(0, 2 pi)`
    approximates the RBF kernel `exp(-gamma |x - x'|^2)` (Rahimi & Recht 2007,
    "Random features for large-scale kernel machines"), so a linear layer on it
    is kernel logistic regression: decision regions that bend, drawn from
    distances between clips rather than from a stack of learned layers. The
    map is fixed (seeded, not trained) and saved with the weights.

    Meant for a few utterance-level values, e.g. the 19 prosodic statistics
    (`kser.features.get("prosody")`, z-scored per speaker): there its mistakes
    differ from the prosody fusion model's (whose prosodic expert is an MLP),
    which is what an ensemble member needs. On nEMO, leave-one-speaker-out
    (`kser train --protocol loso --feature prosody --model kernel`): UAR 0.508
    alone (0.496 with the default speaker adaptation on its input); blended
    about half and half with prosody fusion (`kser ensemble`), it lifts
    the fusion model's weakest speakers.

    Args:
        input_shape: the fixed input shape, e.g. `(n_values, 1)`.
        num_classes: number of output logits.
        features: D, the number of random Fourier features.
        gamma: the RBF kernel's width; None: `1 / n_values`, which suits
            standardised inputs (scikit-learn's "scale").
        l2: L2 penalty on the logits' weights, added to the mean loss.
    """

    def __init__(
        self,
        input_shape,
        num_classes=6,
        features=1000,
        gamma=None,
        l2=1e-4,
        **kwargs,
    ):
        input_shape = arguments.check_positive_ints("input_shape", tuple(input_shape))
        arguments.check_num_classes(num_classes)
        arguments.check_positive_int("features", features)
        n_values = math.prod(input_shape)
        gamma = 1.0 / n_values if gamma is None else arguments.check_positive("gamma", gamma)
        arguments.check_non_negative("l2", l2)

        # === Functional Model ===
        inputs = keras.Input(shape=input_shape, name="features")
        x = layers.Flatten(name="flatten")(inputs)
        x = layers.Dense(
            features,
            trainable=False,
            kernel_initializer=keras.initializers.RandomNormal(
                stddev=math.sqrt(2.0 * gamma), seed=RANDOM_MAP_SEED
            ),
            # Its own seed: normal and uniform draws from one seed are correlated,
            # which biases the kernel estimate (measured: error 0.046 -> 0.012).
            bias_initializer=keras.initializers.RandomUniform(
                0.0, 2.0 * math.pi, seed=RANDOM_MAP_SEED + 1
            ),
            name="random_projection",
        )(x)
        scale = math.sqrt(2.0 / features)
        x = layers.Activation(lambda z: scale * ops.cos(z), name="fourier_features")(x)
        outputs = logits_head(x, num_classes, 0.0, regularizer=keras.regularizers.L2(l2))
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self.num_classes = num_classes
        self.features = features
        self.gamma = float(gamma)
        self.l2 = float(l2)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_classes": self.num_classes,
                "features": self.features,
                "gamma": self.gamma,
                "l2": self.l2,
            }
        )
        return config
