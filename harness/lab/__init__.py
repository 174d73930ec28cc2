"""The lab: the reference project deployed on the local Docker engine, for demos and end-to-end tests."""
