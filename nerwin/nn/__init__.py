"""Building blocks of the window network, each a forward that returns ``(out, backprop)``."""
