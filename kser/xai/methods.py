"""Attribution methods: each maps a batch of model inputs and target classes to maps of
the inputs' shape, larger where the input mattered more for the target logit.

    attribute("ig", model, x, targets)                       # (n, *input_shape)
    attribute("lime", model, x, targets, segmentation=seg, seed=0)

| method       | what                                        | TensorFlow    | torch    |
|--------------|---------------------------------------------|---------------|----------|
| `gradcam`    | Grad-CAM on the last feature map            | tf-keras-vis  | autograd |
| `gradcam_pp` | Grad-CAM++                                  | tf-keras-vis  | no       |
| `saliency`   | SmoothGrad: mean abs gradient, noisy copies | tf-keras-vis  | autograd |
| `ig`         | integrated gradients from the baseline      | yes           | yes      |
| `lime`       | LIME (the `lime` package) on input regions  | yes           | yes      |
| `lrp`        | LRP, epsilon rule (`kser.xai.lrp`)          | yes           | yes      |
| `lrp_ab`     | LRP, alpha2-beta1 on convolutions           | yes           | yes      |

The baseline (what "absent" means for IG, LIME and the deletion curves) is
the zero input: after the bundle's z-scoring, the normalization mean.
"""

from __future__ import annotations

import warnings

import keras
import numpy as np
from scipy.ndimage import zoom

from kser.errors import KserExplainError
from kser.xai.autodiff import even_batch, logit_gradients
from kser.xai.lrp import lrp
from kser.xai.method_names import METHODS

SMOOTH_SAMPLES = 16
SMOOTH_NOISE = 0.2
LRP_RULES = {"lrp": "epsilon", "lrp_ab": "alpha_beta"}
IG_STEPS = 32
LIME_SAMPLES = 400
LIME_KERNEL_WIDTH = 0.25
# Grad-CAM reads feature maps with a spatial axis: these pool them away afterwards.
_GLOBAL_POOLS = ("GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D",
                 "GlobalMaxPooling2D", "Flatten")  # fmt: skip


def attribute(method, model, x, targets, *, segmentation=None, seed: int = 0) -> np.ndarray:
    """Attribution maps `(n, *input_shape)` of `method` (one of `METHODS`) for each row of
    `x` and its target class. `segmentation` (a `kser.xai.segments.Segmentation`) is
    LIME's regions; `seed` fixes SmoothGrad's noise and LIME's samples."""
    x = np.asarray(x, dtype="float32")
    targets = np.asarray(targets, dtype=int)
    if method in ("gradcam", "gradcam_pp"):
        return grad_cam(model, x, targets, plus_plus=method == "gradcam_pp")
    if method == "saliency":
        return smooth_grad(model, x, targets, seed=seed)
    if method == "ig":
        return integrated_gradients(model, x, targets)
    if method == "lime":
        if segmentation is None:
            raise KserExplainError("LIME needs the input's regions (a segmentation)")
        return lime_regions(model, x, targets, segmentation, seed=seed)
    if method in LRP_RULES:
        return lrp(model, x, targets, rule=LRP_RULES[method]).relevance
    raise KserExplainError(f"unknown method; expected one of {METHODS}. Received: {method!r}")


def feature_map_layer(model) -> str:
    """The layer Grad-CAM reads: the last convolutional block's output (after its
    activation, before any pooling: the finest map of the last features) ahead of
    global pooling."""
    candidate, convolved = None, False
    for layer in model.layers:
        kind = type(layer).__name__
        if kind in _GLOBAL_POOLS and candidate is not None:
            return candidate
        convolved = convolved or kind in ("Conv1D", "Conv2D")
        if convolved and len(layer.output.shape) >= 3 and "Pooling" not in kind:
            candidate = layer.name
    raise KserExplainError(
        f"Grad-CAM needs a model with feature maps over time or frequency; {model.name!r} "
        "has none (use saliency, ig, lime or lrp)"
    )


def grad_cam(model, x, targets, plus_plus=False) -> np.ndarray:
    """Grad-CAM (or Grad-CAM++) of the last feature map, stretched to the input's shape."""
    layer = feature_map_layer(model)
    if keras.backend.backend() == "tensorflow":
        from tf_keras_vis.gradcam import Gradcam
        from tf_keras_vis.gradcam_plus_plus import GradcamPlusPlus
        from tf_keras_vis.utils.scores import CategoricalScore

        explainer = (GradcamPlusPlus if plus_plus else Gradcam)(model, clone=False)
        cam = explainer(
            CategoricalScore(list(np.r_[targets, 0][: len(even_batch(x))])),
            even_batch(x),
            penultimate_layer=layer,
            seek_penultimate_conv_layer=False,
            normalize_cam=False,
            expand_cam=False,
        )[: len(x)]
    elif plus_plus:
        raise KserExplainError(
            "gradcam_pp runs on the TensorFlow backend (tf-keras-vis); on torch use gradcam"
        )
    else:
        cam = autograd_grad_cam(model, x, targets, layer)
    return np.stack([stretch(np.asarray(c), x.shape[1:]) for c in np.asarray(cam)])


def autograd_grad_cam(model, x, targets, layer) -> np.ndarray:
    """Grad-CAM by the backend's own gradients (tf-keras-vis's formula): feature maps
    weighted by their mean gradient, summed over channels, negative parts cut."""
    activations, grads = logit_gradients(model, x, targets, layer)
    spatial = tuple(range(1, activations.ndim - 1))
    weights = grads.mean(axis=spatial, keepdims=True)
    return np.maximum((activations * weights).sum(axis=-1), 0.0)


