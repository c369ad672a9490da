"""Version of the analysis pipeline, stored with every Analysis so results can be recomputed."""

PIPELINE_VERSION = "0.1.0"
