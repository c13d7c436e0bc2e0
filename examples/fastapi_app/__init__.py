"""The support-desk example (FastAPI), shipped as ``llm_gateway_mw.examples.fastapi_app``."""
