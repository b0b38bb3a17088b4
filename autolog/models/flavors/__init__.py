"""Built-in model flavors, imported lazily by the flavor name found in an ``MLmodel`` file.

A flavor module registers its `autolog.models.Flavor` when imported. Nothing here
imports a framework: `autolog.models.get_flavor("sklearn")` imports
`autolog.models.flavors.sklearn`, which imports scikit-learn only when a model is saved or loaded.

Flavor names are MLflow's, so that a model directory written by either tool names the
same flavor.
"""

from __future__ import annotations

#: MLflow flavor name -> the autolog module that implements it.
BUILTIN_FLAVORS: dict[str, str] = {
    "sklearn": "autolog.models.flavors.sklearn",
    "xgboost": "autolog.models.flavors.xgboost",
    "lightgbm": "autolog.models.flavors.lightgbm",
    "catboost": "autolog.models.flavors.catboost",
    "keras": "autolog.models.flavors.keras",
    "tensorflow": "autolog.models.flavors.keras",
    "pytorch": "autolog.models.flavors.torch",
    "transformers": "autolog.models.flavors.transformers",
}

#: Other spellings users reach for -> the flavor name.
FLAVOR_ALIASES: dict[str, str] = {
    "scikit-learn": "sklearn",
    "torch": "pytorch",
}

__all__ = ["BUILTIN_FLAVORS", "FLAVOR_ALIASES"]
