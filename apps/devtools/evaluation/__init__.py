"""Labelled sets and the code that scores the product on them (answers, discovery)."""
