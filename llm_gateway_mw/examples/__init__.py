"""Examples shipped with the package (``llm-gateway-mw demo`` serves the FastAPI one).

``llm_gateway_mw.examples.fastapi_app`` is ``examples/fastapi_app/`` of the source tree,
mapped in by ``[tool.setuptools.package-dir]`` rather than copied.
"""
