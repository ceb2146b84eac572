"""The outlet operator's console: server-rendered pages in simplified Chinese (English on request)
over the same :class:`~sscard_issuer.lifecycle.office.Office` every interface calls.

:func:`create_console` builds the FastAPI application; ``sscard serve outlet`` serves it with the
embedded defaults (:mod:`.serve`).
"""

from sscard_issuer.api.console.app import create_console

__all__ = ["create_console"]
