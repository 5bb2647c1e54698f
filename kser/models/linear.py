"""A linear classifier (multinomial logistic regression) over a flat feature vector."""

import keras
from keras import layers

from kser.models import arguments
from kser.models.blocks import logits_head
from kser.models.kser_model import KserModel


@keras.saving.register_keras_serializable(package="kser")
class LinearClassifier(KserModel):
    """Flatten, dropout, and one L2-penalised dense layer of logits.

    Meant for utterance functionals (`kser.features.get("functionals")`,
    shape `(n_values, 1)`): the classic speech-emotion pipeline, which sees
    the whole clip at once and no local patterns, so its mistakes differ from
    a CNN's, which is what an ensemble member needs.

    Args:
        input_shape: the fixed input shape, e.g. `(n_values, 1)`.
        num_classes: number of output logits.
        l2: L2 penalty on the weights, added to the mean loss (scikit-learn's
            `LogisticRegression(C)` on `n` clips is `l2 = 1 / (2 C n)`). On nEMO
            functionals (all and active frames, 40 epochs), leave-one-speaker-out
            UAR: 0.504 at 1e-2, 0.499 at 3e-2, 0.480 at 1e-1; on all-frame
            functionals 0.485 at 3e-3, 0.489 at 1e-2.
        dropout: dropout rate on the inputs.
    """

    def __init__(self, input_shape, num_classes=6, l2=1e-2, dropout=0.0, **kwargs):
        input_shape = arguments.check_positive_ints("input_shape", tuple(input_shape))
        arguments.check_num_classes(num_classes)
        arguments.check_non_negative("l2", l2)
        dropout = arguments.check_rate("dropout", dropout)

        # === Functional Model ===
        inputs = keras.Input(shape=input_shape, name="features")
        x = layers.Flatten(name="flatten")(inputs)
        outputs = logits_head(x, num_classes, dropout, regularizer=keras.regularizers.L2(l2))
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self.num_classes = num_classes
        self.l2 = float(l2)
        self.dropout = dropout

    def get_config(self):
        config = super().get_config()
        config.update({"num_classes": self.num_classes, "l2": self.l2, "dropout": self.dropout})
        return config
