"""Version of the analysis pipeline, stored with every Analysis so results can be recomputed.

Stored studies analysed by an older version are re-analysed only on request:
``ecghub reanalyze --dry-run`` lists what would change, ``ecghub reanalyze`` does it.
"""

#: 0.3.0: global intervals on the commercial convention (per-lead edges, a vote over leads), rhythm
#: (flutter, AV block, pacing, SVT), QRS morphology (blocks, hypertrophy, Q waves), ST-T statements,
#: bilingual findings, the critical-value list for triage, adult QTc by a linear correction.
#: 0.3.1: T end to the TP level when the T levels off above the PR level; per-lead P onsets need an
#: isoelectric lead-in; NORM withheld by an adult's incomplete RBBB.
PIPELINE_VERSION = "0.3.1"
