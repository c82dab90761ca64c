"""The Facebook Marketing API (Graph API insights) stand-in."""

from sandbox.facebook_ads.server import FacebookSandbox

__all__ = ["FacebookSandbox"]
