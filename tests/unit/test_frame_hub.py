"""The frame hub's waiting logic, with a stand-in for Redis (the real thing is exercised in
tests/integration/test_video_serving.py and bench/video)."""

from __future__ import annotations

import asyncio
import time

from data.live_keys import KeySpace
from data.models import CameraHealth
from server.frame_hub import HEARTBEAT_S, FrameHub


class FakeReader:
    """Returns whatever frame the test sets; counts reads."""

    def __init__(self) -> None:
        self.keys = KeySpace("komando:test")
        self.seq = 5
        self.reads = 0

    async def camera(self, camera_id: str):
        self.reads += 1
        return b"jpeg", CameraHealth(state="live", seq=self.seq, frame_ts=time.time())


def listening_hub(reader: FakeReader) -> FrameHub:
    hub = FrameHub(reader)  # type: ignore[arg-type]
    hub.listening = True
    hub._ensure_listener = lambda: None  # type: ignore[method-assign]
    return hub


def test_a_frame_ahead_of_its_announcement_is_awaited_not_spun_on():
    # Regression (bench/video, 16 cameras x 20 viewers): a frame read from Redis one ahead of
    # the last announcement made next_frame() loop without awaiting, pinning the event loop.
    async def scenario() -> tuple[int, float, int]:
        reader = FakeReader()
        hub = listening_hub(reader)
        hub._on_announcement(b"cam 4")
        reader.seq = 5  # the grabber published 5 before its announcement was handled
        started = time.monotonic()
        frame = await hub.next_frame("cam", after_seq=5, timeout_s=0.3)
        return frame.seq, time.monotonic() - started, reader.reads

    seq, waited, reads = asyncio.run(scenario())
    assert seq == 5
    assert waited >= 0.25  # it waited for news instead of returning or spinning
    assert reads <= 3


def test_an_announcement_wakes_every_waiter_with_one_read():
    async def scenario() -> tuple[list[int], int]:
        reader = FakeReader()
        hub = listening_hub(reader)
        hub._on_announcement(b"cam 5")
        await hub.latest("cam")
        reads_before = reader.reads
        waiters = [asyncio.create_task(hub.next_frame("cam", 5, 2.0)) for _ in range(50)]
        await asyncio.sleep(0.05)
        reader.seq = 6
        hub._on_announcement(b"cam 6")
        frames = await asyncio.gather(*waiters)
        return [f.seq for f in frames], reader.reads - reads_before

    seqs, reads = asyncio.run(scenario())
    assert seqs == [6] * 50
    assert reads == 1  # fifty viewers, one Redis read


def test_a_sequence_that_goes_back_still_counts_as_new():
    async def scenario() -> int:
        reader = FakeReader()
        hub = listening_hub(reader)
        hub._on_announcement(b"cam 900")
        reader.seq = 900
        await hub.latest("cam")
        reader.seq = 1  # a restarted grabber that lost its count
        hub._on_announcement(b"cam 1")
        return (await hub.next_frame("cam", 900, 1.0)).seq

    assert asyncio.run(scenario()) == 1


def test_a_quiet_camera_ends_the_wait_at_its_deadline():
    # No per-viewer timer: the hub's ticker wakes waiters of cameras that have gone quiet.
    async def scenario() -> tuple[list[int], list[float]]:
        hub = listening_hub(FakeReader())
        hub._on_announcement(b"cam 5")
        started = time.monotonic()

        async def wait(timeout_s: float) -> tuple[int, float]:
            frame = await hub.next_frame("cam", after_seq=5, timeout_s=timeout_s)
            return frame.seq, time.monotonic() - started

        results = await asyncio.gather(wait(0.3), wait(0.8))
        return [seq for seq, _ in results], [waited for _, waited in results]

    seqs, waited = asyncio.run(scenario())
    assert seqs == [5, 5]  # nothing new: the frame they had, once their time is up
    assert 0.3 <= waited[0] < 0.3 + HEARTBEAT_S + 0.2
    assert 0.8 <= waited[1] < 0.8 + HEARTBEAT_S + 0.2
