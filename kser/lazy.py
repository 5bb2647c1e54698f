"""Package attributes imported on first use, so a light submodule loads without heavy ones."""

from __future__ import annotations

from importlib import import_module


def lazy_attributes(package: str, exports: dict[str, str]):
    """A module `__getattr__` for `package`: `exports` maps a name to the submodule defining it."""

    def __getattr__(name):
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = import_module(f"{package}.{exports[name]}")
        value = getattr(module, name)
        setattr(import_module(package), name, value)
        return value

    return __getattr__
