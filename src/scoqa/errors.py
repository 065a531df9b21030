"""The one base for every error a user can cause and fix: the CLI maps it to exit code 2 and a
single line, the chat to a plain message. Anything else is an internal failure."""
from __future__ import annotations


class ScoqaError(Exception):
    """Something the user can fix (a bad question, a missing index, a missing model)."""


class ModelUnavailable(ScoqaError):
    """A model folder that is missing or damaged, with the command that repairs it."""
