"""Logistic regression on spectral functionals fused with a small MLP on prosodic ones."""

import keras
import numpy as np
from keras import layers

from kser.errors import KserModelError
from kser.models import arguments
from kser.models.blocks import DENSE_INITIALIZER, dense_relu
from kser.models.kser_model import KserModel


@keras.saving.register_keras_serializable(package="kser")
class ProsodyFusionClassifier(KserModel):
    """Two experts over one functionals vector, fused as a weighted product of
    their class probabilities.

    The input is `kser.features.get("functionals")`, whose last
    `prosody_values` values are the prosodic functionals (`prosody=True`, the
    default). A linear expert (logistic regression, as `LinearClassifier`)
    reads the spectral functionals before them, a two-layer MLP the prosodic
    ones: 19 pitch and voicing statistics are too few, and too entangled
    (a high pitch with a flat contour is another emotion than with a wide one),
    for a linear map. The logits are
    `(1 - prosody_weight) * log_softmax(linear) + prosody_weight * log_softmax(mlp)`.

    Trained jointly the larger linear expert fits the training speakers first;
    weighting the prosodic expert up keeps it heard: on nEMO
    (leave-one-speaker-out) UAR rose with the prosody weight up to about 0.8
    and beat either expert alone (docs/results.md).

    Args:
        input_shape: `(n_values, 1)`, with `n_values > prosody_values`.
        num_classes: number of output logits.
        prosody_values: how many trailing input values the MLP reads (19:
            `kser.features.pitch.PROSODY_VALUES`).
        prosody_weight: the prosodic expert's share of the fused log-probabilities.
        hidden_units: width of the MLP's two hidden layers.
        l2: L2 penalty on the linear expert's weights (see `LinearClassifier`).
        mlp_l2: L2 penalty on the MLP's hidden weights.
        dropout: dropout after each hidden layer of the MLP.
    """

    def __init__(
        self,
        input_shape,
        num_classes=6,
        prosody_values=19,
        prosody_weight=0.8,
        hidden_units=64,
        l2=1e-2,
        mlp_l2=1e-3,
        dropout=0.3,
        **kwargs,
    ):
        input_shape = arguments.check_positive_ints("input_shape", tuple(input_shape), length=2)
        arguments.check_num_classes(num_classes)
        arguments.check_positive_int("prosody_values", prosody_values)
        arguments.check_positive_int("hidden_units", hidden_units)
        n_values = input_shape[0]
        if input_shape[1] != 1 or n_values <= prosody_values:
            raise KserModelError(
                "`input_shape` must be (n_values, 1) with more than `prosody_values` "
                f"values. Received: input_shape={input_shape!r}, prosody_values={prosody_values}"
            )
        arguments.check_fraction("prosody_weight", prosody_weight)
        arguments.check_non_negative("l2", l2)
        arguments.check_non_negative("mlp_l2", mlp_l2)
        dropout = arguments.check_rate("dropout", dropout)

        # === Functional Model ===
        inputs = keras.Input(shape=input_shape, name="features")
        spectral = layers.Cropping1D((0, prosody_values), name="spectral_values")(inputs)
        spectral = layers.Flatten(name="spectral_flatten")(spectral)
        spectral = layers.Dense(
            num_classes,
            kernel_initializer=DENSE_INITIALIZER,
            kernel_regularizer=keras.regularizers.L2(l2),
            name="spectral_logits",
        )(spectral)

        prosody = layers.Cropping1D((n_values - prosody_values, 0), name="prosody_values")(inputs)
        prosody = layers.Flatten(name="prosody_flatten")(prosody)
        for index in (1, 2):
            prosody = dense_relu(
                prosody,
                hidden_units,
                name=f"prosody_hidden{index}",
                regularizer=keras.regularizers.L2(mlp_l2),
            )
            if dropout > 0:
                prosody = layers.Dropout(dropout, name=f"prosody_dropout{index}")(prosody)
        prosody = layers.Dense(
            num_classes, kernel_initializer=DENSE_INITIALIZER, name="prosody_logits"
        )(prosody)

        log_probabilities = layers.Concatenate(name="expert_log_probabilities")(
            [
                layers.Activation("log_softmax", name="spectral_log_softmax")(spectral),
                layers.Activation("log_softmax", name="prosody_log_softmax")(prosody),
            ]
        )
        # The weighted sum as a fixed dense layer, so the output is still a
        # linear layer named "logits", as every kser model's is.
        mixing = np.concatenate(
            [(1 - prosody_weight) * np.eye(num_classes), prosody_weight * np.eye(num_classes)]
        )
        outputs = layers.Dense(
            num_classes,
            use_bias=False,
            trainable=False,
            kernel_initializer=keras.initializers.Constant(mixing.astype("float32")),
            name="logits",
        )(log_probabilities)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self.num_classes = num_classes
        self.prosody_values = prosody_values
        self.prosody_weight = float(prosody_weight)
        self.hidden_units = hidden_units
        self.l2 = float(l2)
        self.mlp_l2 = float(mlp_l2)
        self.dropout = dropout

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_classes": self.num_classes,
                "prosody_values": self.prosody_values,
                "prosody_weight": self.prosody_weight,
                "hidden_units": self.hidden_units,
                "l2": self.l2,
                "mlp_l2": self.mlp_l2,
                "dropout": self.dropout,
            }
        )
        return config
