"""HTTP snapshot cameras: a URL that answers one JPEG per request, polled at the target rate.

OpenCV cannot read these (FFmpeg sees one image and ends), so they are fetched with httpx and
decoded here. Every failure is a `SnapshotError` whose message is fit for the camera's health
record: Bahasa first, English detail in brackets, never the URL (it may carry credentials).
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Generator
from functools import cache
from urllib.parse import unquote, urlsplit, urlunsplit

import cv2
import httpx
import numpy as np

from video.diagnose import connect_error_message, os_error_of

MAX_SNAPSHOT_BYTES = 16 * 1024 * 1024  # an 8K JPEG is a few MB; more means it is no snapshot


class SnapshotError(Exception):
    """A snapshot that could not be fetched or decoded."""


@cache
def camera_tls() -> ssl.SSLContext:
    """One TLS context for every camera client of the process. httpx builds a new one for each
    client it makes, loading the CA bundle: ~18 ms of CPU. A client is made at every reconnect,
    so 50 unreachable cameras retrying cost a third of a core and the healthy cameras of the
    worker lost frames to it (issue 7, tests/integration/test_camera_faults.py). An SSLContext
    is safe to share between threads for client connections."""
    return httpx.create_ssl_context(trust_env=False)


class CameraAuth(httpx.Auth):
    """Answers the scheme the camera asks for: Digest (Hikvision, Dahua) or Basic. Once known,
    Basic is sent with every request and Digest reuses the camera's challenge, so polling costs
    one request per picture, not two."""

    def __init__(self, user: str, password: str) -> None:
        self._basic = httpx.BasicAuth(user, password)
        self._digest = httpx.DigestAuth(user, password)
        self._scheme = ""  # "basic" once the camera asked for it

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._scheme == "basic":
            yield from self._basic.auth_flow(request)
            return
        # Digest, or not known yet: DigestAuth answers a Digest challenge and reuses it after.
        flow = self._digest.auth_flow(request)
        response = yield next(flow)
        challenge = response.headers.get("www-authenticate", "").lower()
        if response.status_code == 401 and challenge.startswith("basic"):
            self._scheme = "basic"
            yield from self._basic.auth_flow(request)
            return
        try:
            while True:
                response = yield flow.send(response)
        except StopIteration:
            return


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """(url without user:password, (user, password) or None)."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    bare = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return bare, (unquote(parts.username or ""), unquote(parts.password or ""))


def http_status_reason(status: int) -> str:
    if status in (401, 403):
        return f"ditolak kamera: periksa nama pengguna/kata sandi (HTTP {status})"
    if status == 404:
        return "alamat tidak ada di kamera (HTTP 404 Not Found)"
    return f"kamera menjawab dengan galat (HTTP {status})"


class SnapshotSource:
    """One camera's snapshot URL, fetched over a kept-alive connection."""

    def __init__(
        self,
        url: str,
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 5.0,
        transport: httpx.BaseTransport | None = None,
        max_bytes: int = MAX_SNAPSHOT_BYTES,
    ) -> None:
        self.url, credentials = split_credentials(url)
        self.connect_timeout_s = connect_timeout_s
        self.read_timeout_s = read_timeout_s
        self.max_bytes = max_bytes
        self._client = httpx.Client(
            auth=CameraAuth(*credentials) if credentials else None,
            timeout=httpx.Timeout(read_timeout_s, connect=connect_timeout_s),
            transport=transport,
            verify=camera_tls(),
            # Cameras live on the city's own network: proxy variables meant for the internet
            # must not capture them.
            trust_env=False,
            follow_redirects=True,
            headers={"Accept": "image/jpeg, image/*;q=0.9", "User-Agent": "Komando-grabber"},
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> SnapshotSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fetch_bytes(self) -> tuple[bytes, str]:
        """(body, content type) of one snapshot; SnapshotError when there is none."""
        began = time.monotonic()
        try:
            with self._client.stream("GET", self.url) as response:
                if response.status_code != 200:
                    raise SnapshotError(http_status_reason(response.status_code))
                content_type = response.headers.get("content-type", "").split(";")[0].strip()
                if content_type.lower().startswith("multipart/"):
                    raise SnapshotError(
                        "alamat ini aliran MJPEG, bukan snapshot: gunakan source_type: mjpeg "
                        f"(got {content_type})"
                    )
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > self.max_bytes:
                        raise SnapshotError(
                            "jawaban terlalu besar untuk satu gambar "
                            f"(more than {self.max_bytes // 1_048_576} MiB)"
                        )
                    # The read timeout is per chunk: a slow trickle must not hold the loop.
                    if time.monotonic() - began > 2 * self.read_timeout_s:
                        raise SnapshotError(
                            "gambar tidak selesai terkirim "
                            f"(snapshot took over {2 * self.read_timeout_s:.0f} s)"
                        )
                return bytes(body), content_type
        except httpx.TimeoutException as exc:
            connect = isinstance(exc, httpx.ConnectTimeout)
            limit = self.connect_timeout_s if connect else self.read_timeout_s
            raise SnapshotError(
                f"kamera tidak menjawab dalam {limit:g} dtk ({type(exc).__name__})"
            ) from exc
        except httpx.ConnectError as exc:
            raise SnapshotError(
                connect_error_message(os_error_of(exc), self.connect_timeout_s)
            ) from exc
        except httpx.HTTPError as exc:
            raise SnapshotError(f"permintaan gambar gagal ({type(exc).__name__}: {exc})") from exc

    def fetch(self) -> np.ndarray:
        """One snapshot, decoded to a BGR frame."""
        body, content_type = self.fetch_bytes()
        return decode_snapshot(body, content_type)


def decode_snapshot(body: bytes, content_type: str = "") -> np.ndarray:
    if not body:
        raise SnapshotError("kamera mengirim jawaban kosong (empty response)")
    frame = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)
    if frame is not None and frame.size:
        return frame
    if content_type and not content_type.lower().startswith("image/"):
        raise SnapshotError(f"bukan gambar: kamera mengirim {content_type} (not an image)")
    raise SnapshotError(
        f"gambar rusak atau tidak dikenal (not a decodable image, {len(body)} bytes)"
    )
