"""The supervisor and administrator API: `create_api(services)` builds the FastAPI
application the service serves beside /metrics (OpenAPI at /openapi.json, docs at
/docs). Resources are thin; what they do lives in the services of `ApiContext`.

Errors come back as `{"detail": "...", "problems": [...]}`: 401 without a valid token,
403 for a role that may not, 404 for an unknown call or task, 409 for a closed task,
422 for invalid input (nothing changed), 502/503 when Asterisk or the database is away.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope

from ivr.api.call_search import BadCursor
from ivr.api.configuration import MAX_CONFIG_BYTES, ConfigInvalid, ConfigNotCompliant
from ivr.api.context import ApiContext, ApiServices
from ivr.api.docs import api_application
from ivr.api.guard import RequestGuard, Unavailable
from ivr.api.params import PATTERN_HINTS
from ivr.api.resources import (
    callbacks,
    calls,
    config,
    health,
    live,
    notices,
    orders,
    recordings,
    reports,
    spotchecks,
    voicemail,
)
from ivr.api.resources.desk import router as desk_router
from ivr.api.resources.documents import router as documents_router
from ivr.api.resources.forecast import router as forecast_router
from ivr.api.resources.wallboard import router as wallboard_router
from ivr.auth.tokens import Principal
from ivr.callbacks.domain import TaskClosed
from ivr.callbacks.originate import OriginateError
from ivr.callbacks.outbound import OutboundRefused
from ivr.callbacks.service import CallbackRefused, TaskNotFound
from ivr.callbacks.voicemail import RecordingMissing, VoicemailNotFound
from ivr.config_save import ConfigNotSaved
from ivr.orders.domain import OrderRefused
from ivr.orders.service import CallNotFound, NotYours, OrderNotFound
from ivr.orders.store import OrderExists

log = structlog.get_logger(__name__)

DATABASE_AWAY = "the database is not available; try again shortly"

DESCRIPTION = """\
The gas hotline's supervisor and administrator API.

Every `/api` path needs a token (`Authorization: Bearer hl_...`, from `hotline token
create --role viewer|agent|supervisor|admin --name ...`). A **viewer** reads reports, live
state, calls and tasks with caller numbers masked (R10); an **agent** also takes the
work orders of their own calls (and has the desk page); a **supervisor** reads
everything and edits every order; an **admin** also changes the configuration,
callbacks and voicemails.
Times are UTC in answers; query times without an offset are local to the hotline's
time zone (the `zone` of each answer).
"""


def create_api(services: ApiServices) -> FastAPI:
    app = api_application(
        services.config().service.docs,
        title="hotline API",
        version="1",
        description=DESCRIPTION,
        openapi_tags=[
            {"name": "calls", "description": "the call journal"},
            {"name": "reports", "description": "the SPEC §3 rates against targets"},
            {"name": "live", "description": "what happens now"},
            {"name": "callbacks", "description": "回访 tasks (R7)"},
            {"name": "orders", "description": "work orders and their hand-off (R6)"},
            {"name": "voicemail", "description": "messages callers left"},
            {"name": "notices", "description": "outage notices (停气公告) callers hear"},
            {"name": "recordings", "description": "recorded calls, listens, quality scores"},
            {"name": "spotchecks", "description": "抽查: checkers' dials, the prober, scores"},
            {"name": "configuration", "description": "check, upload, reload"},
            {"name": "health", "description": "no token needed"},
        ],
    )
    app.state.hotline = context = ApiContext.of(services)

    async def authenticate(scope: Scope, secret: str) -> Principal | None:
        try:
            return await context.tokens.authenticate(secret, context.clock.now())
        except SQLAlchemyError as exc:
            log.warning("api.database_error", path=scope["path"], error=str(exc)[:300])
            raise Unavailable(DATABASE_AWAY) from exc

    app.add_middleware(
        RequestGuard,
        authenticate=authenticate,
        limits={"/api/config": MAX_CONFIG_BYTES, "/api/config/validate": MAX_CONFIG_BYTES},
    )
    for router in (
        health.router,
        calls.router,
        reports.router,
        live.router,
        callbacks.router,
        voicemail.router,
        notices.router,
        recordings.router,
        recordings.quality_router,
        spotchecks.router,
        config.router,
        forecast_router,
        documents_router,
        wallboard_router,
        orders.router,
        orders.outbox_router,
        desk_router,
    ):
        app.include_router(router)
    _errors(app)
    return app


def _problem(status: int, detail: str, problems: list[str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail, "problems": problems or []}, status_code=status)


def _errors(app: FastAPI) -> None:
    def answer(status: int) -> Callable[[Request, Exception], JSONResponse]:
        def handler(request: Request, exc: Exception) -> JSONResponse:
            return _problem(status, str(exc))

        return handler

    for error, status in (
        (TaskNotFound, 404),
        (VoicemailNotFound, 404),
        (RecordingMissing, 404),
        (TaskClosed, 409),
        (OrderNotFound, 404),
        (CallNotFound, 404),
        (NotYours, 403),
        (OrderExists, 409),
        (OrderRefused, 409),
        (CallbackRefused, 422),
        (OutboundRefused, 422),
        (BadCursor, 422),
        (OriginateError, 502),
    ):
        app.add_exception_handler(error, answer(status))

    def invalid_config(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ConfigInvalid)
        return _problem(422, "the configuration is not valid; nothing was changed",
                        exc.problems)

    def not_compliant(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ConfigNotCompliant)
        return _problem(422, str(exc), [str(finding) for finding in exc.findings])

    def not_saved(request: Request, exc: Exception) -> JSONResponse:
        return _problem(422, "the configuration is valid but was not saved", [str(exc)])

    def invalid_request(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"])
            hint = PATTERN_HINTS.get((error.get("ctx") or {}).get("pattern", ""))
            if error["type"] == "string_pattern_mismatch" and hint:
                problems.append(f"{where}: {str(error['input'])[:40]!r} is not {hint}")
            else:
                problems.append(f"{where}: {error['msg']}")
        return _problem(422, "the request is not valid", problems)

    def database_away(request: Request, exc: Exception) -> JSONResponse:
        log.warning("api.database_error", path=request.url.path, error=str(exc)[:300])
        return _problem(503, DATABASE_AWAY)

    def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        answer = _problem(exc.status_code, str(exc.detail))
        answer.headers.update(exc.headers or {})
        if exc.status_code == 405:  # every method of the path, not only the first route's
            answer.headers["Allow"] = ", ".join(allowed(request.url.path))
        return answer

    templates: list[tuple[re.Pattern[str], set[str]]] = []
    literal: dict[str, set[str]] = {}

    def allowed(path: str) -> list[str]:
        """The methods the OpenAPI document gives this path (a literal path, such as
        /api/callbacks/sync, before a template it also fits, /api/callbacks/{linkedid})."""
        if not templates:
            for template, operations in app.openapi()["paths"].items():
                methods = {method.upper() for method in operations}
                if "{" not in template:
                    literal[template] = methods
                pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
                templates.append((re.compile(pattern), methods))
        matching = (ms for rx, ms in templates if rx.fullmatch(path))
        methods = literal.get(path) or set().union(*matching)
        if "GET" in methods:
            methods.add("HEAD")
        return sorted(methods)

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(ConfigInvalid, invalid_config)
    app.add_exception_handler(ConfigNotCompliant, not_compliant)
    app.add_exception_handler(ConfigNotSaved, not_saved)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(SQLAlchemyError, database_away)
