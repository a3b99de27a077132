"""The package's exceptions: each one a clear, user-facing message (the CLI prints it as one line)."""


class IlsvrcKerasError(Exception):
    """Base class of every error this package raises on purpose."""


class ArgumentError(IlsvrcKerasError, ValueError):
    """An argument out of its range or choices (the message names it and what is allowed)."""


class UnknownModelError(IlsvrcKerasError, KeyError):
    def __str__(self):  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class WeightsNotFoundError(IlsvrcKerasError, FileNotFoundError):
    """ImageNet weights are neither on disk nor downloadable (offline, or none published)."""


class WeightsError(IlsvrcKerasError, ValueError):
    """A weights file is damaged, or is not a weights file."""


class ImageError(IlsvrcKerasError, ValueError):
    """An input could not be read as an image (non-image, empty, truncated, too large...)."""


class DataError(IlsvrcKerasError, ValueError):
    """A dataset folder or labels file is missing or malformed."""
