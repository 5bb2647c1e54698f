"""The base class of kser's architectures: a functional model whose config is its arguments."""

import keras


class KserModel(keras.Model):
    """A functional `keras.Model` built in `__init__`, keras-hub style.

    Subclasses build their graph from their constructor arguments, call
    `super().__init__(inputs=..., outputs=..., **kwargs)`, store the arguments
    as attributes, and extend `get_config()` with them. `from_config` then
    rebuilds the model by calling the constructor (Keras falls back to
    `cls(**config)` for functional subclasses with a custom `__init__`).
    """

    def get_config(self):
        # Don't chain to the functional `get_config()`: its nested layer config
        # cannot be passed back to a subclass constructor.
        return {
            "name": self.name,
            "trainable": self.trainable,
            # Read from the graph: `Functional.input_shape` is a read-only property.
            "input_shape": tuple(self.input_shape[1:]),
        }
