"""UIDs derived from names, so everything ecghub sends about one thing carries the same UID without storing it.

pydicom's ``generate_uid(prefix=None, entropy_srcs=...)`` ignores ``entropy_srcs`` and returns a random
UUID-derived UID: a re-sent object would be a new instance, the worklist's study another study at every
query. Here the UUID is a name-based one (UUID version 5, RFC 4122), under the same ``2.25.`` root
(PS3.5 B.2: a UID from a UUID; at most 44 characters).
"""

from __future__ import annotations

import uuid

_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:ecghub:dicom")


def derived_uid(*parts: str) -> str:
    """``2.25.<the integer of UUIDv5(parts)>``: the same parts give the same UID, in every process."""
    return f"2.25.{uuid.uuid5(_NAMESPACE, chr(31).join(parts)).int}"
