"""Running the ECG pipeline on stored studies (called by analysis jobs)."""
