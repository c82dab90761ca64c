"""The contract of a sandbox API server, shared by the three SaaS stand-ins."""

from __future__ import annotations

from typing import Protocol


class SandboxServer(Protocol):
    """A local stand-in for one SaaS API, serving on a loopback port in a thread."""

    name: str

    @property
    def url(self) -> str:
        """The base URL a client setting should point at (e.g. HEADWATER_FACEBOOK__GRAPH_URL)."""
        ...

    def start(self) -> None:
        """Serve in a background thread."""
        ...

    def stop(self) -> None:
        """Stop serving and release the port."""
        ...
