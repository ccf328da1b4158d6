"""Whether a typed message asks for a person rather than asking about the product.

Only short messages whose whole point is the request count: "talk to a person", "human",
"נציג", "אפשר לדבר עם נציג?". A question that merely contains such a word ("the agent
preset is silent", "human voice patch") goes to the manual as usual.
"""

from __future__ import annotations

import re

_ENGLISH = re.compile(
    r"^(?:(?:hi|hello|hey|please|pls|ok|okay)[\s,]+)*"
    r"(?:(?:i\s+(?:want|need|would\s+like|wanna)|can\s+i|could\s+i|may\s+i|let\s+me|"
    r"i'd\s+like|id\s+like)\s+(?:to\s+)?)?"
    r"(?:(?:talk|speak|chat)\s+(?:to|with)\s+|get\s+|connect\s+me\s+(?:to|with)\s+|"
    r"transfer\s+me\s+to\s+)?"
    r"(?:a\s+|an\s+|the\s+|some\s+|real\s+|live\s+)*"
    r"(?:person|human(?:\s+being)?|agent|representative|rep|operator|someone|somebody|"
    r"support\s+(?:agent|person|staff)|customer\s+(?:service|support)|staff(?:\s+member)?)"
    r"(?:\s+(?:please|pls|plz|now|thanks|thank\s+you))*$"
)
_HEBREW_WORDS = ("נציג", "נציגה", "נציג אנושי", "בן אדם", "אדם אמיתי", "מישהו אמיתי")
_HEBREW_VERBS = re.compile(
    r"^(?:שלום[\s,]*)?(?:אני\s+)?(?:רוצה|צריך|צריכה|אפשר|אפשרי|ניתן|בבקשה)?\s*"
    r"(?:לדבר|לשוחח|לקבל|להעביר\s+אותי)?\s*(?:עם|ל)?\s*"
    r"(?:נציג|נציגה|נציג\s+אנושי|בן\s+אדם|אדם\s+אמיתי|מישהו\s+אמיתי|שירות\s+לקוחות)"
    r"(?:\s+בבקשה)?$"
)
_PUNCTUATION = re.compile(r"[^\w\s'\u0590-\u05ff]")
MAX_WORDS = 9


def asks_for_person(text: str) -> bool:
    cleaned = " ".join(_PUNCTUATION.sub(" ", text.lower()).split())
    if not cleaned or len(cleaned.split()) > MAX_WORDS:
        return False
    if cleaned in _HEBREW_WORDS or _HEBREW_VERBS.match(cleaned):
        return True
    return bool(_ENGLISH.match(cleaned))
