"""Is the address a camera, before OpenCV is asked to open it — and if not, why not, in words an
operator can act on.

OpenCV's FFmpeg backend opens one capture at a time per process (a process-wide lock around
the open, held for up to the whole open timeout): a single camera that accepts connections but
never answers would delay every other camera's reconnect in the worker by that long, again at
every retry. So network sources are asked first, with plain sockets and httpx that run in
parallel: is anything listening, does it speak RTSP or HTTP, what does it answer? Only an
address that answers like a camera reaches `cv2.VideoCapture`.

Messages are Bahasa first with English detail in brackets, and never contain the URL, which may
carry credentials and must not reach a browser.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import socket
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

DEFAULT_PORTS = {"rtsp": 554, "rtsps": 322, "http": 80, "https": 443}
NOT_VIDEO_TYPES = ("text/", "application/json", "application/xml", "application/xhtml")


def preflight(source: str, kind: str, timeout_s: float) -> str:
    """'' when `source` answers as a camera of `kind` should (or cannot be asked: files,
    devices, RTSP over TLS); else why it will not open."""
    if kind not in ("rtsp", "mjpeg"):
        return ""
    parts = urlsplit(source)
    host = parts.hostname or ""
    try:
        port = parts.port or DEFAULT_PORTS.get(parts.scheme.lower(), 0)
    except ValueError:
        return "alamat kamera tidak sah (invalid port in URL)"
    if kind == "rtsp":
        if parts.scheme.lower() == "rtsps":
            return probe_tcp(host, port, timeout_s)
        return probe_rtsp(source, host, port, timeout_s)
    return probe_http(source, timeout_s)


def describe_open_failure(source: str, kind: str, elapsed_s: float, open_timeout_s: float) -> str:
    """A health message for a source OpenCV could not open after `elapsed_s` (network sources
    passed `preflight`, so they answered)."""
    if kind == "file":
        path = Path(source.removeprefix("file://"))
        if not path.exists():
            return f"berkas video tidak ditemukan (open failed: no file {path.name})"
        return "berkas tidak berisi video yang dapat dibaca (open failed: not a readable video)"
    if kind == "device":
        return "perangkat kamera tidak dapat dibuka (open failed: device missing or busy)"
    if elapsed_s >= 0.9 * open_timeout_s:
        return (
            f"kamera menjawab, tetapi video tidak mulai dalam {open_timeout_s:g} dtk "
            "(open timed out)"
        )
    return "kamera menjawab, tetapi videonya tidak dapat dibaca (open failed: unsupported stream?)"


def probe_tcp(host: str, port: int, timeout_s: float) -> str:
    """'' when something listens at host:port, else why not."""
    if not host or not port:
        return "alamat kamera tidak lengkap (no host or port in URL)"
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return ""
    except OSError as exc:
        return connect_error_message(exc, timeout_s)


def os_error_of(exc: BaseException) -> BaseException:
    """The OSError behind a library's connect error (httpx wraps httpcore wraps the socket's)."""
    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, OSError):
        cause = cause.__cause__ or cause.__context__
    return cause or exc


def connect_error_message(exc: BaseException, timeout_s: float) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "koneksi ditolak: kamera mati atau port salah (connection refused)"
    if isinstance(exc, TimeoutError):
        return f"alamat tidak menjawab dalam {timeout_s:g} dtk (connect timed out)"
    if isinstance(exc, socket.gaierror):
        return "nama host kamera tidak dikenal (DNS lookup failed)"
    if isinstance(exc, OSError):
        return f"alamat kamera tidak terjangkau (unreachable: {exc.strerror or exc})"
    return f"tidak dapat terhubung ke kamera (connect failed: {exc})"


def probe_rtsp(source: str, host: str, port: int, timeout_s: float) -> str:
    """DESCRIBE the stream, answering a Digest or Basic challenge with the URL's credentials as
    Hikvision and Dahua cameras ask: a wrong password or channel is named here, before FFmpeg
    spends its open timeout (and OpenCV's open lock) on it."""
    if not host or not port:
        return "alamat kamera tidak lengkap (no host or port in URL)"
    parts = urlsplit(source)
    netloc = f"[{host}]" if ":" in host else host
    url = f"{parts.scheme}://{netloc}:{port}{parts.path or '/'}"
    if parts.query:
        url += "?" + parts.query
    user = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password or "")
    deadline = time.monotonic() + timeout_s
    try:
        sock = socket.create_connection((host, port), timeout=timeout_s)
    except OSError as exc:
        return connect_error_message(exc, timeout_s)
    try:
        with sock:
            status, headers = _describe(sock, url, 1, {}, deadline)
            challenge = headers.get("www-authenticate", "")
            if status == 401 and user is not None and challenge:
                authorization = _authorization(challenge, user, password, url)
                if authorization:
                    status, headers = _describe(
                        sock, url, 2, {"Authorization": authorization}, deadline
                    )
    except TimeoutError:
        return (
            f"kamera menerima koneksi tetapi tidak menjawab dalam {timeout_s:g} dtk "
            "(no RTSP answer)"
        )
    except _NotRtsp:
        return "alamat ini bukan server RTSP (no RTSP answer)"
    except OSError as exc:
        return f"koneksi RTSP terputus (connection failed: {exc.strerror or exc})"
    if status == 401:
        if user is None:
            return "kamera meminta nama pengguna/kata sandi (RTSP 401 Unauthorized)"
        return "kamera menolak nama pengguna/kata sandi (RTSP 401 Unauthorized)"
    if status == 403:
        return "kamera menolak akses ke saluran ini (RTSP 403 Forbidden)"
    if status == 404:
        return "saluran tidak ada di kamera: periksa path/channel (RTSP 404 Not Found)"
    if status >= 400:
        return f"kamera menjawab dengan galat (RTSP {status})"
    return ""


