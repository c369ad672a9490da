"""Hard limits on what the readers accept, checked on DECLARED sizes before allocating.

An upload is hostile until proven otherwise: a 200-byte header may declare a
billion samples, a 40 kB zip may inflate to gigabytes. Every reader compares
what the file declares against these limits (and against the real byte counts)
before any signal array is created.
"""

from __future__ import annotations

#: Plausible sampling rates (Hz). Below 50 Hz a QRS cannot be resolved; above
#: 20 kHz it is not a clinical ECG (or the header is wrong).
MIN_FS_HZ = 50.0
MAX_FS_HZ = 20_000.0

#: Most channels accepted in one recording (12-lead + Frank + spares fit easily).
MAX_LEADS = 64

#: Longest recording accepted (s): 4 h; longer Holter files must be split.
MAX_DURATION_S = 4 * 3600.0

#: Most sample values (samples x leads) accepted: 100 million values are
#: 800 MB as float64, the largest array a worker should ever allocate.
MAX_SAMPLE_VALUES = 100_000_000

#: Largest upload (bytes): one file, the sum of a multi-file upload, or a zip's
#: total uncompressed size. 4 h of 12 leads at 500 Hz in format 16 is 173 MB.
MAX_UPLOAD_BYTES = 512 << 20

#: Largest ratio of a zip's declared uncompressed size to its compressed size. ECG data
#: (binary samples or decimal text) deflates 2-10x; a deflate bomb reaches ~1000x (a 15 kB
#: zip of an 8 M-line CSV inflates to 16 MB and then to hundreds of MiB of parsed rows).
#: Checked from the central directory, before any member is inflated.
MAX_ZIP_EXPANSION = 100

#: Below this uncompressed total (bytes) the expansion ratio is not checked: small archives
#: of repetitive text are harmless whatever their ratio.
ZIP_EXPANSION_FLOOR_BYTES = 4 << 20

#: Largest WFDB header (bytes). Real headers are < 10 kB (PTB's is ~3 kB).
MAX_HEADER_BYTES = 1 << 20

#: Most files in one upload or zip archive (checked from the zip's central
#: directory, together with MAX_UPLOAD_BYTES, before anything is extracted).
MAX_FILES = 64

#: Longest gap (s) of missing samples filled by linear interpolation; longer
#: gaps are held flat (so the quality stage reports them as signal loss).
MAX_INTERPOLATED_GAP_S = 1.0

#: Largest XML document parsed (bytes; HL7 aECG, GE MUSE, Philips). A 10 s
#: 12-lead aECG is ~0.5 MB; 64 MB holds ~20 min of 12 leads at 500 Hz as text.
#: (The parsed tree costs several times the text, so XML gets its own cap.)
MAX_XML_BYTES = 64 << 20
