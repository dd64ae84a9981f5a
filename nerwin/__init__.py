"""nerwin: window-based named-entity recognition, backpropagation written by hand in numpy."""

__version__ = "0.1.0"