def stretch(cam: np.ndarray, input_shape) -> np.ndarray:
    """A feature-map-sized map resized to the input's shape, each cell over the input
    span it pools (nearest neighbour: the map's own resolution, no smoothing past cell
    edges). A map over time alone (1-D convolutions see bins as channels) is spread
    over every bin."""
    input_shape = tuple(input_shape)
    if cam.ndim == 1 and len(input_shape) == 2:
        over_time = zoom(
            cam, input_shape[1] / cam.shape[0], order=0, grid_mode=True, mode="nearest"
        )
        return np.broadcast_to(over_time[: input_shape[1]], input_shape).copy()
    factors = [target / size for target, size in zip(input_shape, cam.shape, strict=True)]
    stretched = zoom(cam, factors, order=0, grid_mode=True, mode="nearest")
    return stretched[tuple(slice(0, n) for n in input_shape)]


def smooth_grad(model, x, targets, seed=0, samples=SMOOTH_SAMPLES, noise=SMOOTH_NOISE):
    """Mean absolute gradient of the target logit over `samples` noisy copies of each
    input (Gaussian noise, std `noise` times the input's range, as tf-keras-vis draws it,
    but from a seeded generator so that both backends see the same copies)."""
    rng = np.random.default_rng(seed)
    axes = tuple(range(1, x.ndim))
    sigma = noise * (x.max(axis=axes, keepdims=True) - x.min(axis=axes, keepdims=True))
    maps = np.zeros_like(x)
    for row in range(len(x)):
        # All copies of a clip in one batch: one gradient pass instead of `samples`.
        noisy = x[row] + rng.normal(size=(samples, *x.shape[1:])).astype("float32") * sigma[row]
        copies_targets = np.full(samples, targets[row])
        maps[row] = _absolute_gradients(model, noisy, copies_targets).mean(axis=0)
    return maps


def _absolute_gradients(model, x, targets) -> np.ndarray:
    if keras.backend.backend() != "tensorflow":
        return np.abs(logit_gradients(model, x, targets))
    from tf_keras_vis.saliency import Saliency
    from tf_keras_vis.utils.scores import CategoricalScore

    with warnings.catch_warnings():
        # tf-keras-vis passes the input as a list; Keras 3 warns, and reads it right.
        warnings.filterwarnings("ignore", "The structure of `inputs`", UserWarning)
        padded = even_batch(x)
        maps = Saliency(model, clone=False)(
            CategoricalScore(list(np.r_[targets, 0][: len(padded)])),
            padded,
            keepdims=True,
            normalize_map=False,
        )
    return np.asarray(maps)[: len(x)]


def integrated_gradients(model, x, targets, steps=IG_STEPS, baseline=None) -> np.ndarray:
    """`(x - baseline)` times the mean gradient along the straight path from `baseline`
    (default zeros) to `x` (trapezoid rule): the attributions sum to the difference of
    the target logit at `x` and at the baseline."""
    baseline = np.zeros_like(x) if baseline is None else np.asarray(baseline, "float32")
    alphas = np.linspace(0.0, 1.0, steps + 1, dtype="float32")
    weights = np.full(steps + 1, 1.0 / steps)
    weights[[0, -1]] /= 2
    total = np.zeros_like(x, dtype="float64")
    for row in range(len(x)):
        path = baseline[row] + alphas[:, None].reshape(-1, *[1] * (x.ndim - 1)) * (
            x[row] - baseline[row]
        )
        grads = logit_gradients(model, path, np.full(len(alphas), targets[row]))
        total[row] = np.tensordot(weights, grads, axes=1)
    return ((x - baseline) * total).astype("float32")


def lime_regions(model, x, targets, segmentation, seed=0, samples=LIME_SAMPLES) -> np.ndarray:
    """LIME: a weighted ridge fit of the target probability on which regions are kept,
    over `samples` copies of each input with random regions replaced by the baseline.
    Each region's coefficient is spread evenly over its elements."""
    from lime.lime_base import LimeBase

    sizes = np.bincount(segmentation.segments.ravel(), minlength=segmentation.n)
    maps = np.zeros_like(x)
    for row in range(len(x)):
        rng = np.random.default_rng(seed + row)
        kept = rng.integers(0, 2, size=(samples, segmentation.n)).astype(bool)
        kept[0] = True  # the unperturbed input, as lime_image does
        perturbed = np.where(kept[:, segmentation.segments], x[row], 0.0).astype("float32")
        logits = keras.ops.convert_to_numpy(model.predict(perturbed, batch_size=64, verbose=0))
        probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        distances = _cosine_distance_to_ones(kept)
        explainer = LimeBase(
            lambda d: np.sqrt(np.exp(-(d**2) / LIME_KERNEL_WIDTH**2)), random_state=seed
        )
        _, weights, _, _ = explainer.explain_instance_with_data(
            kept.astype(float),
            probabilities,
            distances,
            int(targets[row]),
            num_features=segmentation.n,
            feature_selection="none",
        )
        coefficients = np.zeros(segmentation.n)
        for region, weight in weights:
            coefficients[region] = weight
        maps[row] = (coefficients / np.maximum(sizes, 1))[segmentation.segments]
    return maps


def _cosine_distance_to_ones(kept) -> np.ndarray:
    norms = np.sqrt(kept.sum(axis=1)) * np.sqrt(kept.shape[1])
    return 1.0 - kept.sum(axis=1) / np.maximum(norms, 1e-12)
