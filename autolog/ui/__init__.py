"""``autolog ui``: a read-only local web UI over any tracking store that supports reads.

Standard library only on the server (`http.server`, server-rendered HTML); the browser
draws interactive charts with uPlot, shipped in ``static/`` with the page script: nothing
is loaded from a CDN. `make_server` builds the server; ``autolog ui`` (`autolog.ui.cli`)
runs it.
"""

from __future__ import annotations

__all__ = ["make_server"]


def make_server(tracking_uri: str | None = None, host: str = "127.0.0.1", port: int = 5000,
                allow_edits: bool = False):
    """A `autolog.ui.server.UIServer` for the store at ``tracking_uri``; call
    ``serve_forever()`` on it (port 0 picks a free port: see ``server.url``). Read-only
    unless ``allow_edits``: then tags, notes, stages and aliases can be edited."""
    from autolog.ui.server import make_server as _make_server

    return _make_server(tracking_uri, host, port, allow_edits=allow_edits)
