"""`mops serve`: the web door — pages for people and a REST API under `/api`, one FastAPI app.

    create_web(app)   the FastAPI application over an assembled `App` (other doors, such as
                      the Slack app, are mounted on what it returns)
    serve(...)        the `mops serve` command: uvicorn on that application

Every route but `/health`, `/login`, `/static` and the OpenAPI document acts only for a
known, enabled user whose role allows the action (`approvals.users`); see `_auth` for how
pages (session cookie + CSRF token) and the API (bearer token, no cookies) tell who it is.
"""

from mops.web._app import create_web, serve

__all__ = ["create_web", "serve"]
