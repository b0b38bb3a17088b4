"""``autolog models ...``: the model registry from the shell.

    autolog models list            registered models, latest version per stage, aliases
    autolog models show NAME       every version of NAME

The main CLI attaches the `models` group; it also works on its own
(``python -m autolog.cli_models list``).
"""

from __future__ import annotations

import datetime

import click

from autolog.core.errors import AutologException

__all__ = ["models"]


def _client(ctx: click.Context, tracking_uri: str | None):
    """A Client on the store to read, which must exist: listing never creates one."""
    from autolog.cli import require_store
    from autolog.core.tracking.client import Client

    uri, given_by = tracking_uri, "models --tracking-uri" if tracking_uri else None
    if uri is None:
        parent = ctx.find_root()
        obj = parent.obj if isinstance(parent.obj, dict) else {}
        uri = obj.get("tracking_uri") or parent.params.get("tracking_uri")
    require_store(ctx, uri, given_by)
    return Client(uri) if uri else Client()


def _time(ms: int | None) -> str:
    if not ms:
        return "-"
    return datetime.datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines)


@click.group("models")
@click.option("--tracking-uri", default=None, metavar="URI",
              help="Store to read (default: AUTOLOG_TRACKING_URI or ./autolog-runs).")
@click.pass_context
def models(ctx: click.Context, tracking_uri: str | None) -> None:
    """Registered models and their versions."""
    ctx.ensure_object(dict)
    ctx.obj["models_tracking_uri"] = tracking_uri


@models.command("list")
@click.pass_context
def list_models(ctx: click.Context) -> None:
    """Registered models: latest version per stage, and aliases."""
    try:
        client = _client(ctx, ctx.obj.get("models_tracking_uri"))
        registered = client.search_registered_models()
    except AutologException as exc:
        raise click.ClickException(str(exc)) from None
    if not registered:
        click.echo("No registered models.")
        return
    rows = []
    for model in registered:
        latest = ", ".join(f"{v.current_stage}: v{v.version}"
                           for v in sorted(model.latest_versions, key=lambda v: int(v.version)))
        aliases = ", ".join(f"@{a}: v{v}" for a, v in sorted(model.aliases.items()))
        rows.append([model.name, latest or "-", aliases or "-",
                     _time(model.last_updated_timestamp)])
    click.echo(_table(["NAME", "LATEST VERSIONS", "ALIASES", "UPDATED"], rows))


@models.command("show")
@click.argument("name")
@click.pass_context
def show_model(ctx: click.Context, name: str) -> None:
    """Every version of the registered model NAME."""
    try:
        client = _client(ctx, ctx.obj.get("models_tracking_uri"))
        model = client.get_registered_model(name)
        query = f"name = '{name}'" if "'" not in name else ""
        versions = [v for v in client.search_model_versions(query) if v.name == name]
    except AutologException as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Registered model: {model.name}")
    if model.description:
        click.echo(f"Description: {model.description}")
    click.echo(f"Created: {_time(model.creation_timestamp)}")
    if not versions:
        click.echo("No versions.")
        return
    rows = [
        [v.version, v.current_stage, v.run_id or "-", v.source, _time(v.creation_timestamp),
         ", ".join(f"@{a}" for a in v.aliases) or "-", v.description or "-"]
        for v in sorted(versions, key=lambda v: int(v.version))
    ]
    click.echo(_table(["VERSION", "STAGE", "RUN ID", "SOURCE", "CREATED", "ALIASES",
                       "DESCRIPTION"], rows))


if __name__ == "__main__":  # pragma: no cover
    models()
