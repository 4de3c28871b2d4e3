"""The HTTP service: a FastAPI app with routers per audience (see `create_app`)."""
