"""Study retrieval for clinics: GET /api/v1/studies and /api/v1/studies/{id}."""
