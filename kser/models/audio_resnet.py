"""ResNet18 for one-channel time-frequency inputs."""

import keras
from keras import layers

from kser.models import arguments
from kser.models.blocks import (
    CONV_INITIALIZER,
    add_channel_axis,
    batch_norm,
    conv_bn_relu,
    logits_head,
    pool_input,
    scaled_filters,
)
from kser.models.kser_model import KserModel

# ResNet18: two basic blocks per stage; these filter counts are width=1.0.
STAGE_FILTERS = (64, 128, 256, 512)
STAGE_BLOCKS = (2, 2, 2, 2)
STAGE_STRIDES = (1, 2, 2, 2)


def residual_block(x, filters, stride, name):
    """A basic block: two 3x3 conv-BN layers and an identity (or 1x1 projection) shortcut."""
    if stride != 1 or x.shape[-1] != filters:
        shortcut = layers.Conv2D(
            filters,
            1,
            strides=stride,
            use_bias=False,
            kernel_initializer=CONV_INITIALIZER,
            name=f"{name}_0_conv",
        )(x)
        shortcut = batch_norm(shortcut, name=f"{name}_0_bn")
    else:
        shortcut = x
    x = conv_bn_relu(x, filters, 3, strides=stride, name=f"{name}_1")
    x = layers.Conv2D(
        filters,
        3,
        padding="same",
        use_bias=False,
        kernel_initializer=CONV_INITIALIZER,
        name=f"{name}_2_conv",
    )(x)
    x = batch_norm(x, name=f"{name}_2_bn")
    x = layers.Add(name=f"{name}_add")([shortcut, x])
    return layers.ReLU(name=f"{name}_out")(x)


def residual_stack(x, filters, blocks, stride, name):
    """`blocks` residual blocks; the first one applies `stride`."""
    x = residual_block(x, filters, stride, name=f"{name}_block1")
    for i in range(2, blocks + 1):
        x = residual_block(x, filters, 1, name=f"{name}_block{i}")
    return x


@keras.saving.register_keras_serializable(package="kser")
class AudioResNet(KserModel):
    """ResNet18 on a `(n_bins, n_frames)` spectrogram-like feature, returning logits.

    The stem (7x7 convolution with stride 2, then 3x3 max pooling with stride
    2) and four stages of two basic residual blocks follow ResNet18; the input
    gets a channel axis inside the model. Convolutions use Kaiming (He normal)
    init, the dense head Xavier (Glorot) init.

    Args:
        input_shape: `(n_bins, n_frames)`; `n_frames` may be `None`.
        num_classes: number of output logits.
        width: multiplier of ResNet18's filter counts (64, 128, 256, 512).
            `1.0` is the full-size study model (~11M parameters); the default
            `0.25` (16 to 128 filters, ~0.7M parameters) trains on a CPU.
        input_pool: `(bins, frames)` average-pooling factors applied to the
            input before the stem; `(1, 1)` leaves it as is.
        dropout: dropout rate before the logits layer.
    """

    def __init__(
        self,
        input_shape,
        num_classes=6,
        width=0.25,
        input_pool=(1, 1),
        dropout=0.5,
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
        x = conv_bn_relu(x, scaled_filters(STAGE_FILTERS[0], width), 7, strides=2, name="stem")
        x = layers.MaxPooling2D(3, strides=2, padding="same", name="stem_pool")(x)
        for i, (filters, blocks, stride) in enumerate(
            zip(STAGE_FILTERS, STAGE_BLOCKS, STAGE_STRIDES, strict=True), start=1
        ):
            x = residual_stack(x, scaled_filters(filters, width), blocks, stride, name=f"stage{i}")
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
