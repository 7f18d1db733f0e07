"""Build checks/text/data/ (word list + character trigram table) from the web2 word list.

Source: the ``web2`` list (Webster's Second International, 1934; public domain; FreeBSD
share/dict/web2 r326913) as shipped inside the MIT-licensed PyPI package ``english-words``
2.0.2 (``english_words/data/web2_alpha_lower.pickle``). Only web2 is used (not GCIDE, which
is GPL). Run once after ``pip download --no-deps english-words==2.0.2`` and unzipping the
wheel::

    python -m scripts.dev.build_text_lexicon path/to/english_words/data/web2_alpha_lower.pickle

Writes ``words.txt.gz`` (lower-case words of 3-12 letters, one a line) and ``trigram.npy``
(27x27x27 float32: log P(c | a, b) over a-z plus '_' for a word boundary, add-one smoothed).
"""
from __future__ import annotations

import gzip
import pickle
import sys
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[2] / "checks" / "text" / "data"


def main(src: str) -> None:
    with open(src, "rb") as fh:
        words = pickle.load(fh)  # a set of str, from a wheel we downloaded ourselves
    kept = sorted(w for w in words if w.isascii() and w.isalpha() and 3 <= len(w) <= 12)
    OUT.mkdir(parents=True, exist_ok=True)
    payload = ("\n".join(kept) + "\n").encode("ascii")
    (OUT / "words.txt.gz").write_bytes(gzip.compress(payload, 9, mtime=0))
    counts = np.ones((27, 27, 27), np.float64)
    for w in words:
        if not (w.isascii() and w.isalpha()):
            continue
        idx = [26, 26] + [ord(c) - 97 for c in w.lower()] + [26]
        for a, b, c in zip(idx, idx[1:], idx[2:]):
            counts[a, b, c] += 1
    logp = np.log(counts / counts.sum(axis=2, keepdims=True)).astype(np.float32)
    np.save(OUT / "trigram.npy", logp)
    print(f"{len(kept)} words, trigram table from {len(words)} words -> {OUT}")


if __name__ == "__main__":
    main(sys.argv[1])
