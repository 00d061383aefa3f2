"""URLs as the carriers see them (behind a proxy or tunnel, ``TALKTRACK_PUBLIC_URL`` says where we are)."""

from __future__ import annotations

from fastapi import Request

from talktrack.settings import Settings


def public_url(settings: Settings, request: Request, path: str | None = None) -> str:
    """The URL as the carrier sees it: ``path`` alone, or this request's path and query (what Twilio signs)."""
    url = request.url if path is None else request.url.replace(path=path, query="")
    if not settings.public_url:
        return str(url)
    query = f"?{url.query}" if url.query else ""
    return settings.public_url.rstrip("/") + url.path + query
