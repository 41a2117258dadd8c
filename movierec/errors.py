"""Exceptions that describe a user's mistake (bad input, missing data) rather than a bug."""

from __future__ import annotations


class MovieRecError(Exception):
    """Base class: the message says what is wrong and what to do; the CLI prints it and exits 2."""


class DataError(MovieRecError):
    """A dataset is missing, corrupt, foreign or cannot be fetched."""


class DownloadError(DataError):
    """A download failed, timed out or produced a file that does not verify."""


class ConfigError(MovieRecError, ValueError):
    """A hyperparameter or option is out of range or unknown."""


class UnknownIdError(MovieRecError, KeyError):
    """A movie id, user id or run id that is not known."""

    def __str__(self) -> str:  # KeyError would otherwise wrap the message in quotes
        return str(self.args[0]) if self.args else ""


class TrainingDiverged(MovieRecError):
    """The loss became NaN or infinite during training."""


class RunError(MovieRecError):
    """A saved run is missing, broken or cannot be written."""
