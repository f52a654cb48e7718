"""The data layer: city configuration, live state in Redis, history in SQL, and ingestion.

Nothing in this package imports Dash: the ingest role runs it without a web server.
"""
