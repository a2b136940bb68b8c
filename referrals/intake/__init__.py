"""Public intake: the referral form and its confirmation page."""
