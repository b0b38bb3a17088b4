"""Fake metric functions (observer patches); f1 and recall call score internally."""


def score(y_true, y_pred):
    """Fraction of equal items."""
    pairs = list(zip(y_true, y_pred))
    return sum(a == b for a, b in pairs) / max(len(pairs), 1)


def f1(y_true, y_pred):
    return score(y_true, y_pred)


def recall(y_true, y_pred):
    """Patched as a return observer; raises on empty input like a real metric might."""
    if not y_true:
        raise ValueError("recall of nothing")
    return score(y_true, y_pred)
