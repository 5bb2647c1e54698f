"""A light three-block CNN for one-channel time-frequency inputs."""

import keras
from keras import layers

from kser.models import arguments
from kser.models.blocks import (
    add_channel_axis,
    conv_bn_relu,
    logits_head,
    max_pool,
    pool_input,
    scaled_filters,
)
from kser.models.kser_model import KserModel

BLOCK_FILTERS = (32, 64, 128)


@keras.saving.register_keras_serializable(package="kser")
class CNN3(KserModel):
    """Three conv-BN-ReLU-max-pool blocks and global average pooling, returning logits.

    Args:
        input_shape: `(n_bins, n_frames)`; `n_frames` may be `None`.
        num_classes: number of output logits.
        width: multiplier of the filter counts (32, 64, 128); `1.0` is the
            study model (~95k parameters) and already trains on a CPU.
        input_pool: `(bins, frames)` average-pooling factors applied to the
            input; `(1, 1)` leaves it as is.
        dropout: dropout rate before the logits layer.
    """

    def __init__(
        self,
        input_shape,
        num_classes=6,
        width=1.0,
        input_pool=(1, 1),
        dropout=0.3,
        **kwargs,
    ):
        input_shape = arguments.check_input_shape(input_shape, (2,), "(n_bins, n_frames)")
        arguments.check_num_classes(num_classes)
        width = arguments.check_width(width)
        pool_size = arguments.check_positive_ints("input_pool", input_pool, length=2)
        dropout = arguments.check_rate("dropout", dropout)

        # === Functional Model ===
        inputs = keras.Input(shape=input_shape, name="features")
        x = add_channel_axis(inputs)
        x = pool_input(x, pool_size)
        for i, filters in enumerate(BLOCK_FILTERS, start=1):
            x = conv_bn_relu(x, scaled_filters(filters, width), 3, name=f"block{i}")
            x = max_pool(x, 2, name=f"block{i}_pool")
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        outputs = logits_head(x, num_classes, dropout)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self.num_classes = num_classes
        self.width = width
        self.input_pool = pool_size
        self.dropout = dropout

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_classes": self.num_classes,
                "width": self.width,
                "input_pool": self.input_pool,
                "dropout": self.dropout,
            }
        )
        return config
