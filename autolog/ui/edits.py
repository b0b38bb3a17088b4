"""Edits from the browser, only under ``autolog ui --allow-edits``: a run's tags and note,
a model version's stage, a registered model's aliases. Without the flag every POST is a
405 and no edit form is shown.

Each POST must pass `check_request`: a form body (``application/x-www-form-urlencoded``,
at most `MAX_BODY` bytes) holding the server's CSRF token (a random secret made when the
server starts, written into every edit form) and an ``Origin`` header naming this very
server (a page elsewhere cannot post here even if it learned the token; a browser always
sends ``Origin`` on a POST). The Host check against DNS rebinding runs first, as for GETs.
An accepted edit answers 303 to the page it came from.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from autolog.core.errors import AutologException, ResourceNotFoundError

MAX_BODY = 64 * 1024
NOTE_TAG = "mlflow.note.content"
STAGES = ("None", "Staging", "Production", "Archived")


class EditRefused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def check_request(headers: Mapping[str, str], token: str, form: Mapping[str, list[str]]
                  ) -> None:
    """Raise `EditRefused` unless the request is a same-origin form post with the token."""
    content_type = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise EditRefused(415, "Edits are sent as forms.")
    host = (headers.get("Host") or "").strip().lower()
    origin = (headers.get("Origin") or "").strip().lower()
    if not host or origin != f"http://{host}":
        raise EditRefused(403, "Edits are accepted only from this server's own pages.")
    if (headers.get("Sec-Fetch-Site") or "same-origin").lower() != "same-origin":
        raise EditRefused(403, "Edits are accepted only from this server's own pages.")
    sent = (form.get("csrf") or [""])[-1]
    if not sent or not hmac.compare_digest(sent.encode(), token.encode()):
        raise EditRefused(403, "Missing or stale form token: reload the page and try again.")


def _field(form: Mapping[str, list[str]], name: str, required: bool = True) -> str:
    value = (form.get(name) or [""])[-1]
    if required and not value.strip():
        raise EditRefused(400, f"The form needs a {name}.")
    return value


class Editor:
    """Applies one edit through the app's client (the same validation as the API)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.routes: list[tuple[re.Pattern[str], Callable[..., str]]] = [
            (re.compile(r"/runs/([^/]+)/tags"), self.set_tag),
            (re.compile(r"/runs/([^/]+)/note"), self.set_note),
            (re.compile(r"/models/([^/]+)/versions/([^/]+)/stage"), self.set_stage),
            (re.compile(r"/models/([^/]+)/aliases"), self.set_alias),
        ]

    def handle(self, target: str, headers: Mapping[str, str], body: bytes, token: str) -> str:
        """The page to go back to after applying the edit; `EditRefused` otherwise."""
        try:
            form = parse_qs(body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            raise EditRefused(400, "The form is not UTF-8.") from None
        check_request(headers, token, form)
        path = urlsplit(target).path
        for pattern, action in self.routes:
            match = pattern.fullmatch(path)
            if match:
                args = [unquote(g, errors="strict") for g in match.groups()]
                try:
                    return action(form, *args)
                except ResourceNotFoundError as exc:
                    raise EditRefused(404, str(exc)) from None
                except AutologException as exc:
                    raise EditRefused(400, str(exc)) from None
        raise EditRefused(404, "Nothing to edit at this address.")

    def set_tag(self, form: Mapping[str, list[str]], run_id: str) -> str:
        self.client.get_run(run_id)
        self.client.set_tag(run_id, _field(form, "key").strip(), _field(form, "value", False))
        return f"/runs/{quote(run_id, safe='')}#tags"

    def set_note(self, form: Mapping[str, list[str]], run_id: str) -> str:
        self.client.get_run(run_id)
        self.client.set_tag(run_id, NOTE_TAG, _field(form, "note", False))
        return f"/runs/{quote(run_id, safe='')}"

    def set_stage(self, form: Mapping[str, list[str]], name: str, version: str) -> str:
        stage = _field(form, "stage")
        if stage not in STAGES:
            raise EditRefused(400, f"Stage must be one of {', '.join(STAGES)}.")
        self.client.transition_model_version_stage(name, version, stage)
        return f"/models/{quote(name, safe='')}/versions/{quote(version, safe='')}"

    def set_alias(self, form: Mapping[str, list[str]], name: str) -> str:
        alias = _field(form, "alias").strip()
        if _field(form, "delete", False):
            self.client.delete_registered_model_alias(name, alias)
        else:
            self.client.set_registered_model_alias(name, alias, _field(form, "version").strip())
        return f"/models/{quote(name, safe='')}"
