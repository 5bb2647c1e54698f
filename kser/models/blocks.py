"""Layer blocks shared by kser's architectures, in the style of `keras.applications`.

Each block takes a tensor and a `name` prefix and returns a tensor, so every
layer it adds is named after the block it belongs to.
"""

from keras import layers

# Kaiming init for convolutions (they feed ReLUs), Xavier for dense layers.
CONV_INITIALIZER = "he_normal"
DENSE_INITIALIZER = "glorot_uniform"

# PyTorch's BatchNorm momentum (Keras' default is 0.99): with ~100 steps per
# epoch on nEMO the moving statistics would otherwise lag the weights for
# several epochs and make validation scores swing.
BN_MOMENTUM = 0.9


def scaled_filters(filters, width):
    """`filters` times the `width` multiplier, at least one."""
    return max(1, round(filters * width))


def add_channel_axis(x, name="add_channel"):
    """`(batch, n_bins, n_frames)` -> `(batch, n_bins, n_frames, 1)` for 2-D convolutions."""
    return layers.Reshape((x.shape[1], -1, 1), name=name)(x)


def time_major(x, name="time_major"):
    """`(batch, n_bins, n_frames)` -> `(batch, n_frames, n_bins)`: steps first, bins as channels."""
    return layers.Permute((2, 1), name=name)(x)


def batch_norm(x, name):
    return layers.BatchNormalization(momentum=BN_MOMENTUM, name=name)(x)


def conv_bn_relu(x, filters, kernel_size, name, strides=1):
    """Convolution (1-D or 2-D, by the rank of `x`), batch norm, ReLU."""
    conv = layers.Conv2D if len(x.shape) == 4 else layers.Conv1D
    x = conv(
        filters,
        kernel_size,
        strides=strides,
        padding="same",
        use_bias=False,  # the batch norm's offset replaces it
        kernel_initializer=CONV_INITIALIZER,
        name=f"{name}_conv",
    )(x)
    x = batch_norm(x, name=f"{name}_bn")
    return layers.ReLU(name=f"{name}_relu")(x)


def max_pool(x, pool_size, name):
    """Max pooling (1-D or 2-D) that never shrinks an axis to zero on short inputs."""
    pool = layers.MaxPooling2D if len(x.shape) == 4 else layers.MaxPooling1D
    return pool(pool_size, padding="same", name=name)(x)


def pool_input(x, pool_size, name="input_pool"):
    """Average-pool a `(batch, n_bins, n_frames, 1)` input: a cheaper, coarser spectrogram."""
    if tuple(pool_size) == (1, 1):
        return x
    return layers.AveragePooling2D(pool_size, padding="same", name=name)(x)


def dense_relu(x, units, name, regularizer=None):
    return layers.Dense(
        units,
        activation="relu",
        kernel_initializer=DENSE_INITIALIZER,
        kernel_regularizer=regularizer,
        name=name,
    )(x)


def logits_head(x, num_classes, dropout, name="head", regularizer=None):
    """Dropout, then a dense layer named "logits" (no softmax: see `kser.models`)."""
    if dropout > 0:
        x = layers.Dropout(dropout, name=f"{name}_dropout")(x)
    return layers.Dense(
        num_classes,
        kernel_initializer=DENSE_INITIALIZER,
        kernel_regularizer=regularizer,
        name="logits",
    )(x)
