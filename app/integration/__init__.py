"""Hospital integration: HL7 v2 orders in (MLLP), ORU^R01 results out (outbox), FHIR R4 read API.

``router`` carries the HTTP endpoints and a lifespan that starts the result
dispatcher (and the in-process MLLP listener when ``ECGHUB_HL7_LISTEN_PORT`` is set).
"""

from app.integration.endpoints import router

__all__ = ["router"]