class _NotRtsp(Exception):
    pass


def _describe(
    sock: socket.socket, url: str, cseq: int, extra: dict[str, str], deadline: float
) -> tuple[int, dict[str, str]]:
    """One DESCRIBE on `sock`: (status, headers with lower-case names). The body is not read."""
    lines = [f"DESCRIBE {url} RTSP/1.0", f"CSeq: {cseq}", "Accept: application/sdp"]
    lines += ["User-Agent: Komando-grabber", *(f"{k}: {v}" for k, v in extra.items())]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    answer = b""
    while b"\r\n\r\n" not in answer:
        if len(answer) > 16384:
            raise _NotRtsp
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        chunk = sock.recv(4096)
        if not chunk:
            break
        answer += chunk
    head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1", "replace").split("\r\n")
    fields = head[0].split(" ", 2)
    if len(fields) < 2 or not fields[0].startswith("RTSP/") or not fields[1].isdigit():
        raise _NotRtsp
    headers: dict[str, str] = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        # Several WWW-Authenticate lines (Digest and Basic): keep the Digest one.
        if name in headers and not value.strip().lower().startswith("digest"):
            continue
        headers[name] = value.strip()
    return int(fields[1]), headers


def _authorization(challenge: str, user: str, password: str, url: str) -> str:
    scheme = challenge.split(" ", 1)[0].lower()
    if scheme == "basic":
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        return f"Basic {token}"
    if scheme != "digest":
        return ""
    params = dict(re.findall(r'(\w+)="?([^",]*)"?', challenge))
    realm, nonce = params.get("realm", ""), params.get("nonce", "")

    def md5(text: str) -> str:
        return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()

    ha1 = md5(f"{user}:{realm}:{password}")
    ha2 = md5(f"DESCRIBE:{url}")
    fields = f'username="{user}", realm="{realm}", nonce="{nonce}", uri="{url}"'
    if "auth" in params.get("qop", "").split(","):
        cnonce = secrets.token_hex(8)
        response = md5(f"{ha1}:{nonce}:00000001:{cnonce}:auth:{ha2}")
        return f'Digest {fields}, response="{response}", qop=auth, nc=00000001, cnonce="{cnonce}"'
    return f'Digest {fields}, response="{md5(f"{ha1}:{nonce}:{ha2}")}"'


def probe_http(source: str, timeout_s: float) -> str:
    """GET the stream and look at the status and content type only."""
    import httpx  # only HTTP cameras need it

    from video.snapshot import CameraAuth, camera_tls, http_status_reason, split_credentials

    url, credentials = split_credentials(source)
    try:
        with (
            httpx.Client(
                auth=CameraAuth(*credentials) if credentials else None,
                verify=camera_tls(),  # made at every reconnect: see camera_tls
                timeout=timeout_s,
                trust_env=False,
                follow_redirects=True,
            ) as client,
            client.stream("GET", url) as response,
        ):
            status = response.status_code
            content_type = response.headers.get("content-type", "").split(";")[0].strip()
    except httpx.ConnectError as exc:
        return connect_error_message(os_error_of(exc), timeout_s)
    except httpx.TimeoutException:
        return f"kamera tidak menjawab dalam {timeout_s:g} dtk (no HTTP answer)"
    except httpx.HTTPError as exc:
        return f"alamat ini tidak menjawab HTTP dengan benar ({type(exc).__name__})"
    if status != 200:
        return http_status_reason(status)
    kind = content_type.lower()
    if kind.startswith("image/"):
        return (
            "alamat ini memberi satu gambar, bukan aliran: gunakan source_type: snapshot "
            f"(got {content_type})"
        )
    if kind.startswith(NOT_VIDEO_TYPES):
        return f"bukan aliran video: kamera mengirim {content_type} (not video)"
    return ""
