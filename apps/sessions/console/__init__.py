"""The staff console: a live page where support agents answer waiting customers."""
