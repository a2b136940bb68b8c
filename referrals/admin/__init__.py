"""The supervisor's review in the Django admin: referrals, e-mail notices, regions and specialists.

The admin of the reference data (regions, jurisdictions, specialists) lives here, not in
`regions`: it shows and changes referrals (open cases, re-routing), and `regions` never
imports `referrals`.
"""

from . import digests, referrals, regions  # noqa: F401 - registers the ModelAdmins
