"""``autolog sync``: send an embedded store (or an MLflow backend's spool) elsewhere.

The lead attaches `sync_command` to the main CLI as ``autolog sync``.
"""

from __future__ import annotations

import click


@click.command("sync")
@click.option("--from", "source", required=True, metavar="URI",
              help="Source tracking URI or store directory (e.g. ./autolog-runs, or a spool "
                   "directory under ~/.autolog/spool/).")
@click.option("--to", "dest", required=True, metavar="URI",
              help="Destination tracking URI (e.g. mlflow+http://host:5000).")
@click.option("--experiment", default=None, metavar="NAME",
              help="Copy only the experiment with this name.")
@click.option("--no-progress", is_flag=True, default=False, help="Do not show a progress bar.")
def sync_command(source: str, dest: str, experiment: str | None, no_progress: bool) -> None:
    """Copy experiments, runs, artifacts and models from one store to another.

    Idempotent: runs copied before are not copied again; runs that were still running
    are brought up to date.
    """
    from autolog.core.errors import AutologException, StoreNotFoundError
    from autolog.sync import sync

    try:
        report = sync(source, dest, experiment=experiment, progress=not no_progress)
    except StoreNotFoundError as exc:  # the source is only read: it is never created
        raise click.ClickException(f"{exc}. The source came from --from {source!r}: check "
                                   "the path.") from None
    except (AutologException, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    for skipped in report.model_versions_skipped:
        click.echo(f"skipped model version {skipped}", err=True)
    for skipped in report.logged_models_skipped:
        click.echo(f"skipped logged model {skipped}", err=True)
    click.echo(report.summary() if report.copied_anything else
               f"Nothing new to copy ({report.runs_unchanged} runs already in sync).")


sync = sync_command
