"""Configuration: the active one, the compliance check, upload, reload."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status

from ivr.api.configuration import ConfigCheck, Saved
from ivr.api.context import Admin, Ctx, Supervisor
from ivr.api.schemas import (
    AUTH,
    Accepted,
    CheckOut,
    ConfigOut,
    FindingOut,
    UploadOut,
    problem,
)

router = APIRouter(prefix="/api/config", tags=["configuration"], responses=AUTH)

TOML_BODY = {
    "required": True,
    "content": {
        "application/toml": {"schema": {"type": "string"}},
        "text/plain": {"schema": {"type": "string"}},
    },
}


def _check(check: ConfigCheck) -> CheckOut:
    errors = sum(1 for f in check.findings if f.level == "error")
    return CheckOut(
        ok=check.ok,
        errors=errors,
        warnings=len(check.findings) - errors,
        summary=check.summary,
        findings=[FindingOut.of(f) for f in check.findings],
    )


@router.get("", response_model=ConfigOut)
async def show(ctx: Ctx, who: Supervisor) -> ConfigOut:
    """The configuration the service runs with now (no secrets in it)."""
    service = ctx.configuration
    return ConfigOut(
        path=str(service.path), file_differs=await service.file_differs(), config=service.show()
    )


@router.get("/check", response_model=CheckOut)
async def check(ctx: Ctx, who: Supervisor) -> CheckOut:
    """`hotline check` of the active configuration: the rules it breaks (R1-R3)."""
    return _check(ctx.configuration.check())


async def _toml(request: Request) -> str:
    body = await request.body()
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HTTPException(422, "the configuration must be UTF-8 text (TOML)") from exc


def _saved(result: Saved) -> UploadOut:
    if result.saved:
        detail = "saved; POST /api/config/reload to apply it to new calls"
    else:
        detail = "valid; nothing was saved (dry run)"
    if result.restart_needed:
        detail += "; " + ", ".join(result.restart_needed) + " take effect at the next restart"
    return UploadOut(
        saved=result.saved,
        path=str(result.path),
        restart_needed=result.restart_needed,
        check=_check(result.check),
        detail=detail,
    )


@router.put(
    "",
    response_model=UploadOut,
    openapi_extra={"requestBody": TOML_BODY},
    responses=problem(422, "invalid: nothing was changed"),
)
async def upload(
    ctx: Ctx,
    who: Admin,
    request: Request,
    force: Annotated[
        bool, Query(description="save even if it breaks hotline rules (hotline check errors)")
    ] = False,
) -> UploadOut:
    """Replace the configuration file with this TOML text, if it is valid. It applies to
    new calls after a reload."""
    text = await _toml(request)
    return _saved(await ctx.configuration.upload(text, force=force))


@router.post(
    "/validate",
    response_model=UploadOut,
    openapi_extra={"requestBody": TOML_BODY},
    responses=problem(422, "invalid"),
)
async def validate(ctx: Ctx, who: Supervisor, request: Request) -> UploadOut:
    """Validate and check a configuration without saving it."""
    text = await _toml(request)
    return _saved(await ctx.configuration.upload(text, force=True, dry_run=True))


@router.post(
    "/reload",
    response_model=Accepted,
    status_code=status.HTTP_202_ACCEPTED,
    responses=problem(422, "the file on disk is not valid"),
)
async def reload(ctx: Ctx, who: Admin) -> Accepted:
    """Make the service re-read the configuration file (new calls only), as
    `hotline reload` does."""
    await ctx.configuration.reload()
    return Accepted(detail="reload requested: new calls follow the configuration file")
