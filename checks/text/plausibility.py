"""Does a recognised string read as words? A word list plus a character trigram model.

Data (``checks/text/data/``, built by ``scripts/dev/build_text_lexicon.py``): the public-domain
``web2`` word list (Webster's Second International, 1934, as shipped in the MIT-licensed
PyPI package ``english-words`` 2.0.2), words of 3-12 letters, and a 27x27x27 table of
``log P(c | a, b)`` over a-z plus a word boundary, counted on the same list.

Why: a generator's pseudo-text is made of letter shapes in an order no language uses
("FIIRE", "Loitrtttlatm"); OCR reads such glyphs confidently, so confidence alone cannot tell
them from real words. A dictionary hit is strong evidence that text reads; for names and
words the list lacks, the mean trigram log-probability says how English-like the spelling is.
"""
from __future__ import annotations

import gzip
import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from keyframe.severity import ramp

DATA = Path(__file__).with_name("data")
#: short words the list (3+ letters) leaves out
SHORT_WORDS = frozenset(
    "a i o an as at be by do go he if in is it me my no of oh ok on or so to up us we "
    "tv dj uk usa ad am ax pm vs".split())
#: two-letter endings of product names ("ComfyUI", "OpenAI", "FullHD")
NAME_SUFFIXES = frozenset("ui ai hd tv pc id".split())
#: how well two listed words run together read: OCR drops the space between capitals
#: ("TWOWAY") and names are compounds ("PlayStation"), but 8 % of the most English-like
#: pseudo-words (strings sampled from the trigram table) also split into two listed words
COMPOUND_SCORE = 0.9
#: mean trigram log-probability (natural log) of web2 words sits near -2.3 (median) and
#: random letter strings near -4.4 (calibrate/text.py, "trigram" table): the two anchors
TRIGRAM_OK, TRIGRAM_NOISE = -2.6, -4.0
#: a word the list lacks reads at most this well, however English-like its spelling
UNKNOWN_CAP = 0.6

_TOKEN = re.compile(r"[A-Za-z]+|[0-9]+")


@lru_cache(maxsize=1)
def words() -> frozenset[str]:
    """The word list, loaded once per process."""
    with gzip.open(DATA / "words.txt.gz", "rt", encoding="ascii") as fh:
        return frozenset(fh.read().split())


@lru_cache(maxsize=1)
def trigram_table() -> np.ndarray:
    """``log P(c | a, b)``, indices 0-25 for a-z and 26 for a word boundary."""
    return np.load(DATA / "trigram.npy")


def trigram_logp(word: str) -> float:
    """Mean log-probability per letter transition of a lower-case a-z ``word``."""
    table = trigram_table()
    idx = [26, 26] + [ord(c) - 97 for c in word] + [26]
    lp = [float(table[a, b, c]) for a, b, c in zip(idx, idx[1:], idx[2:])]
    return sum(lp) / len(lp)


def _listed(w: str) -> bool:
    """``w`` (lower case) is a word: a short word, a listed word of 3+ letters, or a plural."""
    return (w in SHORT_WORDS or (len(w) >= 3 and w in words())
            or (len(w) >= 4 and w.endswith("s") and w[:-1] in words()))


def _compound(w: str) -> bool:
    """``w`` is two listed words of at least 3 letters run together ("twoway", "sunflower"),
    or one and a product-name ending ("comfyui")."""
    def part(p: str) -> bool:
        return len(p) >= 3 and p in words()
    return any(part(w[:i]) and (part(w[i:]) or w[i:] in NAME_SUFFIXES)
               for i in range(3, len(w) - 1))


#: letters a recogniser confuses with a capital I ("ComfyUI" read "Comfyul")
_LIKE_I = "l1|"


def _variants(w: str) -> list[str]:
    """``w`` with one letter a recogniser confuses with I read as i instead."""
    return [w[:k] + "i" + w[k + 1:] for k, c in enumerate(w) if c in _LIKE_I]


