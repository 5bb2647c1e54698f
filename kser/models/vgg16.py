"""VGG16 with batch normalization for one-channel spectrograms."""

import keras
from keras import layers

from kser.models import arguments
from kser.models.blocks import (
    add_channel_axis,
    conv_bn_relu,
    dense_relu,
    logits_head,
    max_pool,
    pool_input,
    scaled_filters,
)
from kser.models.kser_model import KserModel

# VGG16's 13 convolutions in five blocks; these filter counts are width=1.0.
BLOCK_FILTERS = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))


def vgg_block(x, filters, name):
    """3x3 conv-BN-ReLU layers with `filters` each, then 2x2 max pooling."""
    for i, block_filters in enumerate(filters, start=1):
        x = conv_bn_relu(x, block_filters, 3, name=f"{name}_conv{i}")
    return max_pool(x, 2, name=f"{name}_pool")


@keras.saving.register_keras_serializable(package="kser")
class VGG16(KserModel):
    """VGG16 (with batch norm) on a `(n_bins, n_frames)` mel spectrogram, returning logits.

    Five blocks of 3x3 convolutions, each followed by batch norm and ReLU, with
    max pooling after every block. The head pools globally instead of
    flattening (VGG's flattened 4096-unit head would hold most of the weights
    and fix the clip length), then a dense layer and dropout.

    Args:
        input_shape: `(n_bins, n_frames)`; `n_frames` may be `None`.
        num_classes: number of output logits.
        width: multiplier of VGG16's filter counts (64 to 512). `1.0` with
            `input_pool=(1, 1)` is full size (~15M parameters); the default `0.25`
            (16 to 128 filters, ~1M parameters) trains on a CPU.
        input_pool: `(bins, frames)` average-pooling factors applied to the
            input; the default `(2, 2)` quarters the cost of every layer.
        head_units: units of the dense layer before the logits.
        dropout: dropout rate after that dense layer.
    """

    def __init__(
        self,
        input_shape,
        num_classes=6,
        width=0.25,
        input_pool=(2, 2),
        head_units=256,
        dropout=0.5,
        **kwargs,
    ):
        input_shape = arguments.check_input_shape(input_shape, (2,), "(n_bins, n_frames)")
        arguments.check_num_classes(num_classes)
        width = arguments.check_width(width)
        pool_size = arguments.check_positive_ints("input_pool", input_pool, length=2)
        arguments.check_positive_int("head_units", head_units)
        dropout = arguments.check_rate("dropout", dropout)

        # === Functional Model ===
        inputs = keras.Input(shape=input_shape, name="features")
        x = add_channel_axis(inputs)
        x = pool_input(x, pool_size)
        for i, filters in enumerate(BLOCK_FILTERS, start=1):
            x = vgg_block(x, [scaled_filters(f, width) for f in filters], name=f"block{i}")
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = dense_relu(x, head_units, name="head_dense")
        outputs = logits_head(x, num_classes, dropout)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self.num_classes = num_classes
        self.width = width
        self.input_pool = pool_size
        self.head_units = head_units
        self.dropout = dropout

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_classes": self.num_classes,
                "width": self.width,
                "input_pool": self.input_pool,
                "head_units": self.head_units,
                "dropout": self.dropout,
            }
        )
        return config
