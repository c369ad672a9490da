"""Printable and phone renderings of ECG reports (tracing pages as PDF and PNG)."""
