"""nerwin: window-based named-entity recognition, backpropagation written by hand in numpy.

    import nerwin
    tagger = nerwin.load()                         # the shipped English model ("en")
    tagger("Angela Merkel visited Paris.")         # [Entity(start=0, end=13, label='PER', ...), ...]
    nerwin.load("runs/default")                    # a run folder or model file of your own

``import nerwin`` is cheap: numpy and the model code are imported by :func:`load`.
"""


def load(model="en"):
    """The tagger of a shipped model (``"en"``: English, CoNLL-2003), a model file or a run
    folder, as a :class:`nerwin.predict.Predictor`: ``tagger(text)`` lists the text's entities
    (start, end, label, text, score; offsets into ``text``), ``tagger.pipe(texts,
    batch_size=...)`` yields one list per text, lazily. A string that names a shipped model
    means that model; a folder called ``en`` is ``"./en"`` or ``Path("en")``."""
    from nerwin.predict import Predictor

    return Predictor.load(model)


def __getattr__(name):
    """``nerwin.__version__``: the installed distribution's version, read when first asked."""
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("nerwin")
        except PackageNotFoundError:  # imported from a source tree that was never installed
            return "0+unknown"
    raise AttributeError(f"module 'nerwin' has no attribute {name!r}")
