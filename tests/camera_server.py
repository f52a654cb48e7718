"""Real network cameras on loopback for the tests: an RTSP camera and an HTTP MJPEG/snapshot one.

`RtspCamera(clip)` and `MjpegCamera(clip)` each run a demo clip as a camera in a separate OS
process on 127.0.0.1. The process loops the clip forever in real time and serves several clients
at once. `stop()` ends it (the camera goes offline), `start()` brings it back on the same port and
URL, `kill()` is a SIGKILL, and `pause()`/`resume()` freeze it with SIGSTOP/SIGCONT: connections
then stay open but nothing more is sent, as when a camera hangs or its cable is pulled.
`StillCamera()` serves one small JPEG (MJPEG and any number of snapshot cameras) at almost no
CPU, and `spoil()` makes it answer garbage.

Why this shape (measured on Debian 12, see tests/integration/test_camera_server.py):

* RTSP is served by GStreamer's RTSP server (libgstrtspserver via PyGObject, Debian's
  `gir1.2-gst-rtsp-server-1.0` and `python3-gst-1.0`). It is a real RTSP implementation: RTP
  over UDP and interleaved over TCP, several readers at once, and digest authentication.
  PyGObject is only in Debian's own Python, so the server runs as
  `/usr/bin/python3 -m tests.camera_server rtsp ...`; for that reason this module imports only
  the standard library and tests.ports at import time.
* Rejected for RTSP: ffmpeg's RTSP muxer only pushes to a server, and `-rtsp_flags listen`
  accepts one publisher, not readers. VLC refuses to run as root, and run as another user its
  `#rtp{sdp=rtsp://...}` server answers RTSP over TCP with 461 Unsupported transport. live555
  is not in Debian 12, and MediaMTX is neither in Debian nor on PyPI (the `mediamtx-py` wheel
  downloads the binary at run time).
* The clip is first re-encoded once, with Debian's `ffmpeg`, into what an IP camera sends:
  H.264 with no B-frames (the school clip has them), a keyframe every second (the street clip
  has one every 4.8 s), SPS/PPS before each keyframe, and an access-unit delimiter before each
  frame, which is where the server splits frames without a demuxer. The result is kept in
  memory (a memfd handed to the server as stdin), so there are no temporary files to leave behind.
* GStreamer has no gapless loop for a file inside an RTSP media, and raw H.264 read from a file
  carries no timestamps: the media is a live `appsrc ! rtph264pay` fed by a thread that pushes
  one access unit per frame period with monotonic timestamps, and wraps to the first frame at the
  end. Each reader gets its own media (see `_serve_rtsp` for why it is not shared), starting at
  the keyframe before the clip's running position, so every reader sees about the same moment
  and gets a picture at once.
* MJPEG and snapshots come from a small `http.server` process (the venv's Python with OpenCV).
  It decodes the original clip in real time, encodes each frame to JPEG once and hands the same
  bytes to every client: `/video.mjpg` (multipart/x-mixed-replace), `/snapshot.jpg` and `/`,
  the camera's web page (text/html), which is the "URL that is not video" case.
* Each server is our own child process in its own session (a Ctrl+C meant for pytest does not
  reach it first), and PR_SET_PDEATHSIG kills it if pytest itself dies. SIGKILL is used
  because it also ends a paused process. It listens at a free port below the kernel's ephemeral
  range (tests/ports.py), so the port is still free when the camera is started again.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import ctypes
import errno
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import IO, BinaryIO, Self

from tests.ports import ServerContext, free_port

PROJECT_ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"

_PR_SET_PDEATHSIG = 1
_LOG_LINES = 200
_LOG_TAIL_LINES = 30
_EXIT_PORT_IN_USE = 98
_BOUNDARY = "komandoframe"


class CameraServerError(RuntimeError):
    """A test camera could not be prepared, started or stopped."""


class _PortInUseError(CameraServerError):
    pass


def find_gst_python() -> str:
    """$KOMANDO_GST_PYTHON, else Debian's /usr/bin/python3 (the Python with PyGObject)."""
    return os.environ.get("KOMANDO_GST_PYTHON") or "/usr/bin/python3"


