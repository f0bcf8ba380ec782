"""The receive buffer of bulk channels: order, batches, hand-over of a pause, end and timeout."""

from __future__ import annotations

import os
import threading

import pytest
from paramiko.buffered_pipe import PipeTimeout

from pmc.remote.bulk import ReceiveBuffer

KIB = 1024
PACKET = 32 * KIB


def _packets(count: int) -> list[bytes]:
    return [os.urandom(PACKET) for _ in range(count)]


def test_reads_return_the_bytes_in_order_across_packet_boundaries() -> None:
    buffer = ReceiveBuffer(batch=256 * KIB)
    packets = _packets(20)
    for packet in packets:
        buffer.feed(packet)
    buffer.close()
    got = []
    for size in (1, 511, 100 * KIB, 7, 300 * KIB, 10**9):
        got.append(buffer.read(size))
    total = 20 * PACKET
    sizes = [1, 511, 100 * KIB, 7, 300 * KIB]
    assert [len(g) for g in got] == [*sizes, total - sum(sizes)]  # never more than asked
    assert b"".join(got) == b"".join(packets)
    assert len(buffer) == 0
    assert buffer.read(1) == b""


def test_a_reader_is_handed_a_whole_batch_not_each_packet() -> None:
    buffer = ReceiveBuffer(batch=1 << 20, linger=60.0)
    packets = _packets(32)  # 1 MiB in 32 KiB packets, as OpenSSH sends them
    for packet in packets[:-1]:
        buffer.feed(packet)
    result: list[bytes] = []
    reader = threading.Thread(target=lambda: result.append(buffer.read(1 << 20, 60.0)))
    reader.start()
    reader.join(0.5)  # a reader woken per packet returns 31 of them here
    buffer.feed(packets[-1])
    reader.join(60)
    assert [len(r) for r in result] == [1 << 20]
    assert result == [b"".join(packets)]


def test_a_pause_hands_over_what_is_there() -> None:
    buffer = ReceiveBuffer(batch=1 << 20, linger=0.01)
    buffer.feed(b"x" * 100)
    result: list[bytes] = []
    reader = threading.Thread(target=lambda: result.append(buffer.read(1 << 20)), daemon=True)
    reader.start()
    reader.join(10)  # a sanity bound: the hand-over takes 10 ms
    assert result == [b"x" * 100]


def test_end_of_stream_and_timeout() -> None:
    buffer = ReceiveBuffer()
    with pytest.raises(PipeTimeout):
        buffer.read(10, 0.01)
    buffer.feed(b"abc")
    assert buffer.read_ready()
    buffer.close()
    assert buffer.read(10, 0.01) == b"abc"
    assert buffer.read(10, 0.01) == b""
    assert buffer.empty() == b""


def test_the_channel_event_follows_the_data() -> None:
    buffer = ReceiveBuffer(linger=0.0)
    event = threading.Event()
    buffer.set_event(event)
    assert not event.is_set()
    buffer.feed(b"data")
    assert event.is_set()
    assert buffer.read(100) == b"data"
    assert not event.is_set()
    buffer.close()
    assert event.is_set()
