"""Checks on values a user sends (command-line arguments, lines on stdin, API arguments) before
anything else sees them: the models' tokenizers fail on what is not text or cannot be UTF-8."""
from __future__ import annotations

from .errors import ScoqaError


class BadInput(ScoqaError):
    """A value of the wrong type or out of range, or text that cannot be encoded as UTF-8; the
    message names what is allowed."""


def require_text(value: object, what: str) -> str:
    """`value` if it is a string that encodes as UTF-8. Undecodable bytes on the command line
    arrive as lone surrogates (Python's surrogateescape), as do lone surrogates sent as JSON."""
    if not isinstance(value, str):
        raise BadInput(f"{what} must be text, not {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as err:
        raise BadInput(f"{what} is not valid UTF-8 text (undecodable byte or lone surrogate at "
                       f"character {err.start + 1})") from None
    return value


def require_whole_number(value: object, what: str, low: int, high: int | None = None) -> int:
    """`value` if it is an integer (not a bool, a float or a numeral in a string) in [low, high]
    (no upper bound when `high` is None)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        allowed = f"between {low} and {high}" if high is not None else f"of at least {low}"
        raise BadInput(f"{what} must be a whole number {allowed}, not {value!r}"[:200])
    return value


def printable(text: str) -> str:
    """`text` with every lone surrogate (what could not be decoded) shown as U+FFFD, for echoing
    a refused line back."""
    return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)
