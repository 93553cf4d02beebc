"""Document bodies by content hash: resumable upload by stations, download by readers.

The upload follows the shape of the tus resumable-upload protocol (``HEAD``
answers ``Upload-Offset``; ``PATCH`` carries ``Upload-Offset``,
``Upload-Length`` and bytes of ``application/offset+octet-stream``), written
here because the body's name is its SHA-256, which tus servers don't verify,
and the hub must refuse bytes that don't hash to it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from hub.api.deps import Reader, StationCaller
from hub.api.problems import ApiError
from hub.bodies import BodyError, BodyStore, OffsetMismatch, check_digest
from hub.ingest.timefmt import now_iso

router = APIRouter(prefix="/v1/bodies", tags=["bodies"])

OFFSET_STREAM = "application/offset+octet-stream"


def _store(request: Request) -> BodyStore:
    store: BodyStore = request.app.state.bodies
    return store


def _problem(exc: BodyError) -> ApiError:
    headers = {"Upload-Offset": str(exc.offset)} if isinstance(exc, OffsetMismatch) else None
    return ApiError(exc.status, exc.code, "Document body / Documento", exc.reason, headers)


@router.head("/{sha256}")
def upload_state(sha256: str, request: Request, _caller: StationCaller) -> Response:
    """``Upload-Offset``: bytes the hub holds; ``Upload-Complete: ?1`` once verified."""
    store = _store(request)
    try:
        info = store.info(sha256)
        if info is not None:
            return Response(
                headers={
                    "Upload-Offset": str(info.size),
                    "Upload-Length": str(info.size),
                    "Upload-Complete": "?1",
                    "Cache-Control": "no-store",
                }
            )
        offset = store.offset(sha256)
    except BodyError as exc:
        raise _problem(exc) from exc
    return Response(
        headers={
            "Upload-Offset": str(offset or 0),
            "Upload-Complete": "?0",
            "Cache-Control": "no-store",
        }
    )


@router.patch("/{sha256}", status_code=204)
async def upload_chunk(
    sha256: str,
    request: Request,
    caller: StationCaller,
    upload_offset: Annotated[int, Header(ge=0)],
    upload_length: Annotated[int, Header(ge=1)],
    content_type: Annotated[str, Header()] = "",
    body_media_type: Annotated[str, Header()] = "application/octet-stream",
) -> Response:
    """Append bytes at ``Upload-Offset``; the last chunk is verified against the hash."""
    if content_type.split(";")[0].strip() != OFFSET_STREAM:
        raise ApiError(
            415,
            "bad_content_type",
            "Document body / Documento",
            f"send chunks as {OFFSET_STREAM} / enviar fragmentos como {OFFSET_STREAM}",
        )
    chunk = await request.body()
    try:
        offset, info = await run_in_threadpool(
            _store(request).append,
            sha256,
            upload_offset,
            upload_length,
            chunk,
            body_media_type,
            caller.name,
            now_iso(),
        )
    except BodyError as exc:
        raise _problem(exc) from exc
    return Response(
        status_code=204,
        headers={"Upload-Offset": str(offset), "Upload-Complete": "?1" if info else "?0"},
    )


@router.get("/{sha256}")
def download(sha256: str, request: Request, _caller: Reader) -> FileResponse:
    store = _store(request)
    try:
        info = store.info(check_digest(sha256))
    except BodyError as exc:
        raise _problem(exc) from exc
    if info is None:
        raise ApiError(
            404,
            "body_not_found",
            "Not found / No encontrado",
            f"no complete body {sha256} / no hay un documento completo {sha256}",
        )
    return FileResponse(store.path(sha256), media_type=info.media_type)
