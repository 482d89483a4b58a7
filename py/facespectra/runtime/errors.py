"""Error types whose messages are shown to people as they are."""


class InputError(ValueError):
    """An image file we refuse or cannot read; the message says why, in plain words."""


class WeightsError(ValueError):
    """A weights file that is not a model this code can run; the message names the problem."""
