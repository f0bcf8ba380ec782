"""Lossless codecs for the Playout configuration files PMC reads and edits.

One module per file: :mod:`~pmc.configs.spoolers` (``spoolers.json``),
:mod:`~pmc.configs.replicate` (``replicate.conf``), :mod:`~pmc.configs.pg_hba`,
:mod:`~pmc.configs.postgresql_conf`, :mod:`~pmc.configs.sshd_config`; strict address parsing in
:mod:`~pmc.configs.addresses`. Every module offers ``parse(text, *, path=...)`` returning a
document with edit methods (each returns whether the text changed, and a second identical edit
never changes it) and ``render()``. Untouched text renders byte for byte as it was read:
comments, blank lines, tabs, CRLF endings, a UTF-8 BOM, a missing final newline; new lines use
the file's own line ending. Unparseable text raises :class:`pmc.errors.ConfigSyntaxError` with
the file, line and column; a bad edit raises :class:`pmc.errors.InputError` and changes nothing.
"""
