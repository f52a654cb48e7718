"""No secret leaves the server (issue 6): a camera URL with credentials, an API key, a
password and its hash never appear in a page, a callback answer, a route's answer or a log
line. The real app runs as a newcomer runs it (`python app.py`), grabbing a camera whose URL
carries a password and that refuses connections, so its errors are logged for real."""

from __future__ import annotations

import json
import shutil
import time

import httpx
import yaml

from data import accounts
from data.api_keys import create_key
from data.db.engine import make_engine
from settings import PROJECT_ROOT
from tests.accounts import PASSWORD, make_user, sign_in_with_form
from tests.browser.conftest import running_komando
from tests.dash_requests import router_body

SECRET_WORD = "SandiRahasia99"
CAMERA_URL = f"http://penjaga:{SECRET_WORD}@127.0.0.1:9/video.mjpg"
METRICS_TOKEN = "TokenMetrikRahasia-0123456789"
PAGES = ["/", "/cctv", "/alerts", "/kpi", "/operator", "/admin/data", "/admin", "/parent"]


def test_no_secret_in_any_answer_or_log_line(tmp_path):
    cities = tmp_path / "cities"
    shutil.copytree(PROJECT_ROOT / "data" / "cities" / "prabumulih", cities / "prabumulih")
    city_yaml = cities / "prabumulih" / "city.yaml"
    config = yaml.safe_load(city_yaml.read_text(encoding="utf-8"))
    config["cameras"].append(
        {
            "id": "gudang",
            "name": "Gudang (uji)",
            "kind": "street",
            "region": config["cameras"][0]["region"],
            "lat": config["cameras"][0]["lat"],
            "lng": config["cameras"][0]["lng"],
            "source": "env:KOMANDO_UJI_KAMERA",
        }
    )
    city_yaml.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    env = {
        "KOMANDO_CITIES_DIR": str(cities),
        "KOMANDO_UJI_KAMERA": CAMERA_URL,
        "KOMANDO_METRICS_TOKEN": METRICS_TOKEN,
    }
    with running_komando(data_dir, **env) as url:
        base = url.rstrip("/")
        engine = make_engine(f"sqlite:///{data_dir / 'komando.sqlite3'}")
        make_user(engine, "admin", "penguji")
        password_hash = accounts.user_by_name(engine, "penguji")["password_hash"]
        key = create_key(engine, "uji rahasia", "all", [])
        secrets = [CAMERA_URL, SECRET_WORD, key, key.split("_", 2)[2], password_hash, PASSWORD]
        secrets.append(METRICS_TOKEN)
        answers: list[str] = []
        with httpx.Client(timeout=15) as client:
            posted = client.post(
                f"{base}/api/v1/readings",
                headers={"Authorization": f"Bearer {key}"},
                json=[{"sensor_id": "aq-cambai", "ts": time.time(), "value": 20}],
            )
            assert posted.status_code == 200, posted.text
            answers.append(posted.text)
            wrong = client.post(
                f"{base}/api/v1/readings",
                headers={"Authorization": f"Bearer {key}x"},
                json=[{"sensor_id": "aq-cambai", "value": 20}],
            )
            assert wrong.status_code == 401
            answers.append(wrong.text)
            signed_in = sign_in_with_form(client, base, "penguji", PASSWORD)
            assert signed_in.status_code == 303
            csrf = {"X-CSRFToken": client.cookies["_csrf_token"]}
            time.sleep(4)  # the grabber has tried the camera, failed and logged why
            for path in [*PAGES, "/_dash-layout", "/_dash-dependencies", "/kpi/laporan"]:
                answers.append(client.get(base + path).text)
            answers.append(client.get(f"{base}/kpi/export.csv").text)
            for path in PAGES:
                routed = client.post(
                    f"{base}/_dash-update-component", json=router_body(path), headers=csrf
                )
                assert routed.status_code == 200, (path, routed.status_code)
                answers.append(routed.text)
            for path in ("/video/gudang.jpg", "/video/gudang/thumb.jpg"):
                picture = client.get(base + path)
                answers.append(picture.text + json.dumps(dict(picture.headers)))
            # The camera is known to be broken, and the wall says so, without its address.
            health = client.get(f"{base}/video/gudang.jpg").headers["x-camera-state"]
            assert health in ("offline", "connecting", "stalled"), health
            # Health, readiness and metrics (issue 7) name the camera, never its address.
            scraped = client.get(
                f"{base}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
            )
            assert scraped.status_code == 200 and 'camera="gudang"' in scraped.text
            answers += [scraped.text, client.get(f"{base}/readyz").text]
            answers.append(client.get(f"{base}/healthz").text)
        log = (data_dir / "server.log").read_text()
    assert "gudang" in log  # the failing camera was logged, by its id
    for secret in secrets:
        for answer in answers:
            assert secret not in answer
        assert secret not in log, f"a secret reached the log: {secret[:12]}…"
