"""A fake framework whose installed version (0.5.0) its integration does not support."""

__version__ = "0.5.0"


def train(params):
    """Train."""
    return ("oldml-model", params)
