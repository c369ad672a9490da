"""Persistence: SQLAlchemy 2 models, repositories (the only place that talks SQL) and blob storage."""
