"""The ``autolog ui`` command: serve the read-only web UI over a tracking store."""

from __future__ import annotations

import logging

import click


@click.command("ui")
@click.option("--tracking-uri", "ui_tracking_uri", metavar="URI",
              help="Store to show (default: the group's --tracking-uri, "
                   "AUTOLOG_TRACKING_URI, or ./autolog-runs).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind. Anything but loopback exposes your runs to the network.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: any free port).")
@click.option("--quiet", "-q", is_flag=True, help="Do not log each request.")
@click.option("--allow-edits", is_flag=True,
              help="Let the pages edit run tags and notes, model stages and aliases "
                   "(forms protected against cross-site requests). Read-only without it.")
@click.pass_context
def ui(ctx: click.Context, ui_tracking_uri: str | None, host: str, port: int,
       quiet: bool, allow_edits: bool) -> None:
    """Browse experiments, runs, metric charts and artifacts in a web browser (read-only).

    \b
      autolog ui                      # http://127.0.0.1:5000 over ./autolog-runs
      autolog ui --tracking-uri path/to/store --port 8080
    """
    from autolog.cli import require_store
    from autolog.core.errors import AutologException
    from autolog.ui.server import is_loopback, make_server

    obj = ctx.find_root().obj or {}
    uri = ui_tracking_uri or obj.get("tracking_uri")
    if not is_loopback(host):
        click.secho(
            f"Warning: binding {host}, not a loopback address: anyone who can reach this "
            "machine on port "
            f"{port} can read every run, parameter, metric and artifact in the store. "
            "There is no authentication. Use --host 127.0.0.1 (the default) unless you "
            "mean it."
            + (" With --allow-edits they can also change tags, notes, stages and aliases."
               if allow_edits else ""),
            fg="yellow", err=True,
        )
    # The UI only reads: a missing store is an error, not a new empty one.
    require_store(ctx, uri, "ui --tracking-uri" if ui_tracking_uri else None)
    try:
        server = make_server(uri, host, port, allow_edits=allow_edits)
    except AutologException as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}"
                                   ) from None
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    log = logging.getLogger("autolog.ui")
    log.addHandler(handler)
    log.setLevel(logging.WARNING if quiet else logging.INFO)
    click.echo(f"autolog ui: {server.app.tracking_uri} at {server.url}  (Ctrl-C to stop)")
    if allow_edits:
        click.echo("autolog ui: edits allowed (tags, notes, stages, aliases)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("\nautolog ui: stopped")
    finally:
        server.server_close()
