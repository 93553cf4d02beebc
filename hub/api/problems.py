"""Errors of the API as RFC 9457 problem details (application/problem+json), mapped once."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from hub.storage.base import Conflict, NotFound, StoreError
from hub.storage.cursors import BadCursor
from puente_http.body_limit import too_large_detail

PROBLEM_JSON = "application/problem+json"
_TYPE_BASE = "https://puente.invalid/problems/"


class ApiError(Exception):
    """An error a caller reads: HTTP status, a machine-readable code, a bilingual detail."""

    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.title, self.detail = status, code, title, detail
        self.headers = headers
        self.extra = extra  # more members of the problem object (e.g. the field at fault)


def problem_body(status: int, code: str, title: str, detail: str, **extra: Any) -> dict[str, Any]:
    """The RFC 9457 object itself, for the places that answer below FastAPI (middleware)."""
    return {
        "type": _TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = problem_body(status, code, title, detail, **extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def body_too_large(limit: int, size: int | None, path: str) -> dict[str, Any]:
    """The 413 problem of the body-limit middleware (puente_http.body_limit)."""
    return problem_body(
        413,
        "body_too_large",
        "Request body too large / Cuerpo de la solicitud demasiado grande",
        too_large_detail(limit, size, path),
        limit_bytes=limit,
    )


_STORE_STATUS: dict[type[StoreError], tuple[int, str]] = {
    NotFound: (404, "Not found / No encontrado"),
    Conflict: (409, "Conflict / Conflicto"),
    BadCursor: (400, "Bad request / Solicitud no válida"),
}


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return problem(exc.status, exc.code, exc.title, exc.detail, exc.headers, **exc.extra)

    @app.exception_handler(StoreError)
    async def _store_error(_request: Request, exc: StoreError) -> JSONResponse:
        status, title = _STORE_STATUS.get(
            type(exc), (500, "Storage error / Error de almacenamiento")
        )
        return problem(status, exc.code, title, exc.reason)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        where = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5]
        )
        return problem(
            422,
            "invalid_request",
            "Invalid request / Solicitud no válida",
            f"{where} / la solicitud no cumple el esquema",
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return problem(exc.status_code, code, str(exc.detail), str(exc.detail))
