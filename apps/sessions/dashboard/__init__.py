"""Content gaps: where the desk fails customers, for staff to fix (admin dashboard, CSV)."""
