"""How much of a customer's text one prediction reads.

A prediction costs about a dictionary lookup per known word and a fuzzy search over the
whole vocabulary per unknown one, so a long text of random words costs 20-50 times a normal
one. A product is named in what the customer is typing now, the end of the field: only the
last words are read, which bounds the cost of one prediction whatever the text holds.
"""

from __future__ import annotations

# Product names run to 6-8 words; a sentence around one to about 20.
CONSIDERED_WORDS = 24
CONSIDERED_CHARS = 240


def considered_text(text: str) -> str:
    """The end of `text` that a prediction reads: at most the last 24 words and 240 chars."""
    if len(text) <= CONSIDERED_CHARS and text.count(" ") < CONSIDERED_WORDS:
        return text
    tail = text[-CONSIDERED_CHARS:]
    words = tail.split()
    if len(tail) < len(text) and not text[-CONSIDERED_CHARS - 1].isspace() and len(words) > 1:
        words = words[1:]  # a word cut in half would be read as a typo of something
    return " ".join(words[-CONSIDERED_WORDS:])
