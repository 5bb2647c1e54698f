"""One check for every experiment option: `check_option` raises `KserConfigError` naming it.

check_option("epochs", 0, whole_from=1)
KserConfigError: epochs must be a whole number of at least 1. Received: epochs=0
"""

from __future__ import annotations

from kser.errors import KserConfigError


def check_option(
    name: str,
    value,
    *,
    choices=None,
    whole_from: int | None = None,
    positive: bool = False,
    non_negative: bool = False,
    kind: type | tuple[type, ...] | None = None,
    optional: bool = False,
) -> None:
    """Raise `KserConfigError` unless `value` is a valid `name`.

    Args:
        choices: the allowed values.
        whole_from: a whole number (not a bool) of at least this.
        positive / non_negative: a number (not a bool) > 0 / >= 0.
        kind: an instance of this type (bool is no int here).
        optional: None is also allowed.
    """
    if optional and value is None:
        return
    if choices is not None and value not in choices:
        _refuse(name, value, f"must be one of {', '.join(map(str, choices))}")
    if whole_from is not None and (not _is_number(value, int) or value < whole_from):
        _refuse(name, value, f"must be a whole number of at least {whole_from}")
    if positive and not (_is_number(value, (int, float)) and value > 0):
        _refuse(name, value, "must be positive")
    if non_negative and not (_is_number(value, (int, float)) and value >= 0):
        _refuse(name, value, "must be 0 or positive")
    if kind is not None and not (
        isinstance(value, kind) and (kind is bool or not isinstance(value, bool))
    ):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        _refuse(name, value, f"must be a {names}")


def _is_number(value, kinds) -> bool:
    return isinstance(value, kinds) and not isinstance(value, bool)


def _refuse(name: str, value, requirement: str):
    raise KserConfigError(f"{name} {requirement}. Received: {name}={value!r}")
