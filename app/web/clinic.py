"""/clinic/ pages (to be built: see the browser-pages issue)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
