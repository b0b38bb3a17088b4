"""Keras 3 / TensorFlow autologging on real Keras models and small real data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

keras = pytest.importorskip("keras")
np = pytest.importorskip("numpy")

import autolog  # noqa: E402
from autolog.core import reporting  # noqa: E402
from autolog.core.errors import AutologWarning  # noqa: E402
from autolog.testing import failing_store, inject_hook_faults, list_hooks  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def keras_autolog(tracking_uri):
    """Keras autologging on (models off unless a test turns them on); off afterwards."""
    autolog.keras.autolog(log_models=False)
    yield
    autolog.keras.autolog(disable=True)


def data(n=128, features=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, features)).astype("float32")
    y = (X[:, 0] > 0).astype("int64") + (X[:, 1] > 0.5).astype("int64")
    return X, np.minimum(y, classes - 1)


def sequential(features=6, classes=3, with_input=True, optimizer="adam"):
    layers = [keras.Input((features,))] if with_input else []
    layers += [keras.layers.Dense(8, activation="relu"),
               keras.layers.Dense(classes, activation="softmax")]
    model = keras.Sequential(layers)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def only_run():
    runs = autolog.search_runs()
    assert len(runs) == 1, [r.info.run_id for r in runs]
    return runs[0]


def history(run, key):
    return [(m.step, m.value) for m in autolog.get_metric_history(run.info.run_id, key)]


def artifacts(run):
    return {f.path for f in autolog.Client().list_artifacts(run.info.run_id)}


class Recorder(keras.callbacks.Callback):
    def __init__(self, name, events):
        super().__init__()
        self.name = name
        self.events = events

    def on_epoch_end(self, epoch, logs=None):
        self.events.append((self.name, epoch))


# -- what one fit records -------------------------------------------------------------------


def test_sequential_positional_args_validation_split_and_model(tracking_uri):
    autolog.keras.autolog(log_models=True)
    X, y = data()
    keras.utils.set_random_seed(1)
    model = sequential(with_input=False)
    events: list = []
    user_callbacks = [Recorder("a", events), Recorder("b", events)]
    snapshot = list(user_callbacks)
    returned = model.fit(X, y, 16, 3, 0, user_callbacks, 0.25)  # positional hyperparameters
    assert returned is model.history
    assert user_callbacks == snapshot  # the user's list is never mutated
    assert events == [("a", 0), ("b", 0), ("a", 1), ("b", 1), ("a", 2), ("b", 2)]

    run = only_run()
    assert run.info.status == "FINISHED"
    params = run.data.params
    assert params["batch_size"] == "16" and params["epochs"] == "3"
    assert params["validation_split"] == "0.25" and params["shuffle"] == "True"
    assert params["initial_epoch"] == "0" and params["class_weight"] == "None"
    assert params["steps_per_epoch"] == "6"  # 96 training rows / 16
    assert params["opt_name"] == "Adam" and float(params["opt_learning_rate"]) == 0.001
    assert params["opt_beta_1"] == "0.9" and params["opt_epsilon"] == "1e-07"
    assert params["loss"] == "sparse_categorical_crossentropy"
    assert params["trainable_params"] == str(6 * 8 + 8 + 8 * 3 + 3)
    assert params["non_trainable_params"] == "0"
    assert params["dataset_type"] == "numpy.ndarray" and params["dataset_shape"] == "(128, 6)"
    assert run.data.tags["autolog.integration"] == "keras"
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        steps = [step for step, _ in history(run, key)]
        assert steps == [0, 1, 2], key  # validation metrics at their epoch, never all at 0
    assert history(run, "val_loss")[-1][1] == pytest.approx(model.history.history["val_loss"][-1])
    assert {"model", "model_summary.txt"} <= artifacts(run)

    loaded = autolog.keras.load_model(f"runs:/{run.info.run_id}/model")
    np.testing.assert_array_equal(loaded.predict(X, verbose=0), model.predict(X, verbose=0))
    pyfunc = autolog.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    np.testing.assert_allclose(pyfunc.predict(X[:4]), model.predict(X[:4], verbose=0))
    meta = pyfunc.metadata
    assert meta.flavors["keras"]["keras_backend"] == keras.backend.backend()
    assert meta.flavors["python_function"]["loader_module"] == "mlflow.keras"
    assert meta.signature.inputs.to_list()[0]["tensor-spec"] == {"dtype": "float32",
                                                                  "shape": [-1, 6]}


def test_keyword_args_are_recorded_as_the_positional_ones():
    X, y = data()
    keras.utils.set_random_seed(1)
    sequential().fit(x=X, y=y, batch_size=16, epochs=3, verbose=0, validation_split=0.25)
    run = only_run()
    assert run.data.params["batch_size"] == "16" and run.data.params["epochs"] == "3"
    assert run.data.params["validation_split"] == "0.25"


def test_functional_validation_data_schedule_custom_metric_and_evaluate():
    X, y = data(n=96)
    Xv, yv = data(n=32, seed=5)

    def first_class_score(y_true, y_pred):  # a custom metric function
        return keras.ops.mean(y_pred[:, 0])

    inputs = keras.Input((6,))
    outputs = keras.layers.Dense(3, activation="softmax")(keras.layers.Dense(8)(inputs))
    model = keras.Model(inputs, outputs)
    schedule = keras.optimizers.schedules.ExponentialDecay(0.01, decay_steps=5, decay_rate=0.5)
    model.compile(optimizer=keras.optimizers.SGD(schedule, momentum=0.5),
                  loss=keras.losses.SparseCategoricalCrossentropy(),
                  metrics=["accuracy", first_class_score])
    model.fit(X, y, batch_size=32, epochs=2, verbose=0, validation_data=(Xv, yv),
              class_weight={0: 1.0, 1: 2.0, 2: 1.0})
    scores = model.evaluate(Xv, yv, verbose=0)
    model.evaluate(Xv, yv, verbose=0, return_dict=True)

    run = only_run()
    params = run.data.params
    assert params["opt_name"] == "SGD" and params["opt_momentum"] == "0.5"
    assert params["opt_learning_rate"] == "ExponentialDecay"
    assert params["opt_learning_rate_initial_learning_rate"] == "0.01"
    assert params["opt_learning_rate_decay_steps"] == "5"
    assert params["loss"] == "sparse_categorical_crossentropy"
    assert params["class_weight"] == str({0: 1.0, 1: 2.0, 2: 1.0})
    assert [s for s, _ in history(run, "first_class_score")] == [0, 1]
    assert [s for s, _ in history(run, "val_first_class_score")] == [0, 1]
    assert history(run, "eval_loss") == [(0, pytest.approx(scores[0])),
                                         (1, pytest.approx(scores[0]))]
    assert history(run, "eval_first_class_score")[0][1] == pytest.approx(scores[2])
    assert run.info.status == "FINISHED"
    inputs = {d.name: d for d in autolog.get_run(run.info.run_id).inputs.dataset_inputs}
    assert (inputs["train"].context, inputs["validation"].context) == ("training", "validation")
    assert json.loads(inputs["validation"].profile)["features_shape"] == [32, 6]


def test_evaluate_of_a_model_never_fitted_with_autolog_logs_nothing():
    X, y = data(n=32)
    autolog.keras.autolog(disable=True)
    model = sequential()
    model.fit(X, y, epochs=1, verbose=0)
    autolog.keras.autolog(log_models=False)
    model.evaluate(X, y, verbose=0)
    assert autolog.search_runs() == []


@keras.saving.register_keras_serializable(package="autolog_tests")
class TwoLayer(keras.Model):
    def __init__(self, units=8, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.hidden = keras.layers.Dense(units, activation="relu")
        self.out = keras.layers.Dense(1)

    def call(self, inputs):
        return self.out(self.hidden(inputs))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def test_subclassed_model_and_its_saved_model(tracking_uri):
    autolog.keras.autolog(log_models=True)
    X, _ = data(n=64)
    y = X.sum(axis=1, keepdims=True)
    model = TwoLayer(units=4)
    model.compile(optimizer=keras.optimizers.AdamW(learning_rate=0.01, weight_decay=0.001),
                  loss="mse")
    model.fit(X, y, batch_size=16, epochs=2, verbose=0)
    run = only_run()
    assert run.data.params["opt_weight_decay"] == "0.001"
    assert run.data.params["trainable_params"] == str(6 * 4 + 4 + 4 + 1)
    assert [s for s, _ in history(run, "loss")] == [0, 1]
    loaded = autolog.load_model(f"runs:/{run.info.run_id}/model")
    assert isinstance(loaded, TwoLayer)  # with get_config: the whole model, as .keras
    conf = autolog.models.read_model_metadata(
        autolog.models.resolve_model_uri(f"runs:/{run.info.run_id}/model")).flavors
    assert conf["keras"]["save_format"] == "keras" and "python_function" in conf
    np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0),
                               rtol=1e-6)


class AutoEncoder(keras.Model):
    """The Keras examples' style (VAE, custom train_step): sub-models as __init__
    arguments, no get_config -- `model.save` raises NotImplementedError."""

    def __init__(self, encoder, decoder, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.loss_tracker = keras.metrics.Mean(name="loss")

    @property
    def metrics(self):
        return [self.loss_tracker]

    def call(self, inputs):
        return self.decoder(self.encoder(inputs))

    def train_step(self, batch):
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss = keras.ops.mean(keras.ops.square(batch - self(batch)))
        grads = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}


def autoencoder(seed=0):
    keras.utils.set_random_seed(seed)
    encoder = keras.Sequential([keras.Input((6,)), keras.layers.Dense(2)])
    decoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(6)])
    model = AutoEncoder(encoder, decoder)
    model.compile(optimizer="adam")
    return model


def test_subclassed_model_without_get_config_is_logged_as_weights(tracking_uri):
    """Saved as weights with a note in MLmodel, one warning per class; the run is whole;
    load_model says how to load it, and loads it into a model rebuilt in code."""
    if keras.backend.backend() != "tensorflow":
        pytest.skip("the custom train_step uses tf.GradientTape")
    from autolog import models
    from autolog.models.flavors import keras as keras_flavor

    keras_flavor._warned_classes.discard(f"{__name__}.AutoEncoder")
    autolog.keras.autolog(log_models=True)
    X, _ = data(n=64)
    model = autoencoder()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(X, batch_size=16, epochs=2, verbose=0)
        autoencoder(seed=1).fit(X, batch_size=16, epochs=1, verbose=0)  # same class again
    ours = [w for w in caught if issubclass(w.category, AutologWarning)]
    assert len(ours) == 1, [str(w.message) for w in ours]
    assert "AutoEncoder" in str(ours[0].message) and "model=" in str(ours[0].message)

    first, _second = sorted(autolog.search_runs(), key=lambda r: r.info.start_time)
    assert first.info.status == "FINISHED"
    assert first.data.params["epochs"] == "2" and first.data.params["batch_size"] == "16"
    assert [s for s, _ in history(first, "loss")] == [0, 1]
    assert {"model", "model_summary.txt"} <= artifacts(first)
    uri = f"runs:/{first.info.run_id}/model"
    path = models.resolve_model_uri(uri)
    assert os.path.isfile(os.path.join(path, "data", "model.weights.h5"))
    assert not os.path.exists(os.path.join(path, "data", "model.keras"))
    meta = models.read_model_metadata(path)
    conf = meta.flavors["keras"]
    assert conf["save_format"] == "weights"
    assert conf["model_class"].endswith("AutoEncoder") and "Rebuild" in conf["note"]
    assert "python_function" not in meta.flavors

    with pytest.raises(autolog.InvalidInputError, match=r"model=MyModel"):
        autolog.keras.load_model(uri)
    rebuilt = autoencoder(seed=7)  # same architecture, other weights, not built
    loaded = autolog.keras.load_model(uri, model=rebuilt)
    assert loaded is rebuilt
    np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0),
                               rtol=1e-6)


def test_unregistered_subclass_load_error_says_how(tracking_uri):
    """A subclass Keras serializes from plain __init__ arguments but cannot find at load
    (defined in a function, not registered): a clear error naming custom_objects."""
    autolog.keras.autolog(log_models=True)

    class Local(keras.Model):
        def __init__(self, units=3, **kwargs):
            super().__init__(**kwargs)
            self.dense = keras.layers.Dense(units)

        def call(self, inputs):
            return self.dense(inputs)

    X, _ = data(n=32)
    model = Local()
    model.compile(optimizer="adam", loss="mse")
    model.fit(X, X[:, :3], epochs=1, verbose=0)
    uri = f"runs:/{only_run().info.run_id}/model"
    with pytest.raises(autolog.InvalidInputError, match="custom_objects"):
        autolog.keras.load_model(uri)
    loaded = autolog.keras.load_model(uri, custom_objects={"Local": Local})
    np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0),
                               rtol=1e-6)


def test_early_stopping_with_restored_best_weights():
    X, y = data(n=96)
    keras.utils.set_random_seed(3)
    model = sequential(optimizer=keras.optimizers.Adam(0.05))
    # An impossible improvement threshold: stops after `patience` epochs, restores epoch 0.
    stopper = keras.callbacks.EarlyStopping(monitor="loss", patience=2, min_delta=10.0,
                                            restore_best_weights=True)
    model.fit(X, y, epochs=10, batch_size=32, verbose=0, callbacks=[stopper])
    run = only_run()
    params = run.data.params
    assert (params["monitor"], params["patience"], params["min_delta"],
            params["restore_best_weights"]) == ("loss", "2", "10.0", "True")
    assert run.data.metrics["stopped_epoch"] == 2 and run.data.metrics["restored_epoch"] == 0
    losses = history(run, "loss")
    assert [s for s, _ in losses] == [0, 1, 2, 3]  # the restored epoch once more, at the end
    assert losses[-1][1] == losses[0][1]
    assert run.data.metrics["loss"] == losses[0][1]


def test_batch_metrics_every_n_steps():
    autolog.keras.autolog(log_models=False, log_every_n_steps=3)
    X, y = data(n=80)
    sequential().fit(X, y, batch_size=16, epochs=2, verbose=0)  # 5 batches an epoch
    run = only_run()
    assert [s for s, _ in history(run, "batch_loss")] == [3, 6, 9]
    assert [s for s, _ in history(run, "loss")] == [0, 1]


# -- inputs -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_tf_dataset_generator_and_pydataset_inputs():
    tf = pytest.importorskip("tensorflow")
    X, y = data(n=64)

    dataset = tf.data.Dataset.from_tensor_slices((X, y)).batch(16)
    sequential().fit(dataset, epochs=1, verbose=0)

    def generator():
        while True:
            for start in range(0, 64, 16):
                yield X[start:start + 16], y[start:start + 16]

    sequential().fit(generator(), steps_per_epoch=4, epochs=1, verbose=0)

    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return 4

        def __getitem__(self, index):
            return X[index * 16:(index + 1) * 16], y[index * 16:(index + 1) * 16]

    sequential().fit(Batches(), epochs=1, verbose=0)

    runs = sorted(autolog.search_runs(), key=lambda r: r.info.start_time)
    assert len(runs) == 3 and all(r.info.status == "FINISHED" for r in runs)
    ds, gen, pyds = (r.data.params for r in runs)
    assert ds["dataset_element_spec"] == "((None, 6), (None,))"
    assert ds["dataset_batches"] == "4" and ds["steps_per_epoch"] == "4"
    assert gen["dataset_type"] == "builtins.generator" and "dataset_shape" not in gen
    assert gen["steps_per_epoch"] == "4"
    assert pyds["dataset_batches"] == "4" and pyds["dataset_type"].endswith("Batches")
    for run in runs:
        assert [s for s, _ in history(run, "loss")] == [0]


# -- runs -------------------------------------------------------------------------------------


def test_user_callback_raising_fails_the_run_with_the_users_exception():
    X, y = data(n=32)
    error = RuntimeError("user callback broke")

    class Broken(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise error

    with pytest.raises(RuntimeError) as caught:
        sequential().fit(X, y, epochs=2, verbose=0, callbacks=[Broken()])
    assert caught.value is error
    run = only_run()
    assert run.info.status == "FAILED"
    assert history(run, "loss") == []  # the user's callback raised before ours ran
    assert autolog.active_run() is None
    assert "model" not in artifacts(run)


def test_fit_twice_gives_two_runs_and_callbacks_none_works():
    X, y = data(n=32)
    model = sequential()
    model.fit(X, y, epochs=1, verbose=0, callbacks=None)
    model.fit(X, y, epochs=1, verbose=0, callbacks=())
    runs = autolog.search_runs()
    assert len(runs) == 2 and {r.info.status for r in runs} == {"FINISHED"}


def test_fit_inside_a_user_run_and_a_second_fit_in_a_child_run():
    X, y = data(n=32)
    model = sequential()
    with autolog.start_run() as parent:
        model.fit(X, y, epochs=1, verbose=0)
        model.fit(X, y, epochs=1, verbose=0)
        model.evaluate(X, y, verbose=0)
    runs = {r.info.run_id: r for r in autolog.search_runs()}
    assert len(runs) == 2
    parent_run = runs.pop(parent.info.run_id)
    (child,) = runs.values()
    assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert "loss" in parent_run.data.metrics and "loss" in child.data.metrics
    assert "eval_loss" in child.data.metrics  # evaluate goes to the model's latest run


def test_explicit_callback_without_autologging(tracking_uri):
    autolog.keras.autolog(disable=True)
    X, y = data(n=64)
    model = sequential()
    with autolog.start_run() as run:
        model.fit(X, y, batch_size=16, epochs=2, verbose=0, validation_split=0.25,
                  callbacks=[autolog.keras.AutologCallback(log_every_n_steps=2)])
    stored = autolog.get_run(run.info.run_id)
    assert stored.data.params["epochs"] == "2" and stored.data.params["opt_name"] == "Adam"
    assert [s for s, _ in history(stored, "val_loss")] == [0, 1]
    assert [s for s, _ in history(stored, "batch_loss")] == [2, 4, 6]
    assert {"model", "model_summary.txt"} <= artifacts(stored)
    assert len(autolog.search_runs()) == 1


def test_explicit_callback_with_autologging_on_is_not_doubled():
    X, y = data(n=32)
    mine = autolog.keras.AutologCallback()
    user_list = [mine]
    sequential().fit(X, y, epochs=2, verbose=0, callbacks=user_list)
    assert user_list == [mine]
    run = only_run()
    assert [s for s, _ in history(run, "loss")] == [0, 1]  # logged once per epoch
    assert "model" not in artifacts(run)  # log_models=False applies to autologging


# -- never break user code ------------------------------------------------------------------


def trained_weights(X, y, **fit_kwargs):
    keras.utils.set_random_seed(7)
    model = sequential()
    model.fit(X, y, batch_size=16, epochs=2, verbose=0, validation_split=0.25, **fit_kwargs)
    return model, [w.copy() for w in model.get_weights()]


@pytest.mark.slow
@pytest.mark.usefixtures("lenient")
def test_each_hook_failing_leaves_training_identical():
    X, y = data(n=64)
    autolog.keras.autolog(disable=True)
    baseline_model, baseline = trained_weights(X, y)
    baseline_eval = baseline_model.evaluate(X, y, verbose=0)
    autolog.keras.autolog(log_models=False)
    hooks = list_hooks("keras")
    assert len(hooks) == 2
    for hook in hooks:
        reporting._warned_causes.clear()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with inject_hook_faults(hook) as fired:
                for _ in range(2 if hook.endswith("on_fit") else 1):  # twice: one warning
                    model, weights = trained_weights(X, y)
                    for got, expected in zip(weights, baseline, strict=True):
                        np.testing.assert_array_equal(got, expected)
                    for _ in range(2):
                        assert model.evaluate(X, y, verbose=0) == baseline_eval
        assert fired, hook
        ours = [w for w in caught if issubclass(w.category, AutologWarning)]
        assert len(ours) == 1, (hook, [str(w.message) for w in ours])


@pytest.mark.slow
@pytest.mark.usefixtures("lenient")
def test_failing_backend_leaves_training_identical():
    X, y = data(n=64)
    autolog.keras.autolog(disable=True)
    _, baseline = trained_weights(X, y)
    autolog.keras.autolog(log_models=True)
    with failing_store(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):
            model, weights = trained_weights(X, y)
            for got, expected in zip(weights, baseline, strict=True):
                np.testing.assert_array_equal(got, expected)
            model.evaluate(X, y, verbose=0)
    ours = [w for w in caught if issubclass(w.category, AutologWarning)]
    assert len(ours) == 1, [str(w.message) for w in ours]


def test_integration_module_imports_no_framework():
    code = textwrap.dedent("""
        import sys, time
        import autolog
        start = time.perf_counter()
        autolog.autolog()
        import autolog.integrations.keras, autolog.models.flavors.keras
        assert "keras" not in sys.modules and "tensorflow" not in sys.modules
        assert "numpy" not in sys.modules
        print(autolog.keras.KerasIntegration.module)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=REPO, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "keras"


