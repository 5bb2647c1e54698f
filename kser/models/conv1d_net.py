"""A four-block 1-D CNN on raw waveforms or on feature sequences."""

import keras
from keras import layers

from kser.models import arguments
from kser.models.blocks import conv_bn_relu, logits_head, max_pool, time_major
from kser.models.kser_model import KserModel

BLOCK_FILTERS = (32, 64, 128, 256)


@keras.saving.register_keras_serializable(package="kser")
class Conv1DNet(KserModel):
    """Four Conv1D-BN-ReLU-max-pool blocks and global average pooling, returning logits.

    A `(n_samples,)` input is a waveform: one channel, one step per sample.
    A `(n_bins, n_frames)` input is a feature sequence: it is transposed inside
    the model so frames are the steps and bins the channels.

    Args:
        input_shape: `(n_samples,)` or `(n_bins, n_frames)`; the last axis
            may be `None`.
        num_classes: number of output logits.
        kernel_size: length of every convolution kernel.
        pool_size: max-pooling factor after every block.
        stem_stride: stride of the first convolution. `None` picks 4 for
            waveforms (3 s at 16 kHz become 12,000 steps, ~4x cheaper to
            train) and 1 for feature sequences, whose frames are already few.
        dropout: dropout rate before the logits layer.
    """

    def __init__(
        self,
        input_shape,
        num_classes=6,
        kernel_size=9,
        pool_size=4,
        stem_stride=None,
        dropout=0.3,
        **kwargs,
    ):
        input_shape = arguments.check_input_shape(
            input_shape, (1, 2), "(n_samples,) or (n_bins, n_frames)"
        )
        arguments.check_num_classes(num_classes)
        arguments.check_positive_int("kernel_size", kernel_size)
        arguments.check_positive_int("pool_size", pool_size)
        if stem_stride is None:
            stem_stride = 4 if len(input_shape) == 1 else 1
        arguments.check_positive_int("stem_stride", stem_stride)
        dropout = arguments.check_rate("dropout", dropout)

        # === Functional Model ===
        inputs = keras.Input(shape=input_shape, name="features")
        if len(input_shape) == 1:
            x = layers.Reshape((-1, 1), name="add_channel")(inputs)
        else:
            x = time_major(inputs)
        for i, filters in enumerate(BLOCK_FILTERS, start=1):
            strides = stem_stride if i == 1 else 1
            x = conv_bn_relu(x, filters, kernel_size, strides=strides, name=f"block{i}")
            x = max_pool(x, pool_size, name=f"block{i}_pool")
        x = layers.GlobalAveragePooling1D(name="avg_pool")(x)
        outputs = logits_head(x, num_classes, dropout)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self.num_classes = num_classes
        self.kernel_size = kernel_size
        self.pool_size = pool_size
        self.stem_stride = stem_stride
        self.dropout = dropout

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_classes": self.num_classes,
                "kernel_size": self.kernel_size,
                "pool_size": self.pool_size,
                "stem_stride": self.stem_stride,
                "dropout": self.dropout,
            }
        )
        return config
