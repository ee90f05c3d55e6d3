"""The HTTP API: a FastAPI app over `core` for the product (docs/api.md).

`core` never imports this package; it ships with FastAPI, uvicorn and Mangum
(requirements-api.txt), which the ingest Lambda does not need.
"""
