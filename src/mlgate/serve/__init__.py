"""``mlgate serve``: an inference server that follows a registry alias and swaps versions without dropping requests.

``app`` builds the ASGI app (middleware, lifespan), ``handlers`` the routes, ``protocol`` the request
formats, ``input_spec`` what a version takes
and how request values are checked against it, ``loader`` the alias watcher and the hot swap,
``metrics`` the Prometheus metrics, ``server`` the uvicorn runner.
Importing this package needs the ``serve`` extra (Starlette, uvicorn, orjson, prometheus-client).
"""

from __future__ import annotations

from typing import Any

from mlgate.serve.options import ServeOptions

__all__ = ["ServeOptions", "create_app", "serve"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from mlgate.serve.app import create_app

        return create_app
    if name == "serve":
        from mlgate.serve.server import serve

        return serve
    raise AttributeError(f"module 'mlgate.serve' has no attribute {name!r}")
