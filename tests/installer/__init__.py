"""Tests of the installers: packaging files here, the built executable with PMC_DIST_CHECK=1."""
