"""Quickstart: log a run by hand, then read back what was recorded.

Run it as it is (`python examples/quickstart.py`) or through `make demo`. Records go to
the embedded store in ./autolog-runs (or $AUTOLOG_TRACKING_URI).
"""

import os
import tempfile

import autolog


def main() -> None:
    workdir = tempfile.mkdtemp(prefix="autolog-quickstart-")
    plot = os.path.join(workdir, "plot.png")
    with open(plot, "wb") as handle:
        handle.write(b"\x89PNG\r\n\x1a\n")  # a placeholder image
    outputs = os.path.join(workdir, "outputs")
    os.makedirs(outputs)
    with open(os.path.join(outputs, "predictions.csv"), "w") as handle:
        handle.write("id,prediction\n1,0.9\n2,0.1\n")

    autolog.set_experiment("customer_churn")
    with autolog.start_run(run_name="lr-v1", tags={"team": "ds"}) as run:
        autolog.log_param("max_iter", 200)
        autolog.log_params({"C": 1.0, "penalty": "l2"})
        for epoch in range(100):
            autolog.log_metric("loss", 1 / (epoch + 1), step=epoch)
        autolog.log_metrics({"precision": 0.92, "recall": 0.88})
        autolog.set_tags({"author": "alice"})
        autolog.log_artifact(plot, artifact_path="visualizations")
        autolog.log_artifacts(outputs)
        autolog.log_dict({"lr": 0.1}, "config.json")
        autolog.log_text("notes", "notes.txt")

    recorded = autolog.get_run(run.info.run_id)
    print(f"run {recorded.info.run_id} ({recorded.info.run_name}): {recorded.info.status}")
    print("params: ", recorded.data.params)
    print("metrics:", recorded.data.metrics)
    print("tags:   ", {k: v for k, v in recorded.data.tags.items() if not k.startswith("mlflow.")})
    history = autolog.get_metric_history(run.info.run_id, "loss")
    print(f"loss history: {len(history)} values, last {history[-1].value:.4f} at step "
          f"{history[-1].step}")
    artifacts = autolog.Client().list_artifacts(run.info.run_id)
    print("artifacts:", [a.path for a in artifacts])
    print(f"stored in {autolog.get_tracking_uri()}; try: autolog runs show {run.info.run_id}")


if __name__ == "__main__":
    main()
