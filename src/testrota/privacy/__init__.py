"""Personal data: masking (pages, exports, logs), export of one person, erasure, retention.

Only the masking helpers are imported here; the services (``privacy.export``,
``privacy.erase``, ``privacy.retention``) touch the database and are imported where used.
"""

from testrota.privacy.masking import (
    UNMASKED,
    Masker,
    mask_id_number,
    mask_personal_numbers,
    mask_phone,
    masker_for,
    masker_for_policy,
)

__all__ = [
    "UNMASKED",
    "Masker",
    "mask_id_number",
    "mask_personal_numbers",
    "mask_phone",
    "masker_for",
    "masker_for_policy",
]
