"""Adversarial training: every training batch is learnt clean and attacked.

`AdversarialTraining(model, attack)` wraps a model for `fit`: each step
perturbs the batch with `attack` against the current weights (FGSM or PGD
on the normalized input features, `kser.adversarial.attacks`), then takes one
ordinary step of the backend's own `train_step` on the clean batch and its
adversarial copy together (Goodfellow et al.'s objective with weight 0.5 on
each). The attack sees the weights of that very step, so the run stays as
deterministic as clean training. Validation, checkpoints and the saved bundle
see only the wrapped model (`kser.training.trainer.train(...,
adversarial_training=attack)` does the wrapping).
"""

from __future__ import annotations

import keras

from kser.adversarial.gradients import input_gradient


class AdversarialTraining(keras.Model):
    """`model` (logits out) whose training steps also learn `attack`'s versions of each batch."""

    def __init__(self, model: keras.Model, attack, **kwargs):
        super().__init__(**kwargs)
        if len(model.inputs) != 1:
            raise ValueError(
                "adversarial training takes single-input models. "
                f"Received: a model with {len(model.inputs)} inputs"
            )
        self.classifier = model
        self.attack = attack
        self.seed_generator = keras.random.SeedGenerator(attack.seed)
        # The classifier is built: so is the wrapper (BackupAndRestore needs it before fit).
        self.build(model.inputs[0].shape)

    def build(self, input_shape):
        pass

    def call(self, inputs, training=False):
        return self.classifier(inputs, training=training)

    def train_step(self, data):
        inputs, labels, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        adversarial = keras.ops.stop_gradient(
            self.attack.perturb(
                lambda x, y: input_gradient(self.classifier, x, y),
                inputs,
                labels,
                seed_generator=self.seed_generator,
            )
        )
        both = keras.ops.concatenate([inputs, adversarial], axis=0)
        twice = keras.ops.concatenate([labels, labels], axis=0)
        if sample_weight is None:
            return super().train_step((both, twice))
        weights = keras.ops.concatenate([sample_weight, sample_weight], axis=0)
        return super().train_step((both, twice, weights))
