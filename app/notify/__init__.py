"""Telling clinics what happened: the event log (poll) and signed webhooks (push)."""
