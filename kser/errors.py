"""The exceptions kser raises. Every message names the file or parameter at fault."""


class KserError(Exception):
    """Base class of every error kser raises on purpose."""


class KserDataError(KserError):
    """Bad corpus input: a missing, empty, corrupt or mislabelled file or table."""


class KserFeatureError(KserError, ValueError):
    """Bad feature-extraction parameters, or a cache that cannot be used."""


class KserModelError(KserError, ValueError):
    """Bad model arguments."""


class KserBundleError(KserError):
    """A trained-model bundle that is missing, incomplete or incompatible."""


class KserEvaluationError(KserError, ValueError):
    """Predictions and labels that cannot be scored together."""


class KserConfigError(KserError, ValueError):
    """Bad experiment options, or a run directory they cannot be used with."""


class KserExplainError(KserError, ValueError):
    """An explanation method that cannot explain this model, input or target."""
