"""The plots integrations log: figures drawn off the training thread, PNGs drawn with Pillow.

* `draw_later` renders a matplotlib figure on autolog's deferred worker, after the fit has
  returned (drawing costs ~50 ms, which the training thread should not wait for); the
  ``*_figure`` functions are what it draws (confusion matrix, ROC and precision-recall
  curves), from arrays of autolog's own.
* `bar_chart_png` draws a bar chart with Pillow in a few milliseconds (feature importance
  after every boosting fit, where a matplotlib figure would cost more than the training).

Nothing here imports matplotlib, Pillow or a framework at module level.
"""

from __future__ import annotations

from typing import Any

__all__ = ["bar_chart_png", "curve_figure", "draw_later", "has_matplotlib", "matrix_figure",
           "precision_recall_figure", "roc_figure"]

_matplotlib: list[bool] = []


def has_matplotlib() -> bool:
    """Is matplotlib installed? (looked up once, without importing it)"""
    if not _matplotlib:
        import importlib.util

        _matplotlib.append(importlib.util.find_spec("matplotlib") is not None)
    return _matplotlib[0]


def draw_later(recorder: Any, integration: str, artifact_file: str, draw, *args) -> None:
    """Render ``draw(*args)`` and store it as ``artifact_file`` of ``recorder``'s run on
    autolog's deferred worker (an error there is reported as ``integration``'s)."""
    from autolog.core.tracking import deferred

    deferred.submit(f"{integration}: drawing {artifact_file}",
                    lambda: recorder.log_figure(draw(*args), artifact_file))


def matrix_figure(matrix, classes, title: str = "Confusion matrix (training data)"):
    """A confusion matrix (true x predicted), the counts written in up to 20 classes."""
    from matplotlib.figure import Figure

    n = len(classes)
    size = min(10.0, 2.5 + 0.5 * n)
    figure = Figure(figsize=(size, size), dpi=80)
    ax = figure.add_subplot()
    ax.imshow(matrix, cmap="Blues")
    if n <= 20:
        threshold = matrix.max() / 2 if matrix.size else 0
        for i in range(n):
            for j in range(n):
                value = matrix[i, j]
                text = f"{value:g}" if not float(value).is_integer() else str(int(value))
                ax.text(j, i, text, ha="center", va="center",
                        color="white" if value > threshold else "black")
    ax.set_xticks(range(n), [str(c) for c in classes], rotation=45 if n > 5 else 0)
    ax.set_yticks(range(n), [str(c) for c in classes])
    ax.set_xlabel("Predicted label")
    ax.set_ylabel("True label")
    ax.set_title(title)
    figure.tight_layout()
    return figure


def curve_figure(x, y, xlabel, ylabel, title, diagonal=False):
    """One curve, titled ``<title> (training data)``; ``diagonal``: the chance line."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(4, 4), dpi=80)
    ax = figure.add_subplot()
    ax.plot(x, y)
    if diagonal:
        ax.plot([0, 1], [0, 1], linestyle="--", color="grey")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(f"{title} (training data)")
    # Fixed margins fit these fixed labels; tight_layout would draw the figure twice.
    figure.subplots_adjust(left=0.16, bottom=0.13, right=0.95, top=0.9)
    return figure


def roc_figure(positive, scores, weight):
    """The ROC curve of binary labels (1 = positive) and their scores."""
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(positive, scores, pos_label=1, sample_weight=weight)
    return curve_figure(fpr, tpr, "False positive rate", "True positive rate", "ROC curve",
                        True)


def precision_recall_figure(positive, scores, weight):
    """The precision-recall curve of binary labels (1 = positive) and their scores."""
    from sklearn.metrics import precision_recall_curve

    precision, recall, _ = precision_recall_curve(positive, scores, pos_label=1,
                                                  sample_weight=weight)
    return curve_figure(recall, precision, "Recall", "Precision", "Precision-recall curve")


def bar_chart_png(title: str, bars: list[tuple[str, float]]) -> bytes | None:
    """A horizontal bar chart as PNG bytes, drawn with Pillow (which matplotlib installs).

    Pillow draws it in a few milliseconds; a matplotlib figure costs ~100 ms per fit,
    which alone would exceed the overhead budget of a typical boosting run. None when
    Pillow is not installed.
    """
    try:
        from PIL import Image, ImageDraw, ImageFont
    except ImportError:
        return None
    import io

    try:
        font = ImageFont.load_default(size=12)
        title_font = ImageFont.load_default(size=14)
    except TypeError:  # Pillow < 10.1: a fixed bitmap font
        font = title_font = ImageFont.load_default()
    row, top, width = 20, 34, 640
    label_width = max((font.getlength(name) for name, _ in bars), default=0)
    left = int(min(max(label_width + 16, 60), width // 2))
    right = width - 70
    height = top + row * len(bars) + 12
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    draw.text((10, 8), title, fill="black", font=title_font)
    largest = max((abs(v) for _, v in bars), default=0.0) or 1.0
    for index, (name, value) in enumerate(bars):
        y = top + index * row
        length = int((right - left) * abs(value) / largest)
        draw.rectangle((left, y + 3, left + max(length, 1), y + row - 3), fill="#4c72b0")
        draw.text((left - 8, y + row // 2), name, fill="black", font=font, anchor="rm")
        draw.text((left + length + 4, y + row // 2), f"{value:.4g}", fill="#333333",
                  font=font, anchor="lm")
    draw.line((left, top - 2, left, height - 10), fill="#888888")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()
