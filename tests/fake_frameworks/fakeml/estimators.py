"""Fake estimators: a base class, subclasses calling super().fit(), a meta-estimator."""

from fakeml._record import CALLS


class Estimator:
    """The base estimator."""

    def __init__(self, alpha=1.0):
        self.alpha = alpha

    def fit(self, X, y=None, sample_weight=None):
        """Fit the estimator."""
        CALLS.append(("Estimator.fit", type(self).__name__, X, y, sample_weight))
        if X == "fail":
            raise ValueError("bad X")
        self.fitted_ = True
        return self

    @classmethod
    def from_params(cls, alpha, scale=1.0):
        """Build from params."""
        CALLS.append(("from_params", cls.__name__, alpha, scale))
        return cls(alpha * scale)

    @staticmethod
    def default_alpha(scale=1.0):
        CALLS.append(("default_alpha", scale))
        return 1.0 * scale


class LinearModel(Estimator):
    def fit(self, X, y=None, sample_weight=None):
        CALLS.append(("LinearModel.fit", X))
        super().fit(X, y, sample_weight=sample_weight)
        self.coef_ = [1.0]
        return self


class Inherits(LinearModel):
    """Defines no fit of its own."""


class Ensemble(Estimator):
    def __init__(self, members=()):
        self.members = list(members)

    def fit(self, X, y=None):
        for member in self.members:
            member.fit(X, y)
        return self
