"""Errors that carry a location in a user's file.

Every problem with user input is reported as ``file: key.path: reason`` so that a
user can find and fix it without reading a traceback.
"""

from __future__ import annotations


class ConfigError(Exception):
    """A user-supplied file or value is invalid.

    It deliberately is not a ``ValueError``: pydantic passes it through unchanged, so a
    check inside a validator keeps its precise key path.

    Attributes:
        source: the file (or other origin, such as ``--variant``) the problem is in.
        key: dotted path of the offending key inside that file ("" for the whole file).
        reason: what is wrong, in words.
    """

    def __init__(self, source: str, key: str, reason: str):
        self.source = str(source)
        self.key = key
        self.reason = reason
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """The one-line ``file: key.path: reason`` message."""
        parts = [self.source]
        if self.key:
            parts.append(self.key)
        parts.append(self.reason)
        return ": ".join(parts)

    def __str__(self) -> str:
        return self.message


class ConfigErrors(ConfigError):
    """Several problems found in one file; ``str()`` lists them one per line."""

    def __init__(self, errors: list[ConfigError]):
        self.errors = errors
        first = errors[0]
        super().__init__(first.source, first.key, first.reason)

    @property
    def message(self) -> str:
        return "\n".join(e.message for e in self.errors)
