"""The web service: an upload form for engagement officers and a JSON API for systems.

It only parses requests, calls the library and formats responses, exactly as
the command line does, so a report made here is the report ``audit`` makes.

It keeps nothing. A request's uploads go to its own folder inside the service's
private folder and are deleted before the response is sent; if a worker dies
first, the sweeper deletes them (``scratch``). Nothing is logged about the
files, so the service can run as several stateless workers behind a load
balancer. Audits run in a warm pool of child processes with memory and time
limits (``workers``), and request bodies are refused past the size limit before
they are read, or when they stall (``guard``), so one hostile file costs only its
own request. Reports
hide small counts unless the form asks for an internal report, as on the
command line; the JSON API returns the exact-count result, like ``--format json``.

Routes:

- ``GET /``: the form; ``POST /audit``: the report (web page, or a download).
- ``POST /api/audit``: multipart upload in, the audit as JSON (or ``format``).
- ``POST /api/check``: multipart upload in, ``check``'s JSON (status 200 either way:
  the ``success`` field says whether every expectation was met).
- ``GET /api/areas``, ``GET /api/health``, ``GET /openapi.json``.

Modules: app (the factory: security headers, error shape, routers mounted),
settings, pages (the form and its report), api (the JSON API),
forms (the form's fields and page), uploads (saving a request's files),
audits (running an audit for a request and turning its outcome into a
response), workers (the audit pool), scratch (the private folder and its
sweeper) and guard (body size and time limits). The web layer is the top
layer, beside cli: it may import every other package, and nothing imports it.
"""
