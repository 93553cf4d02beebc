"""The HTTP door's one mapping of errors: every error of the local API is an RFC 9457 problem."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from edge_agent.errors import AgentError

PROBLEM_MEDIA_TYPE = "application/problem+json"


def problem(status: int, code: str, title: str, detail: str, **extra: Any) -> dict[str, Any]:
    """An RFC 9457 problem details object; ``code`` is a Puente extension member."""
    return {
        "type": f"urn:puente:problem:{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }


def to_problem(exc: AgentError) -> dict[str, Any]:
    return problem(exc.http_status, exc.code, exc.title, exc.reason)


def problem_response(body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, status_code=body["status"], media_type=PROBLEM_MEDIA_TYPE)


def _location(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p != "body"]
    return ".".join(parts) or "body"


def install(app: FastAPI) -> None:
    @app.exception_handler(AgentError)
    async def agent_error(request: Request, exc: AgentError) -> JSONResponse:
        response = problem_response(to_problem(exc))
        retry_after = getattr(exc, "retry_after_s", None)
        if retry_after:  # a lock-out or a cap that ends: say when (RFC 9110 Retry-After)
            response.headers["Retry-After"] = str(int(retry_after))
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": _location(tuple(e.get("loc", ()))), "message": e.get("msg", "")}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem_response(
            problem(
                422,
                "invalid_input",
                "Invalid input / Datos no válidos",
                f"{detail} / revise los campos indicados",
                errors=errors,
            )
        )

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return problem_response(
            problem(exc.status_code, code, str(exc.detail), f"{exc.detail} / {request.url.path}")
        )
