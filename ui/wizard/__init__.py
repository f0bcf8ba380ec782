"""The redundancy setup wizard: one module per page, :mod:`setup_wizard` puts them together."""
