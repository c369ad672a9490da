"""ecghub web service (FastAPI): clinic uploads, study retrieval, and later the reading queue and reports."""
