"""The specialists' workspace: the regional queue, one referral, and the actions on it."""
