"""The lab's ``chpasswd``: sets passwords in the server's /etc/shadow in place.

A lab server's /etc/shadow is a single file bind-mounted over the machine's (see
``pmc/lab/README.md``), so shadow-utils' tools, which write ``/etc/nshadow`` and rename it over
``/etc/shadow``, fail there ("Device or resource busy"). This stand-in, first on the servers'
PATH (``/usr/local/sbin/chpasswd``), does what ``chpasswd`` does — ``user:password`` lines on
stdin, ``-e`` for already-hashed ones, ``-c SHA512`` (the only method it makes) — and rewrites
the file in place (under an flock of the file: /etc itself is the machine's, so no lock file
is made there). Passwords are hashed by
``openssl passwd -6 -stdin``; they never appear in argv or a log.

Runs inside a server, as its own process (no supervisor needed).
"""

from __future__ import annotations

import argparse
import fcntl
import subprocess
import sys
import time
from pathlib import Path

SHADOW = Path("/etc/shadow")
METHODS = ("SHA512",)


def _hash(password: str) -> str:
    proc = subprocess.run(
        ["openssl", "passwd", "-6", "-stdin"],
        input=password + "\n",
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise OSError(proc.stderr.strip() or "openssl passwd failed")
    return proc.stdout.strip()


def main(argv: list[str] | None = None, shadow: Path = SHADOW) -> int:
    parser = argparse.ArgumentParser(prog="chpasswd", description="update passwords in batch")
    parser.add_argument("-e", "--encrypted", action="store_true")
    parser.add_argument("-c", "--crypt-method", default="SHA512")
    parser.add_argument("-s", "--sha-rounds", type=int)
    args = parser.parse_args(argv)
    if args.crypt_method.upper() not in METHODS:
        print(f"chpasswd: unsupported crypt method: {args.crypt_method} (the lab's chpasswd "
              "makes SHA512 only)", file=sys.stderr)  # fmt: skip
        return 1
    changes: dict[str, str] = {}
    line_of: dict[str, int] = {}
    ok = True
    for number, line in enumerate(sys.stdin.read().splitlines(), 1):
        if not line:
            continue
        user, sep, password = line.partition(":")
        if not sep or not password:
            print(f"chpasswd: line {number}: missing new password", file=sys.stderr)
            ok = False
            continue
        changes[user] = password if args.encrypted else _hash(password)
        line_of[user] = number
    try:
        with shadow.open("r+") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            lines = f.read().splitlines()
            known = set()
            for i, entry in enumerate(lines):
                fields = entry.split(":")
                if fields[0] in changes and len(fields) > 2:
                    fields[1] = changes[fields[0]]
                    fields[2] = str(int(time.time() // 86400))
                    lines[i] = ":".join(fields)
                    known.add(fields[0])
            for user in changes.keys() - known:
                print(f"chpasswd: (user {user}) pam_chauthtok() failed, error:\n"
                      "Authentication token manipulation error", file=sys.stderr)  # fmt: skip
                print(f"chpasswd: (line {line_of[user]}, user {user}) password not changed",
                      file=sys.stderr)  # fmt: skip
                ok = False
            f.seek(0)
            f.write("\n".join(lines) + "\n")
            f.truncate()
    except OSError as exc:
        print(f"chpasswd: cannot lock {shadow}; try again later. ({exc.strerror})",
              file=sys.stderr)  # fmt: skip
        return 1
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
