"""Imports fine but defines no ModelNew."""

VALUE = 1
