"""The web side of ``indoevent serve``: the FastAPI app over a :class:`~.backend.Backend` (the Label
Studio routes, and ``/ui``: paste an article, see its view), the
ASGI guard in front of it (the ``/secret/<secret>/`` prefix, the body limit) and uvicorn.
FastAPI and uvicorn are imported by :func:`create_app` and :func:`serve` only.
"""

# No ``from __future__ import annotations`` here: FastAPI reads the route functions' annotations
# (``request: Request``, imported inside the functions that define the routes) at run time, and
# strings it cannot resolve would turn ``request`` into a required query parameter (422 on
# every call).
import base64
import hmac
import json
import socket
from typing import Any

from ..jsonl import json_type
from ..view import ViewError, page_html
from ..view.pasted import pasted_view
from .backend import SECRET_PREFIX, Backend

# A request body above this is refused (413): a 1M-character text once made a 19 MB answer and
# left the server at 754 MB. A Label Studio batch of news articles stays far below it.
MAX_BODY = 4_000_000


class BodyTooLarge(Exception):
    """A request body over the limit (answered 413)."""


def _guard(app: Any, secret: str | None, max_body: int) -> Any:
    """ASGI wrapper: strips ``/secret/<secret>`` from the path (noting that it came with it) and
    stops reading a body past ``max_body`` bytes, before any of it is parsed."""
    prefix = SECRET_PREFIX.encode()

    async def guarded(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)
        ok = False
        path = scope["path"]
        if secret and path.startswith(SECRET_PREFIX):
            given, _, rest = path[len(SECRET_PREFIX):].partition("/")
            ok = hmac.compare_digest(given.encode(), secret.encode())
            if ok:
                raw = scope.get("raw_path") or path.encode()
                scope = {**scope, "path": "/" + rest, "raw_path": b"/" + raw[len(prefix):].partition(b"/")[2]}
        scope = {**scope, "indoevent.secret_ok": ok}
        length = dict(scope.get("headers") or []).get(b"content-length", b"0")
        if length.isdigit() and int(length) > max_body:
            return await _send_json(send, 413, {"status": "error", "error": f"request over {max_body} bytes"})
        seen = 0

        async def counted():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > max_body:  # chunked bodies have no length to check up front
                raise BodyTooLarge(f"request over {max_body} bytes")
            return message

        return await app(scope, counted, send)

    return guarded


async def _send_json(send, status: int, body: dict) -> None:
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})


def create_app(backend: Backend, basic_auth: tuple[str, str] | None = None, max_body: int = MAX_BODY) -> Any:
    """The app of a backend. With ``basic_auth`` every route but /webhook asks for it (Label
    Studio's webhooks carry no credentials: the secret in the URL guards /webhook instead)."""
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse

    app = FastAPI(title="indoevent ML backend", version=backend.model_version)

    @app.exception_handler(BodyTooLarge)
    async def too_large(request: Request, exc: BodyTooLarge):
        return JSONResponse({"status": "error", "error": str(exc)}, status_code=413)

    if basic_auth is not None:
        _require_basic_auth(app, basic_auth)
    _add_routes(app, backend)
    _add_ui(app, backend)
    return _guard(app, backend.secret, max_body)


def _require_basic_auth(app: Any, basic_auth: tuple[str, str]) -> None:
    """Answer 401 to a request without these credentials, except on /webhook."""
    from fastapi import Request
    from fastapi.responses import JSONResponse

    want = "Basic " + base64.b64encode(f"{basic_auth[0]}:{basic_auth[1]}".encode()).decode()

    @app.middleware("http")
    async def check_auth(request: Request, call_next):
        if request.url.path != "/webhook" and not hmac.compare_digest(request.headers.get("authorization", ""), want):
            return JSONResponse({"status": "error", "error": "basic auth required"}, status_code=401,
                                headers={"WWW-Authenticate": 'Basic realm="indoevent"'})
        return await call_next(request)


def _add_routes(app: Any, backend: Backend) -> None:
    """/health (and /), /setup, /predict and /webhook, answered by ``backend``."""
    from fastapi import Request
    from fastapi.concurrency import run_in_threadpool
    from fastapi.responses import JSONResponse

    async def body(request: Request) -> dict:
        try:
            data = await request.json()
        except ValueError:
            data = None
        return data if isinstance(data, dict) else {}

    def secret_ok(request: Request) -> bool:
        return bool(request.scope.get("indoevent.secret_ok"))

    @app.get("/")
    @app.get("/health")
    async def health():
        return backend.health()

    @app.post("/setup")
    async def setup(request: Request):
        refused = backend.setup(await body(request), secret_ok(request))
        if refused:
            return JSONResponse({"status": "error", "error": refused}, status_code=400)
        return {"model_version": backend.model_version}

    @app.post("/predict")
    async def predict(request: Request):
        data = await body(request)
        tasks = data.get("tasks")
        if not isinstance(tasks, list):
            return JSONResponse({"status": "error", "error": "expected {\"tasks\": [...]}"}, status_code=400)
        results = await run_in_threadpool(backend.predict, tasks)
        return {"results": results, "model_version": backend.model_version}

    @app.post("/webhook")
    async def webhook(request: Request):
        status, answer = backend.webhook(await body(request), secret_ok(request))
        return JSONResponse(answer, status_code=status)


def _add_ui(app: Any, backend: Backend) -> None:
    """GET /ui: a page where one pastes an article and sees the view of ``indoevent view`` for it;
    POST /ui/view: that view's data, extracted by the served model (the Label Studio routes
    are untouched)."""
    from fastapi import Request
    from fastapi.concurrency import run_in_threadpool
    from fastapi.responses import HTMLResponse, JSONResponse

    page = page_html(None, "indoevent: paste an article", ui=True)

    @app.get("/ui")
    async def ui():
        return HTMLResponse(page)

    @app.post("/ui/view")
    async def ui_view(request: Request):
        data = view_request(await request.body())
        if isinstance(data, str):
            return JSONResponse({"status": "error", "error": data}, status_code=400)
        try:
            return await run_in_threadpool(pasted_view, backend.extractor, data.get("text"),
                                           data.get("id") or "pasted", data.get("date") or None)
        except ViewError as e:
            return JSONResponse({"status": "error", "error": str(e)}, status_code=400)


def view_request(body: bytes) -> dict | str:
    """The JSON object of a ``/ui/view`` request, or why it is none (one line for the page).

    >>> view_request(b'{"text": "Putin bertemu Kim", "id": {"a": 1}}')
    '"id" must be a string, got object'
    """
    try:
        data = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as e:
        return f"the request body is not UTF-8 (byte {e.start}: {body[e.start:e.start + 1]!r}); send UTF-8 JSON"
    except ValueError as e:
        return f"the request body is not JSON ({e}); send {{\"text\": ...}}"
    if not isinstance(data, dict):
        return f"expected {{\"text\": ...}}, got {json_type(data)}"
    for key in ("id", "date"):
        if data.get(key) is not None and not isinstance(data[key], str):
            return f"\"{key}\" must be a string, got {json_type(data[key])}"
    return data


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to host:port (OSError if the port is taken), so that the caller can say so
    in one line before anything claims to listen."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def serve(backend: Backend, sock: socket.socket, basic_auth: tuple[str, str] | None = None,
          log_level: str = "warning") -> None:
    """Run the backend under uvicorn on a bound socket until interrupted."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(create_app(backend, basic_auth), log_level=log_level))
    server.run(sockets=[sock])
