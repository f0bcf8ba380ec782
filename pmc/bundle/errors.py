"""Why a bundle is refused: one class per reason, each with the sentence the operator reads.

Every refusal happens before anything on a server is changed (the import verifies the bundle
locally first; a data file's checksum, checked as it streams into a staging folder, before
anything live changes, the staging discarded), so each message ends by saying the target was
left as it was.
"""

from __future__ import annotations

from pmc.errors import InputError, PmcError

UNCHANGED = "Nothing was changed on any server"


class BundleError(InputError):
    """A bundle that PMC refuses to read or import."""

    reason = "bad bundle"

    def __init__(self, what: str, *, where: str | None = None, hint: str | None = None) -> None:
        super().__init__(what, where=where, hint=hint or f"{UNCHANGED}.")


class NotABundle(BundleError):
    reason = "not a bundle"


class TruncatedBundle(BundleError):
    reason = "truncated"


class ChecksumMismatch(BundleError):
    reason = "checksum mismatch"


class UnknownFormatVersion(BundleError):
    reason = "unknown format version"


class NewerSchema(BundleError):
    reason = "newer Playout schema"


class UnsafePath(BundleError):
    reason = "path traversal"


class DecompressionBomb(BundleError):
    reason = "decompression bomb"


class DuplicateMember(BundleError):
    reason = "duplicate member"


class NotEnoughSpace(BundleError):
    reason = "not enough free space"


class BundleOperationFailed(PmcError):
    """An export or import that failed on a server (after the bundle itself was accepted)."""


class BadTableData(BundleError):
    reason = "bad table data"