def word_score(token: str) -> float:
    """How well one token reads, in [0, 1]: 1 for a listed word or a number,
    ``COMPOUND_SCORE`` for a compound of listed words (:func:`_compound`) or a word once an
    l read for an I is put right, else the trigram score capped at ``UNKNOWN_CAP``."""
    if token.isdigit():
        return 1.0
    w = token.lower()
    if _listed(w):
        return 1.0
    if len(w) >= 5 and _compound(w):
        return COMPOUND_SCORE
    if any(_listed(v) or (len(v) >= 5 and _compound(v)) for v in _variants(w)):
        return COMPOUND_SCORE
    if len(w) <= 2:
        return 0.3
    return UNKNOWN_CAP * ramp(trigram_logp(w), TRIGRAM_NOISE, TRIGRAM_OK)


#: a code: letters and digits in one run, at least 2 digits, at most 3 letters in a row
#: (a number plate, a model or flight number, a serial: "EL2817G", "A380", "B12")
_CODE = re.compile(r"^(?=(?:.*[0-9]){2})(?=.*[A-Za-z])(?:[0-9]+|[A-Za-z]{1,3})+$")


def plausibility(text: str) -> float:
    """Share of the string's letters that belong to words that read, in [0, 1].

    Tokens are runs of letters or of digits; each is weighted by its length. A run of
    letters and digits that makes a code (``_CODE``) reads as a whole. A string with no
    letter or digit (punctuation, CJK the English list cannot judge, empty) scores 0.
    """
    total = score = 0.0
    for chunk in re.findall(r"[A-Za-z0-9]+", text):
        if _CODE.match(chunk):
            total += len(chunk)
            score += len(chunk)
            continue
        for t in _TOKEN.findall(chunk):
            total += len(t)
            score += len(t) * word_score(t)
    return score / total if total else 0.0


#: capitals and small letters that Cyrillic shares in shape with Latin (А В С Е Н І К М О Р
#: Т Х У; а е о р с х у; т, и, к, п read as m, u, k, n): a Cyrillic sign read by a Latin
#: recogniser comes out as strings of these
CYRILLIC_LOOKALIKES = frozenset("ABCEHIKMOPTXYaceopxymuknS3")
#: share of lookalike letters from which a non-reading Latin line is taken for Cyrillic
LOOKALIKE_SHARE = 0.85


def other_script(text: str) -> bool:
    """True when ``text`` is in another script than Latin, so the English lexicon cannot
    judge it: most of its letters are non-Latin (Cyrillic, Greek, CJK, Arabic, Hebrew,
    Devanagari, Hangul, kana…, anything past Latin Extended-B), or it is a Latin reading of
    Cyrillic — at least 6 letters, ``LOOKALIKE_SHARE`` of them Cyrillic lookalikes, with a
    capital after a small letter inside a word (``HaaA``: Cyrillic small capitals read as
    Latin capitals) or no small letter at all. Real words never get here: they read."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return any(ord(c) > 0x24F and c.isalnum() for c in text)
    if sum(ord(c) > 0x24F for c in letters) >= 0.5 * len(letters):
        return True
    if len(letters) < 6 or any(ord(c) > 0x7F for c in letters):
        return False
    share = sum(c in CYRILLIC_LOOKALIKES for c in letters) / len(letters)
    odd_case = any(re.search(r"[a-z][A-Z]", tok) for tok in text.split())
    return share >= LOOKALIKE_SHARE and (odd_case or text.upper() == text)


#: what makes legible text a mark rather than a caption, sign or title: a copyright sign, a
#: URL or handle, a stock agency's name
MARK_LIKE = re.compile(r"©|\(c\)|copyright|stock|getty|alamy|dreamstime|depositphotos|123rf|"
                       r"watermark|preview|www\.|https?:|\.(com|net|org|io)\b|@\w", re.I)
