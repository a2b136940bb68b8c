"""No models yet. The module exists so that Django sends accounts its post_migrate signal,
which syncs the staff groups (accounts/groups.py)."""
