"""Version of the analysis pipeline, stored with every Analysis so results can be recomputed."""

PIPELINE_VERSION = "0.2.0"  # rate-scaled delineation, mains fit, ST at J (4th UDMI), quality codes
