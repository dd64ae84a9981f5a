"""A tagger scored on a gold corpus: the one call training, reports, experiments and the
model card share, so they cannot drift apart.

It lives above :mod:`nerwin.tagger` (it tags) and below training; :mod:`nerwin.scoring`
itself only compares tag sequences and knows nothing of models.
"""

from __future__ import annotations

from nerwin.data import Corpus
from nerwin.scoring import score
from nerwin.tagger import Tagger


def evaluate(tagger: Tagger, corpus: Corpus, consistency: bool = True) -> dict:
    """Entity-level scores of a tagger on a gold corpus (tags compared in its own scheme),
    as :func:`nerwin.scoring.score` gives them; ``consistency=False`` leaves out the
    document-level rule (:meth:`Tagger.tag`)."""
    return score(corpus.tags, tagger.tag(corpus, consistency=consistency), corpus.first)
