"""Whether a word is a common word of a language, from wordfreq's frequency lists.

A customer who types "reset" means reset, not the "Rest" of a guitar stool's foot rest,
and "איך" (how) is Hebrew, not "thl" typed on the wrong keyboard layout. Typo correction
and layout slips apply only to words the language does not commonly use.
"""

from __future__ import annotations

from functools import lru_cache

# A word seen at least once per million words of the language's text (Zipf scale).
COMMON_ZIPF = 3.0
LANGUAGES = ("en", "he")
_WORDLIST = "small"


def load() -> None:
    """Read the lists now (about 200 ms and 16 MB), from sync code: the first prediction
    that needs them runs on the event loop. Processes that never predict never load them."""
    from wordfreq import get_frequency_dict

    for language in LANGUAGES:
        get_frequency_dict(language, _WORDLIST)


# Seen at least once per 100,000 words: an everyday word. Names reach COMMON_ZIPF too
# ("roland" 3.7, "nord" 3.1); a brand whose words are all everyday words ("Boss", "Audio",
# "Stage") may be meant as those words.
EVERYDAY_ZIPF = 4.0


@lru_cache(maxsize=50_000)
def is_common_word(word: str, language: str, zipf: float = COMMON_ZIPF) -> bool:
    from wordfreq import zipf_frequency

    return zipf_frequency(word, language, wordlist=_WORDLIST) >= zipf
