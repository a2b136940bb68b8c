"""The referrer's private status page, opened by the link's token (referrals/status_links.py)."""
