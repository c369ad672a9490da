"""Clinic upload endpoint: POST /api/v1/studies."""
