"""Parallel Conv1D and BiLSTM paths over frame-level descriptors (e.g. ZCR and RMS)."""

import keras
from keras import layers

from kser.models import arguments
from kser.models.blocks import conv_bn_relu, dense_relu, logits_head, max_pool, time_major
from kser.models.kser_model import KserModel


def conv_path(x, filters, kernel_size, name):
    """Local patterns: conv-BN-ReLU-max-pool blocks, then global max pooling."""
    for i, block_filters in enumerate(filters, start=1):
        x = conv_bn_relu(x, block_filters, kernel_size, name=f"{name}_block{i}")
        x = max_pool(x, 2, name=f"{name}_block{i}_pool")
    return layers.GlobalMaxPooling1D(name=f"{name}_global_pool")(x)


def bilstm_path(x, units, num_layers, dropout, name):
    """Stacked bidirectional LSTMs with dropout between layers; the last one returns a vector."""
    for i in range(1, num_layers + 1):
        last = i == num_layers
        x = layers.Bidirectional(
            layers.LSTM(units, return_sequences=not last, name=f"{name}_lstm{i}"),
            name=f"{name}_bilstm{i}",
        )(x)
        if not last and dropout > 0:
            x = layers.Dropout(dropout, name=f"{name}_dropout{i}")(x)
    return x


@keras.saving.register_keras_serializable(package="kser")
class ParallelConvBiLSTM(KserModel):
    """A Conv1D path and a BiLSTM path over a `(n_features, n_frames)` sequence, returning logits.

    Meant for a few frame-level descriptors, such as zero-crossing rate and
    RMS energy (2 features x frames). The input is transposed inside the
    model so frames are the steps; the two paths read it in parallel, their
    outputs are concatenated and classified by dense layers.

    Args:
        input_shape: `(n_features, n_frames)`; `n_frames` may be `None`.
        num_classes: number of output logits.
        conv_filters: filters of each conv block of the Conv1D path.
        kernel_size: kernel length of the Conv1D path.
        lstm_units: units of each LSTM direction.
        lstm_layers: number of stacked BiLSTM layers.
        dense_units: units of each dense layer after the concatenation.
        dropout: dropout rate between BiLSTM layers, after each dense layer.
    """

    def __init__(
        self,
        input_shape,
        num_classes=6,
        conv_filters=(64, 128),
        kernel_size=3,
        lstm_units=64,
        lstm_layers=2,
        dense_units=(128, 64),
        dropout=0.3,
        **kwargs,
    ):
        input_shape = arguments.check_input_shape(input_shape, (2,), "(n_features, n_frames)")
        arguments.check_num_classes(num_classes)
        conv_filters = arguments.check_positive_ints("conv_filters", conv_filters)
        arguments.check_positive_int("kernel_size", kernel_size)
        arguments.check_positive_int("lstm_units", lstm_units)
        arguments.check_positive_int("lstm_layers", lstm_layers)
        dense_units = arguments.check_positive_ints("dense_units", dense_units)
        dropout = arguments.check_rate("dropout", dropout)

        # === Functional Model ===
        inputs = keras.Input(shape=input_shape, name="features")
        sequence = time_major(inputs)
        x = layers.Concatenate(name="concat")(
            [
                conv_path(sequence, conv_filters, kernel_size, name="conv"),
                bilstm_path(sequence, lstm_units, lstm_layers, dropout, name="recurrent"),
            ]
        )
        for i, units in enumerate(dense_units, start=1):
            x = dense_relu(x, units, name=f"dense{i}")
            if dropout > 0:
                x = layers.Dropout(dropout, name=f"dense{i}_dropout")(x)
        outputs = logits_head(x, num_classes, dropout=0.0)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self.num_classes = num_classes
        self.conv_filters = conv_filters
        self.kernel_size = kernel_size
        self.lstm_units = lstm_units
        self.lstm_layers = lstm_layers
        self.dense_units = dense_units
        self.dropout = dropout

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_classes": self.num_classes,
                "conv_filters": self.conv_filters,
                "kernel_size": self.kernel_size,
                "lstm_units": self.lstm_units,
                "lstm_layers": self.lstm_layers,
                "dense_units": self.dense_units,
                "dropout": self.dropout,
            }
        )
        return config
