"""nerwin: window-based named-entity recognition, backpropagation written by hand in numpy.

    import nerwin
    tagger = nerwin.load("runs/default")          # a model file or a run folder
    tagger("Angela Merkel visited Paris.")         # [Entity(start=0, end=13, label='PER', ...), ...]

``import nerwin`` is cheap: numpy and the model code are imported by :func:`load`.
"""

__version__ = "0.1.0"


def load(path):
    """The tagger of a model file or run folder, as a :class:`nerwin.predict.Predictor`:
    ``tagger(text)`` lists the text's entities (start, end, label, text, score; offsets into
    ``text``), ``tagger.pipe(texts, batch_size=...)`` yields one list per text, lazily."""
    from nerwin.predict import Predictor

    return Predictor.load(path)
