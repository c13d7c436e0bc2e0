"""Settings of the meeting-notes example: no database, token auth, the gateway middleware."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "demo-only-not-a-secret")
DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

INSTALLED_APPS = ["summaries"]

MIDDLEWARE = [
    "django.middleware.common.CommonMiddleware",
    "summaries.auth.TokenAuthMiddleware",  # sets request.user; must come before the gateway's
    "llm_gateway_mw.integrations.django.LLMGatewayMiddleware",
]

ROOT_URLCONF = "notes_site.urls"
WSGI_APPLICATION = "notes_site.wsgi.application"
ASGI_APPLICATION = "notes_site.asgi.application"
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True

# The gateway: config file, and who is calling (member and team) for limits, budgets and traces.
LLM_GATEWAY = {
    "config": Path(os.environ.get("NOTES_GATEWAY", BASE_DIR / "gateway.toml")),
    "identify": "summaries.auth.identify",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"llm_gateway_mw": {"handlers": ["console"], "level": "INFO"}},
}
