"""Keras autologging: one ``model.fit`` becomes a run; ``evaluate`` adds to it.

Run it as it is:            python examples/keras_example.py
or without autolog in it:   autolog run examples/keras_example.py

Data: three generated Gaussian blobs in 8 dimensions (no download). Records go to the
embedded store in ./autolog-runs (or $AUTOLOG_TRACKING_URI). Needs TensorFlow (or another
Keras 3 backend: KERAS_BACKEND=torch works too).
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter

import autolog  # noqa: E402


def keras_autologging_on() -> bool:
    return any(s.name == "keras" and s.state in ("enabled", "waiting")
               for s in autolog.status())


def make_data(n: int = 3000, features: int = 8, classes: int = 3, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=2.0, size=(classes, features))
    y = rng.integers(0, classes, size=n)
    x = (centers[y] + rng.normal(size=(n, features))).astype("float32")
    return x[: n * 4 // 5], y[: n * 4 // 5], x[n * 4 // 5:], y[n * 4 // 5:]


def main() -> None:
    if not keras_autologging_on():  # `autolog run` has already turned it on
        autolog.autolog()
    import keras

    x_train, y_train, x_test, y_test = make_data()
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((x_train.shape[1],)),
        keras.layers.Dense(32, activation="relu"),
        keras.layers.Dropout(0.1),
        keras.layers.Dense(3, activation="softmax"),
    ])
    schedule = keras.optimizers.schedules.ExponentialDecay(1e-2, decay_steps=100,
                                                           decay_rate=0.9)
    model.compile(optimizer=keras.optimizers.Adam(schedule),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(
        x_train, y_train, batch_size=64, epochs=20, verbose=0, validation_split=0.2,
        callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", patience=3,
                                                 restore_best_weights=True)],
    )
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)  # logged as eval_* metrics

    run = autolog.last_active_run()
    print(f"run {run.info.run_id} ({run.info.run_name}): {run.info.status}")
    print(f"test loss {loss:.4f}, test accuracy {accuracy:.4f}")
    params = run.data.params
    shown = ["epochs", "batch_size", "validation_split", "opt_name", "opt_learning_rate",
             "loss", "trainable_params", "monitor", "patience"]
    print("params: ", {key: params[key] for key in shown if key in params},
          f"(+{len(params) - len(shown)} more)")
    print("metrics:", {key: round(value, 4) for key, value in sorted(run.data.metrics.items())})
    history = autolog.get_metric_history(run.info.run_id, "val_loss")
    print(f"val_loss: {len(history)} values at steps {[m.step for m in history]}")
    artifacts = autolog.Client().list_artifacts(run.info.run_id)
    print("artifacts:", [a.path for a in artifacts])
    if any(a.path == "model" for a in artifacts):
        loaded = autolog.keras.load_model(f"runs:/{run.info.run_id}/model")
        same = (loaded.predict(x_test[:5], verbose=0).argmax(1)
                == model.predict(x_test[:5], verbose=0).argmax(1)).all()
        print(f"model reloaded from runs:/{run.info.run_id}/model; same predictions: {same}")
    print(f"stored in {autolog.get_tracking_uri()}; try: autolog runs show {run.info.run_id}")


if __name__ == "__main__":
    main()
