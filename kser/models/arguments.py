"""Up-front checks of model constructor arguments, raising `KserModelError`."""

import math

from kser.errors import KserModelError


def _is_positive_int(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_positive_int(name, value):
    if not _is_positive_int(value):
        raise KserModelError(f"`{name}` must be a positive integer. Received: {name}={value!r}")
    return value


def check_positive_ints(name, values, length=None):
    """A non-empty sequence of positive integers (of `length` items if given), as a tuple."""
    values_ok = isinstance(values, (list, tuple)) and len(values) > 0
    values_ok = values_ok and all(_is_positive_int(v) for v in values)
    values_ok = values_ok and (length is None or len(values) == length)
    if not values_ok:
        size = "a non-empty sequence" if length is None else f"a sequence of {length}"
        raise KserModelError(
            f"`{name}` must be {size} positive integers. Received: {name}={values!r}"
        )
    return tuple(values)


def check_num_classes(num_classes):
    if not _is_positive_int(num_classes) or num_classes < 2:
        raise KserModelError(
            f"`num_classes` must be an integer >= 2. Received: num_classes={num_classes!r}"
        )
    return num_classes


def check_width(width):
    if not _is_number(width) or not width > 0:
        raise KserModelError(f"`width` must be a positive number. Received: width={width!r}")
    return float(width)


def check_non_negative(name, value):
    """A finite number >= 0 (e.g. an L2 penalty)."""
    if not _is_number(value) or not 0 <= value < math.inf:
        raise KserModelError(f"`{name}` must be a number >= 0. Received: {name}={value!r}")
    return float(value)


def check_positive(name, value):
    """A finite number > 0 (e.g. a kernel width)."""
    if not _is_number(value) or not 0 < value < math.inf:
        raise KserModelError(f"`{name}` must be a number > 0. Received: {name}={value!r}")
    return float(value)


def check_fraction(name, value):
    """A number strictly between 0 and 1 (e.g. a mixing weight)."""
    if not _is_number(value) or not 0 < value < 1:
        raise KserModelError(f"`{name}` must be a number in (0, 1). Received: {name}={value!r}")
    return float(value)


def check_rate(name, value):
    """A dropout rate in [0, 1)."""
    if not _is_number(value) or not 0 <= value < 1:
        raise KserModelError(f"`{name}` must be a number in [0, 1). Received: {name}={value!r}")
    return float(value)


def check_input_shape(input_shape, ranks, layout):
    """An input shape without the batch axis, with one of the ranks in `ranks`.

    Only the last (time) axis may be `None`, so clips of any length still give
    a fixed number of bins or channels. `layout` names the axes in the error
    message, e.g. `"(n_bins, n_frames)"`.
    """
    shape_ok = isinstance(input_shape, (list, tuple)) and len(input_shape) in ranks
    shape_ok = shape_ok and all(_is_positive_int(d) for d in input_shape[:-1])
    shape_ok = shape_ok and (input_shape[-1] is None or _is_positive_int(input_shape[-1]))
    if not shape_ok:
        raise KserModelError(
            f"`input_shape` must be {layout} with positive sizes (the last may be None). "
            f"Received: input_shape={input_shape!r}"
        )
    return tuple(input_shape)
