"""A fake ML framework: plain functions and classes standing in for a real one."""

from fakeml import metrics
from fakeml._record import CALLS
from fakeml.estimators import Ensemble, Estimator, Inherits, LinearModel

__version__ = "1.2.0"
__all__ = ["CALLS", "Ensemble", "Estimator", "Inherits", "LinearModel", "Model", "TrainError",
           "metrics", "train", "train_twice"]


class TrainError(Exception):
    """The user's own error, raised by train(fail=True)."""


class Model:
    def __init__(self, params):
        self.params = params

    def __eq__(self, other):
        return isinstance(other, Model) and other.params == self.params


def train(params, data=None, *, callbacks=None, fail=False, **extra):
    """Train a fake model; callbacks are called with the params."""
    CALLS.append(("train", params, data, callbacks, extra))
    if fail:
        raise TrainError("training failed: " + str(params))
    for callback in callbacks or ():
        callback(params)
    return Model(params)


def train_twice(params):
    """A framework function calling the patched train() twice (nested calls)."""
    return [train(params), train(params)]
