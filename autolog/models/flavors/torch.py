"""The PyTorch flavor (MLflow's name: ``pytorch``): save, log and load ``nn.Module``s.

A model directory holds, under ``data/``:

- ``state_dict.pth``: ``module.state_dict()`` written with `torch.save`. It holds only
  tensors and plain containers, so it loads with ``torch.load(..., weights_only=True)``
  -- no code from the file runs. `load_state_dict` reads it so.
- ``model.pth``: the whole module, pickled with `torch.save`, when it pickles (a class
  defined in a function or holding a lock does not: then only the state dict is saved
  and ``full_model: false`` says so in ``MLmodel``). This is the file MLflow's own
  ``mlflow.pytorch.load_model`` reads.
- ``pickle_module_info.txt``: MLflow's record of the pickle module used.

Security: loading ``model.pth`` unpickles it, which runs code chosen by whoever wrote the
file, and needs the model's class importable. Load whole modules only from runs you
trust; `load_state_dict` is the safe way to get the weights back into a module you build.

torch is imported only when a model is saved or loaded.
"""

from __future__ import annotations

import os
from typing import Any

from autolog import models
from autolog.core.errors import InvalidInputError

__all__ = ["FLAVOR_NAME", "TorchFlavor", "load_state_dict"]

#: what ``autolog.<framework>`` takes from this module beside the shared model functions
FACE = ("load_state_dict",)

FLAVOR_NAME = "pytorch"
DATA_DIR = "data"
MODEL_FILE = "model.pth"
STATE_DICT_FILE = "state_dict.pth"
PICKLE_INFO_FILE = "pickle_module_info.txt"
PICKLE_MODULE = "mlflow.pytorch.pickle_module"


class TorchFlavor(models.Flavor):
    name = FLAVOR_NAME
    framework_module = "torch"
    distribution = "torch"
    mlflow_loader_module = "mlflow.pytorch"
    model_path = DATA_DIR

    def save(self, model: Any, path: str, *, full_model: bool = True,
             **kwargs: Any) -> dict[str, Any]:
        if kwargs:
            raise InvalidInputError(
                f"Unknown option(s) for the pytorch flavor: {', '.join(sorted(kwargs))}."
            )
        import torch

        if not isinstance(model, torch.nn.Module):
            raise InvalidInputError(
                f"The pytorch flavor saves torch.nn.Module objects, got {type(model).__name__}."
            )
        data = os.path.join(path, DATA_DIR)
        os.makedirs(data, exist_ok=True)
        torch.save(model.state_dict(), os.path.join(data, STATE_DICT_FILE))
        pickled = False
        if full_model:
            target = os.path.join(data, MODEL_FILE)
            try:
                torch.save(model, target)
                pickled = True
            except Exception:  # noqa: BLE001 - not picklable: the state dict is enough
                if os.path.exists(target):
                    os.remove(target)
        with open(os.path.join(data, PICKLE_INFO_FILE), "w", encoding="utf-8") as handle:
            handle.write(PICKLE_MODULE)
        return {
            "model_data": DATA_DIR,
            "pytorch_version": self.framework_version(),
            "state_dict": f"{DATA_DIR}/{STATE_DICT_FILE}",
            "full_model": pickled,
            "code": None,
        }

    def load(self, path: str, flavor_conf: dict[str, Any]) -> Any:
        """The whole module when it was saved (unpickled: trusted models only), else the
        state dict (read with ``weights_only=True``)."""
        import torch

        data = flavor_conf.get("model_data", DATA_DIR)
        if flavor_conf.get("full_model", True):
            file = models.model_file(path, f"{data}/{MODEL_FILE}")
            if os.path.exists(file):
                # Explicit load of a model the user chose to trust (see the module doc).
                return torch.load(file, weights_only=False)
        return _read_state_dict(path, flavor_conf)

    def supports_pyfunc(self, model: Any) -> bool:
        import torch

        return isinstance(model, torch.nn.Module)

    def pyfunc_predict(self, model: Any, data: Any, params: dict[str, Any] | None = None) -> Any:
        import numpy as np
        import torch

        if hasattr(data, "to_numpy"):
            data = data.to_numpy()
        array = np.asarray(data, dtype=np.float32)
        try:
            device = next(model.parameters()).device
        except StopIteration:
            device = torch.device("cpu")
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                output = model(torch.as_tensor(array, device=device))
        finally:
            model.train(was_training)
        return output.detach().cpu().numpy()


def _read_state_dict(path: str, flavor_conf: dict[str, Any]) -> Any:
    import torch

    relative = flavor_conf.get("state_dict", f"{DATA_DIR}/{STATE_DICT_FILE}")
    return torch.load(models.model_file(path, relative), weights_only=True)


models.register_flavor(TorchFlavor())


def load_state_dict(model_uri: str | os.PathLike) -> dict[str, Any]:
    """The weights of a logged module, read with ``weights_only=True`` (no code runs)::

        model = Net()
        model.load_state_dict(autolog.pytorch.load_state_dict("runs:/<id>/model"))
    """
    local = models.resolve_model_uri(model_uri)
    meta = models.read_model_metadata(local)
    _flavor, conf = models.pick_flavor(meta, FLAVOR_NAME)
    return _read_state_dict(local, conf)