# -- other loaders and backends (slow: a process or MLflow each) ------------------------------


@pytest.mark.slow
def test_mlflow_loaders_read_the_model_directory(tracking_uri):
    pytest.importorskip("mlflow")
    import mlflow
    import mlflow.keras
    import mlflow.pyfunc
    import mlflow.tensorflow

    autolog.keras.autolog(log_models=True)
    X, y = data(n=32)
    model = sequential()
    model.fit(X, y, epochs=1, verbose=0)
    run = only_run()
    path = autolog.Client().download_artifacts(run.info.run_id, "model")
    expected = model.predict(X, verbose=0)
    np.testing.assert_allclose(mlflow.pyfunc.load_model(path).predict(X), expected, rtol=1e-6)
    np.testing.assert_allclose(mlflow.keras.load_model(path).predict(X, verbose=0), expected,
                               rtol=1e-6)
    np.testing.assert_allclose(mlflow.tensorflow.load_model(path).predict(X, verbose=0),
                               expected, rtol=1e-6)
    assert mlflow.__version__


@pytest.mark.slow
def test_torch_backend(tmp_path):
    pytest.importorskip("torch")
    code = textwrap.dedent("""
        import numpy as np
        import autolog
        autolog.autolog(log_models=True)
        import keras
        assert keras.backend.backend() == "torch", keras.backend.backend()
        rng = np.random.default_rng(0)
        X = rng.normal(size=(64, 4)).astype("float32"); y = (X[:, 0] > 0).astype("int64")
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4, activation="relu"),
                                  keras.layers.Dense(2, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        model.fit(X, y, 16, 2, 0, validation_split=0.25,
                  callbacks=[keras.callbacks.EarlyStopping(patience=5)])
        model.evaluate(X, y, verbose=0)
        run = autolog.last_active_run()
        assert run.info.status == "FINISHED", run.info.status
        assert run.data.params["batch_size"] == "16" and run.data.params["epochs"] == "2"
        steps = [m.step for m in autolog.get_metric_history(run.info.run_id, "val_loss")]
        assert steps == [0, 1], steps
        assert "eval_loss" in run.data.metrics and "stopped_epoch" in run.data.metrics
        loaded = autolog.keras.load_model(f"runs:/{run.info.run_id}/model")
        np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0),
                                   rtol=1e-6)
        print("ok", run.data.params["trainable_params"])
    """)
    env = {**os.environ, "KERAS_BACKEND": "torch", "AUTOLOG_TRACKING_URI": str(tmp_path / "r"),
           "AUTOLOG_STRICT": "1", "CUDA_VISIBLE_DEVICES": ""}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=REPO, env=env, timeout=240)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split() == ["ok", str(4 * 4 + 4 + 4 * 2 + 2)]
