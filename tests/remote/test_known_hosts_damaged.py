"""PMC's known_hosts damaged by an editor (Notepad's BOM, a Latin-1 comment, a line cut short,
a line pasted from elsewhere) or a directory in its place: a clear error naming the file and
line, and the file left as it is; never a raw exception out of paramiko or a damaged line
dropped in silence (its server would then be asked about as if new). Real files."""

from __future__ import annotations

from pathlib import Path

import pytest

from pmc.errors import InputError
from pmc.remote.host_keys import KnownHosts

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
GOOD = f"192.168.1.105 {KEY}\n"


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"# caf\xe9 des serveurs\n", "it is not UTF-8 text"),
        (GOOD[:40].encode(), "the key is cut short or damaged"),
        (b"192.168.1.108 ssh-ed25519\n", "it has no key"),
        (b"192.168.1.108 ssh-rsa AAAAB3NzaC1yc2EAAAADAQAB\n", "the key is cut short or damaged"),
        (f"|1|xx|yy {KEY}\n".encode(), "the key is cut short or damaged"),
        (f"@revoked * {KEY}\n".encode(), "the key is cut short or damaged"),
    ],
)
def test_a_damaged_line_is_an_error_naming_it_and_the_file_is_kept(
    tmp_path: Path, data: bytes, why: str
) -> None:
    path = tmp_path / "known_hosts"
    content = GOOD.encode() + data + GOOD.replace("105", "106").encode()
    path.write_bytes(content)
    with pytest.raises(InputError) as caught:
        KnownHosts(path)
    assert str(caught.value) == (
        f"{path}:2: this line of PMC's known hosts file cannot be read: {why}. Correct or"
        " delete that line; PMC then asks you to confirm that server's host key again"
    )
    assert path.read_bytes() == content


def test_a_bom_and_crlf_from_notepad_are_read(tmp_path: Path) -> None:
    path = tmp_path / "known_hosts"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.replace("\n", "\r\n").encode())
    assert list(KnownHosts(path).keys_for("192.168.1.105")) == ["ssh-ed25519"]


def test_a_folder_in_place_of_the_file_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "known_hosts"
    path.mkdir()
    with pytest.raises(InputError) as caught:
        KnownHosts(path)
    assert str(caught.value).startswith(
        f"{path}: cannot read PMC's known hosts file: Is a directory."
    )
