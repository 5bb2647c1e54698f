"""A learned-weight ensemble of per-feature classifiers, saved and served as one Keras model.

Members read different features (mel, HPSS, MFCC, ...), so the ensemble has
one input per feature: a dict keyed by feature name, e.g.
`ensemble.predict({"mel": mel_batch, "hpss": hpss_batch})`. Members that read
the same feature share its input. Each member maps its feature to logits; the
`WeightedLogits` combiner mixes the logits with learnable weights and divides
the mix by a temperature, so the ensemble returns logits like every kser model.
"""

import keras
from keras import layers, ops

from kser.errors import KserModelError
from kser.models import arguments

# How member weights are kept valid (not the feature normalizations of kser.features).
WEIGHT_NORMALIZATIONS = ("softmax", "non_negative")


def _check_normalization_and_l1(normalization, l1):
    if normalization not in WEIGHT_NORMALIZATIONS:
        raise KserModelError(
            f"`normalization` must be one of {WEIGHT_NORMALIZATIONS}. "
            f"Received: normalization={normalization!r}"
        )
    if isinstance(l1, bool) or not isinstance(l1, (int, float)) or not l1 >= 0:
        raise KserModelError(f"`l1` must be a number >= 0. Received: l1={l1!r}")
    # Softmax weights always sum to 1, so their L1 norm is constant: the penalty would be a no-op.
    if normalization == "softmax" and l1 > 0:
        raise KserModelError(
            "`l1` only acts on non-negative weights (softmax weights always sum to 1); "
            f"use normalization='non_negative'. Received: normalization='softmax', l1={l1!r}"
        )
    return float(l1)


def _check_temperature(temperature):
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
        raise KserModelError(f"`temperature` must be a positive number. Received: {temperature!r}")
    if not temperature > 0:
        raise KserModelError(
            f"`temperature` must be a positive number. Received: temperature={temperature!r}"
        )
    return float(temperature)


@keras.saving.register_keras_serializable(package="kser")
class WeightedLogits(layers.Layer):
    """Mixes K members' logits with learnable weights, then divides by a temperature.

    `output = sum_k w_k * logits_k / temperature`, where `w` is:

    - `"softmax"`: `softmax(v)` of a free vector `v` (a convex mix; starts uniform).
    - `"non_negative"`: `v` itself, kept `>= 0` by a constraint (starts at `1/K`);
      an `l1` penalty `l1 * sum(w)` then drives weights of useless members to
      exactly zero. The mix's scale is free here, which only rescales the logits
      before the temperature is fitted.

    The temperature is not trained by `fit` (dividing all logits by it cannot
    change the argmax, so the classification loss is the wrong signal for it):
    set it with `set_temperature` after fitting it on held-out predictions.

    Input: a list of K tensors `(batch, num_classes)`, or one `(batch, K, num_classes)` tensor.
    Output: `(batch, num_classes)` logits.
    """

    def __init__(self, num_members, normalization="softmax", l1=0.0, temperature=1.0, **kwargs):
        super().__init__(**kwargs)
        self.num_members = arguments.check_positive_int("num_members", num_members)
        self.l1 = _check_normalization_and_l1(normalization, l1)
        self.normalization = normalization
        self.initial_temperature = _check_temperature(temperature)

    def build(self, input_shape):
        if self.normalization == "softmax":
            initializer, constraint, regularizer = "zeros", None, None
        else:
            initializer = keras.initializers.Constant(1.0 / self.num_members)
            constraint = keras.constraints.NonNeg()
            regularizer = keras.regularizers.L1(self.l1) if self.l1 else None
        self.weight_logits = self.add_weight(
            shape=(self.num_members,),
            initializer=initializer,
            constraint=constraint,
            regularizer=regularizer,
            name="member_weights",
        )
        self.temperature = self.add_weight(
            shape=(),
            initializer=keras.initializers.Constant(self.initial_temperature),
            trainable=False,
            name="temperature",
        )

    def mixing_weights(self):
        """The weights `w` applied to the members' logits, as a tensor of shape `(K,)`."""
        if self.normalization == "softmax":
            return ops.softmax(self.weight_logits)
        return self.weight_logits

    def call(self, member_logits):
        stacked = (
            ops.stack(member_logits, axis=1)
            if isinstance(member_logits, (list, tuple))
            else member_logits
        )
        mixed = ops.einsum("bkc,k->bc", stacked, ops.cast(self.mixing_weights(), stacked.dtype))
        return mixed / ops.cast(self.temperature, stacked.dtype)

    def set_temperature(self, temperature):
        self.temperature.assign(_check_temperature(temperature))

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, (list, tuple)) and isinstance(input_shape[0], (list, tuple)):
            return tuple(input_shape[0])
        return (input_shape[0], input_shape[2])

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_members": self.num_members,
                "normalization": self.normalization,
                "l1": self.l1,
                "temperature": self.initial_temperature,
            }
        )
        return config