def find_ffmpeg() -> str:
    found = shutil.which("ffmpeg")
    if found is None:
        raise CameraServerError("no ffmpeg on PATH: run scripts/ensure-media-server")
    return found


def _die_with_parent() -> None:
    # Linux sends the signal when the *thread* that started the server exits: start cameras from
    # the main thread (pytest fixtures run there).
    with contextlib.suppress(OSError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


# --- the clip, as a camera would encode it ------------------------------------------------------


def probe_fps(clip: Path) -> Fraction:
    """The clip's frame rate as an exact fraction (12.5 fps is 25/2), from ffprobe."""
    ffprobe = shutil.which("ffprobe") or str(Path(find_ffmpeg()).with_name("ffprobe"))
    result = subprocess.run(
        [ffprobe, "-v", "error", "-select_streams", "v:0", "-show_entries",
         "stream=r_frame_rate", "-of", "default=noprint_wrappers=1:nokey=1", str(clip)],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    try:
        fps = Fraction(result.stdout.strip())
    except (ValueError, ZeroDivisionError):
        fps = Fraction(0)
    if result.returncode != 0 or fps <= 0:
        raise CameraServerError(f"ffprobe found no frame rate in {clip}: {result.stderr.strip()}")
    return fps


@lru_cache(maxsize=8)
def _camera_h264(clip: str, _mtime_ns: int, _size: int, gop_s: float) -> tuple[bytes, Fraction]:
    fps = probe_fps(Path(clip))
    gop = max(1, round(float(fps) * gop_s))
    args = [
        find_ffmpeg(), "-nostdin", "-v", "error", "-i", clip, "-map", "0:v:0", "-an",
        "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "main", "-pix_fmt", "yuv420p",
        "-bf", "0", "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0",
        # aud: the server splits frames at the delimiters; repeat-headers: SPS/PPS before every
        # keyframe, so a reader that joins late can start decoding there.
        "-x264-params", "aud=1:repeat-headers=1", "-f", "h264", "pipe:1",
    ]  # fmt: skip
    result = subprocess.run(args, capture_output=True, timeout=120, check=False)
    if result.returncode != 0 or not result.stdout:
        raise CameraServerError(
            f"ffmpeg could not re-encode {clip}: {result.stderr.decode(errors='replace').strip()}"
        )
    return result.stdout, fps


def camera_h264(clip: Path, gop_s: float = 1.0) -> tuple[bytes, Fraction]:
    """The clip as an IP camera sends it (see the module doc), and its frame rate. Cached."""
    clip = Path(clip).resolve()
    try:
        stat = clip.stat()
    except OSError as exc:
        raise CameraServerError(f"no clip at {clip}: {exc}") from exc
    return _camera_h264(str(clip), stat.st_mtime_ns, stat.st_size, gop_s)


# --- the server process, as the tests see it ---------------------------------------------------


class _CameraProcess(ServerContext):
    """Lifecycle shared by both cameras: spawn, wait until it serves, stop, kill, pause, log."""

    kind = "camera"

    def __init__(self) -> None:
        self.host = HOST
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.last_start_s: float | None = None  # how long the last start() took until serving
        self._log: collections.deque[str] = collections.deque(maxlen=_LOG_LINES)
        self._log_reader: threading.Thread | None = None
        self._started_once = False

    # What to do when the server cannot start, for the error message.
    hint = ""

    # Subclasses provide these three.
    def _command(self) -> list[str]:
        raise NotImplementedError

    def _stdin(self) -> int:
        return subprocess.DEVNULL

    def _serves(self) -> bool:
        raise NotImplementedError

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.running and self.process else None

    def start(self, timeout_s: float = 20.0) -> Self:
        """Start the server and wait until it really serves; a no-op if it runs."""
        if self.running:
            return self
        for attempt in range(5):
            began = time.monotonic()
            self._spawn()
            try:
                self._wait_until_serving(began + timeout_s)
            except _PortInUseError:
                if self._started_once or attempt == 4:
                    raise  # tests hold our URL once started: the port cannot change any more
                self.port = free_port()
                continue
            self.last_start_s = time.monotonic() - began
            self._started_once = True
            return self
        raise AssertionError("unreachable")

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM and wait: the camera goes offline and the kernel closes its connections."""
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            process.send_signal(signal.SIGCONT)  # a paused server must run to act on SIGTERM
            try:
                process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=timeout_s)
                self.process = None
                raise CameraServerError(
                    f"{self.kind} did not stop within {timeout_s:.0f} s; killed it.\n"
                    + self.log_tail()
                ) from None
        self.process = None

    def kill(self) -> None:
        """SIGKILL: no goodbye from the server (the kernel still closes its TCP connections)."""
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        self.process = None

    def pause(self) -> None:
        """SIGSTOP: connections stay open and new ones are accepted, but nothing is answered."""
        if not self.running or self.process is None:
            raise CameraServerError(f"{self.kind} is not running")
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)

    def cpu_time_s(self) -> float:
        """User plus system CPU time the server process has used so far."""
        pid = self.pid
        if pid is None:
            raise CameraServerError(f"{self.kind} is not running")
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        tail = list(self._log)[-lines:]
        return f"--- last {len(tail)} lines of the {self.kind} log ---\n" + "\n".join(tail)

    def close(self) -> None:
        self.stop()

    def _spawn(self) -> None:
        self._log.append(f"=== starting {self.kind} on {self.host}:{self.port} ===")
        # GStreamer errors only (its warnings on a healthy stream would crowd the log tail).
        env = dict(os.environ, PYTHONUNBUFFERED="1", GST_DEBUG_NO_COLOR="1")
        env.setdefault("GST_DEBUG", "1")
        env.pop("PYTHONHOME", None)
        command = self._command()
        try:
            self.process = subprocess.Popen(
                command,
                stdin=self._stdin(),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                cwd=str(PROJECT_ROOT),
                env=env,
                preexec_fn=_die_with_parent,
                # Own session: a Ctrl+C meant for pytest must not reach the camera first.
                start_new_session=True,
            )
        except FileNotFoundError as exc:
            raise CameraServerError(f"cannot run {command[0]}: {exc}. {self.hint}") from exc
        stdout = self.process.stdout
        assert stdout is not None
        self._log_reader = threading.Thread(
            target=self._collect_log, args=(stdout,), name=f"{self.kind} log", daemon=True
        )
        self._log_reader.start()

    def _collect_log(self, stream: IO[bytes]) -> None:
        for raw in stream:
            self._log.append(raw.decode(errors="replace").rstrip())

    def _wait_until_serving(self, deadline: float) -> None:
        process = self.process
        assert process is not None
        while True:
            code = process.poll()
            if code is not None:
                self.process = None
                if self._log_reader is not None:
                    self._log_reader.join(timeout=2)  # its last words are the error
                if code == _EXIT_PORT_IN_USE:
                    raise _PortInUseError(f"port {self.port} is in use:\n{self.log_tail()}")
                raise CameraServerError(
                    f"{self.kind} exited with code {code} while starting on "
                    f"{self.host}:{self.port}. {self.hint}\n{self.log_tail()}"
                )
            if self._serves():
                return
            if time.monotonic() > deadline:
                process.kill()
                process.wait()
                self.process = None
                raise CameraServerError(
                    f"{self.kind} did not serve on {self.host}:{self.port} in time:\n"
                    + self.log_tail()
                )
            time.sleep(0.05)


class RtspCamera(_CameraProcess):
    """`with RtspCamera(clip) as cam: cv2.VideoCapture(cam.url, ...)` — an H.264 RTSP camera.

    `rtsp://127.0.0.1:<port>/<path>`, like an IP camera or an NVR channel. With `user` and
    `password` it asks for digest authentication, as Hikvision and Dahua cameras do; `url`
    then carries the credentials and `url_for()` builds others.
    """

    kind = "RTSP camera"
    hint = (
        "It needs Debian's ffmpeg, python3-gst-1.0 and gir1.2-gst-rtsp-server-1.0: run "
        "scripts/ensure-media-server, or point KOMANDO_GST_PYTHON at a "
        "Python with PyGObject and GStreamer's RTSP server."
    )

    def __init__(
        self,
        clip: Path | str,
        path: str = "cam1",
        user: str | None = None,
        password: str | None = None,
        gop_s: float = 1.0,
    ) -> None:
        super().__init__()
        self.clip = Path(clip)
        self.path = path.strip("/")
        self.user = user
        self.password = password
        stream, self.fps = camera_h264(self.clip, gop_s)
        self._memfd = os.memfd_create("komando-rtsp-camera", os.MFD_CLOEXEC)
        try:
            view = memoryview(stream)
            while view:
                view = view[os.write(self._memfd, view) :]
        except BaseException:
            os.close(self._memfd)
            raise

    @property
    def url(self) -> str:
        if self.user is not None:
            return self.url_for(self.user, self.password or "")
        return self.url_without_credentials

    @property
    def url_without_credentials(self) -> str:
        return f"rtsp://{self.host}:{self.port}/{self.path}"

    def url_for(self, user: str, password: str) -> str:
        return f"rtsp://{user}:{password}@{self.host}:{self.port}/{self.path}"

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self._memfd >= 0:
                os.close(self._memfd)
                self._memfd = -1

    def _command(self) -> list[str]:
        args = [find_gst_python(), "-m", "tests.camera_server", "rtsp", "--port", str(self.port)]
        args += ["--path", self.path, "--fps", str(self.fps)]
        if self.user is not None:
            args += ["--user", self.user, "--password", self.password or ""]
        return args

    def _stdin(self) -> int:
        if self._memfd < 0:
            raise CameraServerError("this RtspCamera was closed")
        os.lseek(self._memfd, 0, os.SEEK_SET)  # the previous server read it to the end
        return self._memfd

    def _serves(self) -> bool:
        # A DESCRIBE answers 200 with an SDP only once the media pipeline has produced H.264
        # with its SPS/PPS, so this proves frames flow without OpenCV's ~2 s stream probe.
        try:
            status, body = rtsp_describe(
                self.url_without_credentials, self.user, self.password, timeout_s=2.0
            )
        except OSError:
            return False
        return status == 200 and "m=video" in body and "sprop-parameter-sets" in body


class MjpegCamera(_CameraProcess):
    """`with MjpegCamera(clip) as cam:` — an HTTP camera: `url` (MJPEG), `snapshot_url`, `page_url`.

    `page_url` is the camera's web page (text/html): a URL that answers but is not video.
    """

    kind = "MJPEG camera"

    def __init__(self, clip: Path | str, jpeg_quality: int = 80) -> None:
        super().__init__()
        self.clip = Path(clip).resolve()
        if not self.clip.is_file():
            raise CameraServerError(f"no clip at {self.clip}")
        self.jpeg_quality = jpeg_quality

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/video.mjpg"

    @property
    def snapshot_url(self) -> str:
        return f"http://{self.host}:{self.port}/snapshot.jpg"

    @property
    def page_url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def _command(self) -> list[str]:
        return [
            sys.executable, "-m", "tests.camera_server", "mjpeg", "--port", str(self.port),
            "--clip", str(self.clip), "--quality", str(self.jpeg_quality),
        ]  # fmt: skip

    def _serves(self) -> bool:
        return _serves_jpeg(self.host, self.port, "/snapshot.jpg")


class StillCamera(_CameraProcess):
    """`with StillCamera() as cam:` — an HTTP camera that needs no clip and hardly any CPU: one
    small JPEG, served as MJPEG at `url` (`fps` frames a second) and as a snapshot at any
    `snapshot_url(n)`, so one server stands in for many snapshot cameras.

    `spoil()` (SIGUSR1) turns it into a camera that answers garbage, as broken firmware does:
    the open stream goes on with random bytes in its parts; new streams get, in turn, random
    parts, random bytes with no parts at all, or random bytes with no HTTP status line; and
    snapshots are random bytes labelled image/jpeg.
    """

    kind = "still camera"

    def __init__(self, fps: float = 5.0) -> None:
        super().__init__()
        self.fps = fps

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/video.mjpg"

    def snapshot_url(self, number: int = 0) -> str:
        return f"http://{self.host}:{self.port}/snap/{number}.jpg"

    def spoil(self) -> None:
        if not self.running or self.process is None:
            raise CameraServerError(f"{self.kind} is not running")
        self.process.send_signal(signal.SIGUSR1)

    def _command(self) -> list[str]:
        return [
            sys.executable, "-m", "tests.camera_server", "still", "--port", str(self.port),
            "--fps", str(self.fps),
        ]  # fmt: skip

    def _serves(self) -> bool:
        return _serves_jpeg(self.host, self.port, "/snap/0.jpg")


def _serves_jpeg(host: str, port: int, path: str) -> bool:
    """Whether GET `path` answers 200 with a JPEG: the HTTP cameras are up."""
    try:
        with socket.create_connection((host, port), timeout=2.0) as sock:
            sock.settimeout(2.0)
            sock.sendall(f"GET {path} HTTP/1.0\r\nHost: camera\r\n\r\n".encode())
            reply = _read_all(sock, limit=1 << 22)
    except OSError:
        return False
    head, _, body = reply.partition(b"\r\n\r\n")
    return head.startswith(b"HTTP/1.0 200") and body.startswith(b"\xff\xd8")


def _read_all(sock: socket.socket, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = sock.recv(65536)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def rtsp_describe(
    url: str, user: str | None = None, password: str | None = None, timeout_s: float = 2.0
) -> tuple[int, str]:
    """One RTSP DESCRIBE (answering a digest challenge if credentials are given): status, SDP."""
    match = re.fullmatch(r"rtsp://([^/:]+):(\d+)(/.*)?", url)
    if match is None:
        raise ValueError(f"not an rtsp://host:port/path URL: {url}")
    with socket.create_connection((match[1], int(match[2])), timeout=timeout_s) as sock:
        sock.settimeout(timeout_s)
        reader = sock.makefile("rb")
        status, headers, body = _rtsp_request(sock, reader, url, 1, {})
        challenge = headers.get("www-authenticate", "")
        if status == 401 and user is not None and challenge.lower().startswith("digest"):
            params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
            realm, nonce = params.get("realm", ""), params.get("nonce", "")

            def md5(text: str) -> str:
                return hashlib.md5(text.encode()).hexdigest()

            secret = md5(f"{user}:{realm}:{password or ''}")
            response = md5(f"{secret}:{nonce}:{md5('DESCRIBE:' + url)}")
            authorization = (
                f'Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{url}", '
                f'response="{response}"'
            )
            status, headers, body = _rtsp_request(
                sock, reader, url, 2, {"Authorization": authorization}
            )
        return status, body


def _rtsp_request(
    sock: socket.socket, reader: BinaryIO, url: str, cseq: int, extra: dict[str, str]
) -> tuple[int, dict[str, str], str]:
    lines = [f"DESCRIBE {url} RTSP/1.0", f"CSeq: {cseq}", "Accept: application/sdp"]
    lines += [f"{name}: {value}" for name, value in extra.items()]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    status_line = reader.readline().decode(errors="replace")
    parts = status_line.split()
    if len(parts) < 2 or not parts[0].startswith("RTSP/"):
        raise ConnectionError(f"not an RTSP answer: {status_line!r}")
    headers: dict[str, str] = {}
    while True:
        line = reader.readline().decode(errors="replace").strip()
        if not line:
            break
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = reader.read(length).decode(errors="replace") if length else ""
    return int(parts[1]), headers, body


# --- inside the RTSP server process (Debian's Python with PyGObject) ---------------------------


def _access_units(stream: bytes) -> tuple[list[bytes], list[int]]:
    """Split an Annex B stream at its access-unit delimiters; the indexes of keyframes."""
    starts = [m.start() for m in re.finditer(b"\x00\x00\x01\x09", stream)]
    starts = [s - 1 if s > 0 and stream[s - 1] == 0 else s for s in starts]
    units = [stream[a:b] for a, b in zip(starts, [*starts[1:], len(stream)], strict=True)]
    keyframes = [
        i for i, unit in enumerate(units) if re.search(b"\x00\x00\x01[\x25\x45\x65]", unit)
    ]
    return units, keyframes


def _serve_rtsp(port: int, path: str, fps: Fraction, user: str | None, password: str) -> None:
    import gi

    gi.require_version("Gst", "1.0")
    gi.require_version("GstRtsp", "1.0")
    gi.require_version("GstRtspServer", "1.0")
    from gi.repository import GLib, Gst, GstRtsp, GstRtspServer

    Gst.init(None)
    units, keyframes = _access_units(sys.stdin.buffer.read())
    if not units or not keyframes or keyframes[0] != 0:
        print("error: stdin holds no H.264 access units starting with a keyframe", flush=True)
        sys.exit(2)
    period_s = 1 / fps
    duration = int(Gst.SECOND / fps)
    began = time.monotonic()

    def feed(appsrc: Gst.Element, stop: threading.Event) -> None:
        # Start at the keyframe before the clip's running position, like a camera whose
        # encoder never stops, but without making the first reader wait for a keyframe.
        position = int((time.monotonic() - began) / period_s) % len(units)
        index = max(k for k in keyframes if k <= position)
        sent = 0
        base = time.monotonic()
        while not stop.is_set():
            buffer = Gst.Buffer.new_wrapped(units[index])
            buffer.pts = buffer.dts = sent * duration
            buffer.duration = duration
            if appsrc.emit("push-buffer", buffer) != Gst.FlowReturn.OK:
                return  # the media is shutting down
            sent += 1
            index = (index + 1) % len(units)
            delay = base + sent * period_s - time.monotonic()
            if delay < -1.0:
                base = time.monotonic() - sent * period_s  # paused (SIGSTOP): do not burst
            elif delay > 0:
                stop.wait(delay)

    def configure(_factory: GstRtspServer.RTSPMediaFactory, media: GstRtspServer.RTSPMedia) -> None:
        appsrc = media.get_element().get_by_name("src")
        stop = threading.Event()
        media.connect("unprepared", lambda _media: stop.set())
        threading.Thread(target=feed, args=(appsrc, stop), daemon=True).start()

    rate = f"{fps.numerator}/{fps.denominator}"
    caps = f"video/x-h264,stream-format=byte-stream,alignment=au,framerate={rate}"
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(
        f'( appsrc name=src is-live=true format=time caps="{caps}" '
        "! rtph264pay name=pay0 pt=96 config-interval=-1 )"
    )
    # One media per reader. A shared media is unprepared when its last reader leaves, and a
    # reader that connects meanwhile (a grabber reconnecting at once, or the first reader after
    # our readiness probe) gets 503 Service Unavailable, which a camera never answers.
    factory.set_shared(False)
    factory.connect("media-configure", configure)

    server = GstRtspServer.RTSPServer()
    server.set_address(HOST)
    server.set_service(str(port))
    if user is not None:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string("media.factory.role", "viewer")
        auth.add_digest(user, password, token)
        auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
        server.set_auth(auth)
        permissions = GstRtspServer.RTSPPermissions()
        permissions.add_permission_for_role("viewer", "media.factory.access", True)
        permissions.add_permission_for_role("viewer", "media.factory.construct", True)
        factory.set_permissions(permissions)
    server.get_mount_points().add_factory(f"/{path}", factory)
    try:
        server.create_source(None).attach(None)
    except GLib.Error as exc:
        print(f"error: cannot listen on {HOST}:{port}: {exc.message}", flush=True)
        in_use = "already in use" in exc.message
        sys.exit(_EXIT_PORT_IN_USE if in_use else 1)
    print(
        f"RTSP camera: rtsp://{HOST}:{port}/{path}, {len(units)} frames at {float(fps):g} fps, "
        f"{Gst.version_string()}",
        flush=True,
    )
    GLib.MainLoop().run()


# --- inside the MJPEG server process (the venv's Python with OpenCV) ---------------------------


class _LatestJpeg:
    """The newest JPEG and its sequence number; readers wait for a newer one."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.seq = 0
        self.jpeg = b""

    def publish(self, jpeg: bytes) -> None:
        with self._cond:
            self.seq += 1
            self.jpeg = jpeg
            self._cond.notify_all()

    def newer_than(self, seq: int, timeout_s: float) -> tuple[int, bytes]:
        with self._cond:
            self._cond.wait_for(lambda: self.seq > seq, timeout=timeout_s)
            return self.seq, self.jpeg


def _produce_jpegs(clip: str, quality: int, latest: _LatestJpeg) -> None:
    try:
        _encode_forever(clip, quality, latest)
    except BaseException:
        # A camera that serves its last picture forever would hide the failure: exit instead.
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(3)


def _encode_forever(clip: str, quality: int, latest: _LatestJpeg) -> None:
    import cv2

    capture = cv2.VideoCapture(clip, cv2.CAP_FFMPEG)
    fps = capture.get(cv2.CAP_PROP_FPS) or 10.0
    period_s = 1 / fps
    sent = 0
    base = time.monotonic()
    while True:
        ok, frame = capture.read()
        if not ok:  # end of the clip: start again, a camera never ends
            capture.release()
            capture = cv2.VideoCapture(clip, cv2.CAP_FFMPEG)
            ok, frame = capture.read()
            if not ok:
                print(f"error: cannot read {clip}", flush=True)
                os._exit(3)
        ok, jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if ok:
            latest.publish(jpeg.tobytes())
        sent += 1
        delay = base + sent * period_s - time.monotonic()
        if delay < -1.0:
            base = time.monotonic() - sent * period_s  # paused (SIGSTOP): do not burst
        elif delay > 0:
            time.sleep(delay)


_PAGE = (
    b"<!doctype html><html><head><title>IP Camera</title></head>"
    b'<body><h1>IP Camera</h1><img src="/video.mjpg"></body></html>\n'
)


def _serve_mjpeg(port: int, clip: str, quality: int) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import cv2

    cv2.setNumThreads(1)
    latest = _LatestJpeg()
    threading.Thread(target=_produce_jpegs, args=(clip, quality, latest), daemon=True).start()

    class Handler(BaseHTTPRequestHandler):
        server_version = "KomandoTestCamera/1.0"
        timeout = 30  # a reader that stops reading for this long is dropped

        def do_GET(self) -> None:
            route = self.path.split("?", 1)[0]
            if route == "/video.mjpg":
                self._stream()
            elif route == "/snapshot.jpg":
                self._snapshot()
            elif route in ("/", "/index.html"):
                self._send(200, "text/html; charset=utf-8", _PAGE)
            else:
                self._send(404, "text/plain", b"not found\n")

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def _snapshot(self) -> None:
            seq, jpeg = latest.newer_than(0, timeout_s=5)
            if seq == 0:
                self._send(503, "text/plain", b"no frame yet\n")
            else:
                self._send(200, "image/jpeg", jpeg)

        def _stream(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", f"multipart/x-mixed-replace;boundary={_BOUNDARY}")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            seq = 0
            while True:
                seq, jpeg = latest.newer_than(seq, timeout_s=5)
                if not jpeg:
                    continue
                head = f"--{_BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                head += f"Content-Length: {len(jpeg)}\r\n\r\n"
                try:
                    self.wfile.write(head.encode() + jpeg + b"\r\n")
                except OSError:  # the reader went away
                    return

    try:
        server = ThreadingHTTPServer((HOST, port), Handler)
    except OSError as exc:
        print(f"error: cannot listen on {HOST}:{port}: {exc}", flush=True)
        sys.exit(_EXIT_PORT_IN_USE if exc.errno == errno.EADDRINUSE else 1)
    print(f"MJPEG camera: http://{HOST}:{port}/video.mjpg from {clip}", flush=True)
    server.serve_forever()


def _junk(size: int) -> bytes:
    """Random bytes that never start like a JPEG (FF D8), so no decoder mistakes them for one."""
    return b"\x00" + os.urandom(size - 1)


def _serve_still(port: int, fps: float) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import cv2
    import numpy as np

    picture = np.zeros((180, 320, 3), np.uint8)
    picture[:, :, 1] = np.linspace(40, 200, 320, dtype=np.uint8)  # a green ramp
    cv2.putText(picture, "KOMANDO", (60, 100), cv2.FONT_HERSHEY_SIMPLEX, 1.4, (255, 255, 255), 3)
    ok, encoded = cv2.imencode(".jpg", picture, [cv2.IMWRITE_JPEG_QUALITY, 80])
    assert ok
    still = encoded.tobytes()
    spoiled = threading.Event()
    signal.signal(signal.SIGUSR1, lambda *_: spoiled.set())
    streams = iter(range(1 << 62))  # which garbage a new stream gets, in turn

    class Handler(BaseHTTPRequestHandler):
        server_version = "KomandoTestCamera/1.0"
        timeout = 30

        def log_message(self, *_args: object) -> None:
            pass  # a line per snapshot request would drown the log tail

        def do_GET(self) -> None:
            route = self.path.split("?", 1)[0]
            if route == "/video.mjpg":
                self._stream()
            elif route.startswith("/snap/") and route.endswith(".jpg"):
                body = _junk(len(still)) if spoiled.is_set() else still
                self.send_response(200)
                self.send_header("Content-Type", "image/jpeg")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            else:
                self.send_error(404)

        def _stream(self) -> None:
            kind = next(streams) % 3 if spoiled.is_set() else 0
            if kind == 2:  # not even HTTP
                self.close_connection = True
                self._forever(lambda: _junk(8192))
                return
            self.send_response(200)
            self.send_header("Content-Type", f"multipart/x-mixed-replace;boundary={_BOUNDARY}")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            if kind == 1:  # a multipart type, then no parts at all
                self._forever(lambda: _junk(8192))
                return

            def part() -> bytes:
                body = _junk(len(still)) if spoiled.is_set() else still
                head = f"--{_BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                head += f"Content-Length: {len(body)}\r\n\r\n"
                return head.encode() + body + b"\r\n"

            self._forever(part)

        def _forever(self, chunk: Callable[[], bytes]) -> None:
            while True:
                try:
                    self.wfile.write(chunk())
                except OSError:  # the reader went away
                    return
                time.sleep(1 / fps)

    try:
        server = ThreadingHTTPServer((HOST, port), Handler)
    except OSError as exc:
        print(f"error: cannot listen on {HOST}:{port}: {exc}", flush=True)
        sys.exit(_EXIT_PORT_IN_USE if exc.errno == errno.EADDRINUSE else 1)
    server.daemon_threads = True
    print(f"still camera: http://{HOST}:{port}/video.mjpg and /snap/<n>.jpg", flush=True)
    server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A test camera (started by tests/camera_server)")
    commands = parser.add_subparsers(dest="command", required=True)
    rtsp = commands.add_parser("rtsp", help="serve the H.264 stream on stdin over RTSP")
    rtsp.add_argument("--port", type=int, required=True)
    rtsp.add_argument("--path", default="cam1")
    rtsp.add_argument("--fps", type=Fraction, required=True)
    rtsp.add_argument("--user")
    rtsp.add_argument("--password", default="")
    mjpeg = commands.add_parser("mjpeg", help="serve a clip as MJPEG and snapshots over HTTP")
    mjpeg.add_argument("--port", type=int, required=True)
    mjpeg.add_argument("--clip", required=True)
    mjpeg.add_argument("--quality", type=int, default=80)
    still = commands.add_parser("still", help="serve one small JPEG as MJPEG and snapshots")
    still.add_argument("--port", type=int, required=True)
    still.add_argument("--fps", type=float, default=5.0)
    args = parser.parse_args(argv)
    if args.command == "rtsp":
        _serve_rtsp(args.port, args.path.strip("/"), args.fps, args.user, args.password)
    elif args.command == "still":
        _serve_still(args.port, args.fps)
    else:
        _serve_mjpeg(args.port, args.clip, args.quality)


if __name__ == "__main__":
    main()
