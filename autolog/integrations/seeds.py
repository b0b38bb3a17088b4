"""Seeds: which random seeds the user set, for `autolog.core.tracking.provenance`.

One integration watches several modules (the core applies each patch when the module it
names is imported, so nothing is patched, and nothing costs, for a framework never
imported): observer patches (``training=False``) on ``numpy.random.seed``,
``torch.manual_seed``, ``tensorflow.random.set_seed`` and
``keras.utils.set_random_seed``. ``random`` is imported by nearly every program, and a
wrapt patch would import wrapt (~50 ms) at `autolog.autolog()`, so ``random.seed`` gets
a plain function wrapper instead, installed when ``random`` is imported (or at once) and
run through `patching.framework_hook` (observer semantics, error isolation).

The last seed per source goes to `provenance.note_seed`: a run started later is tagged
``autolog.seed.<source>`` when it starts, and a run active when the seed is set is
tagged at once. Seeds set inside another seeding call (``keras.utils.set_random_seed``
seeds ``random`` and NumPy itself) or inside a training call are not recorded separately.
"""

from __future__ import annotations

import functools
from typing import Any

from autolog.core import patching
from autolog.core.patching import Patch
from autolog.core.patching.integration import Integration
from autolog.core.tracking import provenance


def _observer(source: str, argument: str):
    def record_seed(call: Any) -> Any:
        result = call.proceed()  # the user's exception, if any, goes to the user as is
        provenance.note_seed(source, call.argument(argument))
        return result

    record_seed.__qualname__ = f"record_{source}_seed"
    return record_seed


record_numpy_seed = _observer("numpy", "seed")
record_torch_seed = _observer("torch", "seed")
record_tensorflow_seed = _observer("tensorflow", "seed")
record_keras_seed = _observer("keras", "seed")


def record_random_seed(args: tuple, kwargs: dict) -> None:
    provenance.note_seed("random", args[0] if args else kwargs.get("a"))


class SeedsIntegration(Integration):
    name = "seeds"
    module = "random"

    def __init__(self) -> None:
        super().__init__()
        self._random_wrapper: Any = None
        self._random_original: Any = None
        self._hook = patching.framework_hook(self, record_random_seed)

    def patches(self) -> list[Patch]:
        return [
            Patch("numpy.random:seed", record_numpy_seed, training=False),
            Patch("torch:manual_seed", record_torch_seed, training=False),
            Patch("tensorflow:random.set_seed", record_tensorflow_seed, training=False),
            Patch("keras:utils.set_random_seed", record_keras_seed, training=False),
        ]

    def framework_hooks(self) -> list:
        return [record_random_seed]

    def on_module_imported(self, module: Any) -> None:
        if getattr(module, "__name__", None) != "random" or self._random_wrapper is not None:
            return
        original = module.seed
        hook = self._hook
        integration = self

        @functools.wraps(original)
        def seed(*args: Any, **kwargs: Any) -> Any:
            result = original(*args, **kwargs)
            if integration._enabled:
                hook(args, kwargs)
            return result

        self._random_original = original
        self._random_wrapper = seed
        module.seed = seed

    def on_disable(self) -> None:
        import random

        wrapper, self._random_wrapper = self._random_wrapper, None
        if wrapper is not None and random.seed is wrapper:
            random.seed = self._random_original  # else others wrapped it: ours is inert now