@keras.saving.register_keras_serializable(package="kser")
class WeightedEnsemble(keras.Model):
    """K member models, each on its own feature, mixed by a `WeightedLogits` combiner.

    The model's input is a dict `{feature_name: (batch, *feature_shape)}` with
    one entry per distinct name in `feature_names`; the output is
    `(batch, num_classes)` logits. Members are saved inside the ensemble's
    `.keras` file, so it loads and predicts as one model.

    Args:
        members: K single-input Keras models that return logits of the same
            number of classes; their names must be unique (they name the
            members' layers in the ensemble).
        feature_names: K strings, the feature each member reads. Members that
            read the same feature must take the same input shape.
        normalization: `"softmax"` or `"non_negative"` (see `WeightedLogits`).
        l1: L1 penalty on the weights (`"non_negative"` only).
        temperature: initial temperature of the combiner.
    """

    def __init__(
        self,
        members,
        feature_names,
        normalization="softmax",
        l1=0.0,
        temperature=1.0,
        **kwargs,
    ):
        members, feature_names = _check_members(members, feature_names)

        # === Functional Model ===
        inputs = {}
        for member, feature in zip(members, feature_names, strict=True):
            shape = tuple(member.input_shape[1:])
            if feature not in inputs:
                inputs[feature] = keras.Input(shape=shape, name=feature)
            elif tuple(inputs[feature].shape[1:]) != shape:
                raise KserModelError(
                    f"Members reading feature {feature!r} must take the same input shape. "
                    f"Received: {tuple(inputs[feature].shape[1:])} and {shape} "
                    f"(member {member.name!r})"
                )
        member_logits = [
            member(inputs[feature]) for member, feature in zip(members, feature_names, strict=True)
        ]
        outputs = WeightedLogits(len(members), normalization, l1, temperature, name="combiner")(
            member_logits
        )
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self.members = members
        self.feature_names = feature_names
        self.normalization = normalization
        self.l1 = float(l1)

    @property
    def combiner(self):
        return self.get_layer("combiner")

    @property
    def member_names(self):
        return tuple(member.name for member in self.members)

    def mixing_weights(self):
        """`{member name: weight}` as floats."""
        weights = ops.convert_to_numpy(self.combiner.mixing_weights())
        return dict(zip(self.member_names, (float(w) for w in weights), strict=True))

    def get_config(self):
        # Don't chain to the functional `get_config()`: its nested layer config
        # cannot be passed back to this constructor.
        return {
            "name": self.name,
            "trainable": self.trainable,
            "members": [keras.saving.serialize_keras_object(m) for m in self.members],
            "feature_names": list(self.feature_names),
            "normalization": self.normalization,
            "l1": self.l1,
            "temperature": float(ops.convert_to_numpy(self.combiner.temperature)),
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        members = [
            keras.saving.deserialize_keras_object(member, custom_objects=custom_objects)
            for member in config.pop("members")
        ]
        return cls(members=members, **config)


def _check_members(members, feature_names):
    if not isinstance(members, (list, tuple)) or not members:
        raise KserModelError(f"`members` must be a non-empty list of models. Received: {members!r}")
    if not all(isinstance(m, keras.Model) for m in members):
        raise KserModelError(
            f"`members` must hold Keras models. Received: {[type(m).__name__ for m in members]}"
        )
    feature_names = list(feature_names) if isinstance(feature_names, (list, tuple)) else None
    if feature_names is None or len(feature_names) != len(members):
        raise KserModelError(
            f"`feature_names` must be a list with one name per member ({len(members)}). "
            f"Received: feature_names={feature_names!r}"
        )
    if not all(isinstance(f, str) and f for f in feature_names):
        raise KserModelError(
            f"`feature_names` must be non-empty strings. Received: {feature_names!r}"
        )
    names = [m.name for m in members]
    if len(set(names)) != len(names):
        raise KserModelError(f"Member model names must be unique. Received: names={names}")
    # Inputs are named after their feature (the input dict's keys must match the input names).
    if set(names) & set(feature_names):
        raise KserModelError(
            "Member names must differ from feature names, which name the ensemble's inputs "
            f"(e.g. 'mel_audio_resnet' for feature 'mel'). Received: names={names}, "
            f"feature_names={feature_names}"
        )
    if any(len(m.inputs) != 1 for m in members):
        raise KserModelError(
            "Every member must take one input. Received: "
            f"{ {m.name: len(m.inputs) for m in members} } inputs"
        )
    widths = {m.name: m.output_shape[-1] for m in members}
    if len(set(widths.values())) != 1:
        raise KserModelError(f"Members must return the same number of logits. Received: {widths}")
    return list(members), feature_names
