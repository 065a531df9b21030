"""Answer: takes a question and the Hits retrieved for it, gives an `Answer` (text or none,
confidence, Citations into the documents). `question` decides what is asked for, `reader`
picks spans, `lists` and `abbreviations` handle those question kinds; the `Assistant`
(`assistant`) wires index, retrieval and reading together.

The names below load on first use, since the reader imports torch: importing this package (or
`answer.question`) stays light."""
from importlib import import_module

_FROM_ASSISTANT = ("NOT_FOUND", "Answer", "Assistant", "AssistantSettings", "BadQuestion", "Citation")
__all__ = list(_FROM_ASSISTANT)


def __getattr__(name: str):
    if name in _FROM_ASSISTANT:
        return getattr(import_module(".assistant", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
