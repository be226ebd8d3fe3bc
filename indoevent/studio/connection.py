"""Connecting to a Label Studio server, and errors that say what to check.

Every failure of the SDK or the network becomes a :class:`StudioError` whose message names the
server's URL and says what to check (the CLI prints it without a trace); credentials in a URL
never appear in a message (:func:`redact`).
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..annotation.checks import Problem

log = logging.getLogger("indoevent")

DEFAULT_URL = "http://localhost:8080"
URL_ENV, TOKEN_ENV = "LABEL_STUDIO_URL", "LABEL_STUDIO_API_KEY"


# The user-info part of a URL (``http://user:pass@host``): up to the last @ before the path.
_CREDENTIALS = re.compile(r"(?<=://)[^/?#\s]*@")


def redact(text: str) -> str:
    """``text`` with the credentials of every URL in it replaced, so that no message echoes them.

    >>> redact("cannot reach Label Studio at http://admin:rahasia@10.0.0.5:8080 while connecting")
    'cannot reach Label Studio at http://***@10.0.0.5:8080 while connecting'
    """
    return _CREDENTIALS.sub("***@", text)


class StudioError(RuntimeError):
    """Label Studio could not do what was asked; the message says why and what to check.
    Credentials in a URL are never part of it (see :func:`redact`)."""

    def __init__(self, message: object = "", *args: object):
        super().__init__(redact(str(message)), *args)


class InvalidExport(StudioError):
    """The export breaks the schema: nothing was sent. ``problems`` lists every one."""

    def __init__(self, message: str, problems: list[Problem]):
        super().__init__(message)
        self.problems = problems


@dataclass
class Studio:
    """A connected Label Studio server (``client`` is the SDK's ``LabelStudio``)."""

    client: Any
    url: str
    version: str = ""
    edition: str = ""
    user: str = ""

    @contextmanager
    def talking(self, what: str) -> Iterator[None]:
        """Turn SDK and network errors raised while doing ``what`` into a :class:`StudioError`."""
        with explain_errors(self.url, what):
            yield


def explain(url: str, what: str, error: Exception) -> StudioError:
    """A :class:`StudioError` saying what went wrong while doing ``what`` at ``url``, and what to check."""
    import httpx
    from label_studio_sdk.core.api_error import ApiError

    if isinstance(error, httpx.TimeoutException):
        return StudioError(f"Label Studio at {url} did not answer in time while {what}: check that the server "
                           f"is up and not overloaded (curl {url}/health)")
    if isinstance(error, httpx.HTTPError):  # connection refused, unknown host, bad URL scheme ...
        reason = str(error) or type(error).__name__
        return StudioError(f"cannot reach Label Studio at {url} while {what} ({reason}): check that the server is "
                           f"running (label-studio start) and that --url or ${URL_ENV} gives its address and port")
    if isinstance(error, ApiError):
        code, detail = error.status_code, api_detail(error.body)
        if code == 401:
            return StudioError(f"Label Studio at {url} refused the API token while {what} ({detail}): check --token "
                               f"or ${TOKEN_ENV} (Account & Settings in Label Studio). A legacy token works only "
                               f"where the organisation enables legacy tokens; a personal access token always does")
        if code == 403:
            return StudioError(f"Label Studio at {url} forbids {what} for this token's user ({detail}): "
                               "ask an administrator for access to the project")
        if code == 404 and isinstance(error.body, str):
            return StudioError(f"{url} answered 404 while {what}: is this the address of a Label Studio server?")
        return StudioError(f"Label Studio at {url} answered {code} while {what}: {detail}")
    if isinstance(error, (ValueError, TypeError)):  # e.g. a page that is not JSON
        return StudioError(f"{url} gave an answer Label Studio would not give while {what} ({error}): "
                           "is this the address of a Label Studio server?")
    return StudioError(f"Label Studio at {url}: {what} failed: {type(error).__name__}: {error}")


@contextmanager
def explain_errors(url: str, what: str) -> Iterator[None]:
    try:
        yield
    except StudioError:
        raise
    except Exception as e:  # the SDK raises ApiError, httpx errors, pydantic errors
        raise explain(url, what, e) from e


def api_detail(body: Any) -> str:
    """The readable part of an error body from Label Studio.

    >>> api_detail({"detail": "Validation error", "validation_errors": {"title": ["too long"]}})
    "Validation error: {'title': ['too long']}"
    >>> api_detail("<!DOCTYPE html><html>...")
    'an HTML page instead of an API answer'
    """
    if isinstance(body, dict):
        detail = str(body.get("detail") or "")
        extra = body.get("validation_errors")
        if extra:
            return f"{detail}: {extra}" if detail else str(extra)
        return detail or json.dumps(body, ensure_ascii=False)[:300]
    text = str(body or "").strip()
    if text.lower().startswith(("<!doctype", "<html")):
        return "an HTML page instead of an API answer"
    return text[:300] or "no detail"


def without_userinfo(url: str) -> str:
    """The URL without ``user:pass@``: the HTTP client would send those as basic auth in place of
    the token (Label Studio then answers 401 and the token looks wrong). Label Studio reads the token.

    >>> without_userinfo("http://team:secret@localhost:8080")
    'http://localhost:8080'
    """
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    log.warning("Label Studio URL: the user:password in it is not used (the API token authenticates)")
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def connect(url: str | None = None, token: str | None = None, timeout: float = 60.0) -> Studio:
    """Connect to Label Studio and check the token; URL and token default to $LABEL_STUDIO_URL
    (else http://localhost:8080) and $LABEL_STUDIO_API_KEY. Raises :class:`StudioError`."""
    url = without_userinfo((url or os.environ.get(URL_ENV) or DEFAULT_URL).rstrip("/"))
    token = token or os.environ.get(TOKEN_ENV)
    if not token:
        raise StudioError(f"no API token for Label Studio at {url}: pass --token or set ${TOKEN_ENV} "
                          "(Label Studio: Account & Settings, Personal Access Token)")
    from label_studio_sdk import LabelStudio

    with explain_errors(url, "connecting"):
        # Always pass base_url: the SDK's default port is not the server's.
        client = LabelStudio(base_url=url, api_key=token, timeout=timeout)
        # Needs no token, so it tells "server down" from "token wrong"; no retries here (the
        # SDK's back-off would keep a user waiting seconds for "connection refused").
        version = client.versions.get(request_options={"max_retries": 0})
    with explain_errors(url, "checking the API token"):
        me = client.users.whoami()
    return Studio(client, url, version=str(version.release or ""), edition=str(version.edition or ""),
                  user=str(me.email or me.username or me.id))
