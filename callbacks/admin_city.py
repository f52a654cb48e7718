"""The admin page's school and camera forms: pick one (or "new"), change it, save, or remove it
(after the browser's confirm dialog).

Saving goes through data/city_edits.py (checked with the whole city, stored in SQL, applied in
every process within seconds) and is audited with the names of the fields that changed — a
camera's source is never sent to the browser, and its audit line says only that it changed.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from dash import Dash, Input, Output, State, ctx, no_update
from dash.exceptions import PreventUpdate
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from callbacks.admin_guard import acting_admin, next_version
from callbacks.admin_users import DB_FAILED
from callbacks.logged import logged
from data import accounts
from data.city import City
from data.city_edits import CityEditError, CityEdits
from layouts.admin import ADM_EDIT_SCHOOLS, ADM_NEW_SCHOOLS, ADM_VERSION, school_options
from layouts.admin_city import (
    ADM_CAM_FPS,
    ADM_CAM_HOURS,
    ADM_CAM_ID,
    ADM_CAM_KIND,
    ADM_CAM_LAT,
    ADM_CAM_LNG,
    ADM_CAM_NAME,
    ADM_CAM_PICK,
    ADM_CAM_REGION,
    ADM_CAM_REMOVE,
    ADM_CAM_REMOVE_BUTTON,
    ADM_CAM_RESULT,
    ADM_CAM_SAVE,
    ADM_CAM_SCHOOL,
    ADM_CAM_SOURCE,
    ADM_CAM_SOURCE_STATE,
    ADM_CAM_TYPE,
    ADM_SCH_DAYS,
    ADM_SCH_HOURS,
    ADM_SCH_ID,
    ADM_SCH_LAT,
    ADM_SCH_LNG,
    ADM_SCH_NAME,
    ADM_SCH_NPSN,
    ADM_SCH_PICK,
    ADM_SCH_REGION,
    ADM_SCH_REMOVE,
    ADM_SCH_REMOVE_BUTTON,
    ADM_SCH_RESULT,
    ADM_SCH_SAVE,
    NEW,
    camera_picker_options,
    school_picker_options,
)
from layouts.admin_tables import result
from layouts.i18n import Text, normal_lang
from layouts.pages import LANG

log = logging.getLogger(__name__)

SOURCE_KEPT = Text(
    "Sumber tersimpan (tidak ditampilkan). Isi kolom sumber hanya untuk menggantinya.",
    "A source is stored (not shown). Fill in the source field only to replace it.",
)
SOURCE_NEEDED = Text("Kamera baru memerlukan sumber.", "A new camera needs a source.")
NOT_SAVED = Text("Tidak disimpan: ", "Not saved: ")
NOT_REMOVED = Text("Tidak dihapus: ", "Not removed: ")


def blank_to_none(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
    return None if value in ("", None) else value


def school_changes(name, npsn, region, lat, lng, hours, days) -> dict[str, Any]:
    return {
        "name": (name or "").strip(),
        "npsn": blank_to_none(npsn),
        "region": region or "",
        "lat": lat,
        "lng": lng,
        "viewing_hours": blank_to_none(hours),
        "viewing_days": sorted(days or []),
    }


def camera_changes(name, kind, school, region, lat, lng, source, kind_of_source, fps, hours):
    changes: dict[str, Any] = {
        "name": (name or "").strip(),
        "kind": kind,
        "school": school if kind == "school" else None,
        "region": region or "",
        "lat": lat,
        "lng": lng,
        "source_type": kind_of_source or "auto",
        "fps": blank_to_none(fps),
        "enabled_hours": blank_to_none(hours),
    }
    if blank_to_none(source) is not None:
        changes["source"] = source.strip()
    return changes


def changed_fields(before: dict[str, Any] | None, after: dict[str, Any]) -> list[str]:
    before = before or {}
    return sorted(k for k, v in after.items() if before.get(k) != v and k != "id")


def register(
    app: Dash, city: City, engine: Engine, client: redis.Redis | None, namespace: str
) -> None:
    edits = CityEdits.of(city, engine)

    def save(kind: str, item_id: str, changes: dict[str, Any], actor: str, new: bool):
        before = edits.item(kind, item_id)  # type: ignore[arg-type]
        stored = edits.save(
            kind,  # type: ignore[arg-type]
            item_id,
            changes,
            actor,
            new=new,
            client=client,
            namespace=namespace,
        )
        fields = changed_fields(before, stored)
        accounts.audit(
            engine,
            actor,
            f"admin.{kind}.{'add' if new else 'edit'}",
            item_id,
            fields=fields,  # names only: a source may carry a password
        )
        return fields

    def remove(kind: str, item_id: str, actor: str) -> None:
        edits.remove(kind, item_id, actor, client=client, namespace=namespace)  # type: ignore[arg-type]
        accounts.audit(engine, actor, f"admin.{kind}.remove", item_id)

    @app.callback(
        Output(ADM_SCH_ID, "value"),
        Output(ADM_SCH_ID, "disabled"),
        Output(ADM_SCH_NAME, "value"),
        Output(ADM_SCH_NPSN, "value"),
        Output(ADM_SCH_REGION, "value"),
        Output(ADM_SCH_LAT, "value"),
        Output(ADM_SCH_LNG, "value"),
        Output(ADM_SCH_HOURS, "value"),
        Output(ADM_SCH_DAYS, "value"),
        Output(ADM_SCH_REMOVE_BUTTON, "disabled"),
        Input(ADM_SCH_PICK, "value"),
        prevent_initial_call=True,
    )
    @logged
    async def load_school(pick):
        acting_admin()
        school = edits.item("school", pick) if pick and pick != NEW else None
        if school is None:
            return "", False, "", "", None, None, None, "", [1, 2, 3, 4, 5], True
        return (
            school["id"],
            True,
            school["name"],
            school.get("npsn") or "",
            school["region"],
            school["lat"],
            school["lng"],
            school.get("viewing_hours") or "",
            school["viewing_days"],
            False,
        )

    @app.callback(
        Output(ADM_SCH_RESULT, "children"),
        Output(ADM_VERSION, "data", allow_duplicate=True),
        Output(ADM_SCH_PICK, "options"),
        Output(ADM_SCH_PICK, "value"),
        Output(ADM_CAM_SCHOOL, "options"),
        Output(ADM_NEW_SCHOOLS, "options"),
        Output(ADM_EDIT_SCHOOLS, "options"),
        Input(ADM_SCH_SAVE, "n_clicks"),
        Input(ADM_SCH_REMOVE, "submit_n_clicks"),
        State(ADM_SCH_PICK, "value"),
        State(ADM_SCH_ID, "value"),
        State(ADM_SCH_NAME, "value"),
        State(ADM_SCH_NPSN, "value"),
        State(ADM_SCH_REGION, "value"),
        State(ADM_SCH_LAT, "value"),
        State(ADM_SCH_LNG, "value"),
        State(ADM_SCH_HOURS, "value"),
        State(ADM_SCH_DAYS, "value"),
        State(ADM_VERSION, "data"),
        State(LANG, "data"),
        prevent_initial_call=True,
        running=[(Output(ADM_SCH_SAVE, "disabled"), True, False)],
    )
    @logged
    async def save_school(
        n_clicks, removing, pick, school_id, name, npsn, region, lat, lng, hours, days, version,
        lang,
    ):  # fmt: skip
        remove_it = ctx.triggered_id == ADM_SCH_REMOVE
        if not (removing if remove_it else n_clicks):
            raise PreventUpdate
        admin = acting_admin()
        lang = normal_lang(lang)
        new = not pick or pick == NEW
        item_id = (school_id or "").strip() if new else pick
        try:
            if remove_it:
                if new:
                    raise PreventUpdate
                await run_in_threadpool(remove, "school", item_id, admin.actor)
            else:
                changes = school_changes(name, npsn, region, lat, lng, hours, days)
                fields = await run_in_threadpool(save, "school", item_id, changes, admin.actor, new)
        except CityEditError as exc:
            message = NOT_REMOVED(lang) if remove_it else NOT_SAVED(lang)
            return result(message + str(exc), False), *[no_update] * 6
        except SQLAlchemyError:
            log.exception("admin page: school not saved or removed")
            return result(DB_FAILED(lang), False), *[no_update] * 6
        if remove_it:
            message = Text(
                f"Sekolah {item_id} dihapus; berlaku di semua server dalam beberapa detik.",
                f"School {item_id} removed; applies on every server within seconds.",
            )(lang)
        else:
            message = Text(
                f"Sekolah {item_id} disimpan ({', '.join(fields) or 'tanpa perubahan'}); "
                "berlaku di semua server dalam beberapa detik.",
                f"School {item_id} saved ({', '.join(fields) or 'no change'}); "
                "applies on every server within seconds.",
            )(lang)
        schools = school_options(city)
        # Every school picker on the page: this form's, the cameras' and the users' forms.
        return (
            result(message),
            next_version(version),
            school_picker_options(city, lang),
            NEW if remove_it else item_id,
            schools,
            schools,
            schools,
        )

    @app.callback(
        Output(ADM_CAM_ID, "value"),
        Output(ADM_CAM_ID, "disabled"),
        Output(ADM_CAM_NAME, "value"),
        Output(ADM_CAM_KIND, "value"),
        Output(ADM_CAM_SCHOOL, "value"),
        Output(ADM_CAM_REGION, "value"),
        Output(ADM_CAM_LAT, "value"),
        Output(ADM_CAM_LNG, "value"),
        Output(ADM_CAM_SOURCE, "value"),
        Output(ADM_CAM_SOURCE_STATE, "children"),
        Output(ADM_CAM_TYPE, "value"),
        Output(ADM_CAM_FPS, "value"),
        Output(ADM_CAM_HOURS, "value"),
        Output(ADM_CAM_REMOVE_BUTTON, "disabled"),
        Input(ADM_CAM_PICK, "value"),
        State(LANG, "data"),
        prevent_initial_call=True,
    )
    @logged
    async def load_camera(pick, lang):
        acting_admin()
        lang = normal_lang(lang)
        camera = edits.item("camera", pick) if pick and pick != NEW else None
        if camera is None:
            return ("", False, "", "street", None, None, None, None, "", "", "auto", None, "", True)
        return (
            camera["id"],
            True,
            camera["name"],
            camera["kind"],
            camera.get("school"),
            camera["region"],
            camera["lat"],
            camera["lng"],
            "",  # never the stored source
            SOURCE_KEPT(lang),
            camera.get("source_type") or "auto",
            camera.get("fps"),
            camera.get("enabled_hours") or "",
            False,
        )

    @app.callback(
        Output(ADM_CAM_RESULT, "children"),
        Output(ADM_VERSION, "data", allow_duplicate=True),
        Output(ADM_CAM_PICK, "options"),
        Output(ADM_CAM_PICK, "value"),
        Output(ADM_CAM_SOURCE, "value", allow_duplicate=True),
        Input(ADM_CAM_SAVE, "n_clicks"),
        Input(ADM_CAM_REMOVE, "submit_n_clicks"),
        State(ADM_CAM_PICK, "value"),
        State(ADM_CAM_ID, "value"),
        State(ADM_CAM_NAME, "value"),
        State(ADM_CAM_KIND, "value"),
        State(ADM_CAM_SCHOOL, "value"),
        State(ADM_CAM_REGION, "value"),
        State(ADM_CAM_LAT, "value"),
        State(ADM_CAM_LNG, "value"),
        State(ADM_CAM_SOURCE, "value"),
        State(ADM_CAM_TYPE, "value"),
        State(ADM_CAM_FPS, "value"),
        State(ADM_CAM_HOURS, "value"),
        State(ADM_VERSION, "data"),
        State(LANG, "data"),
        prevent_initial_call=True,
        running=[(Output(ADM_CAM_SAVE, "disabled"), True, False)],
    )
    @logged
    async def save_camera(
        n_clicks,
        removing,
        pick,
        camera_id,
        name,
        kind,
        school,
        region,
        lat,
        lng,
        source,
        kind_of_source,
        fps,
        hours,
        version,
        lang,
    ):
        remove_it = ctx.triggered_id == ADM_CAM_REMOVE
        if not (removing if remove_it else n_clicks):
            raise PreventUpdate
        admin = acting_admin()
        lang = normal_lang(lang)
        new = not pick or pick == NEW
        item_id = (camera_id or "").strip() if new else pick
        if remove_it:
            return await remove_camera(item_id, new, admin.actor, lang, version)
        changes = camera_changes(
            name, kind, school, region, lat, lng, source, kind_of_source, fps, hours
        )
        if new and "source" not in changes:
            return result(SOURCE_NEEDED(lang), False), *[no_update] * 4
        try:
            fields = await run_in_threadpool(save, "camera", item_id, changes, admin.actor, new)
        except CityEditError as exc:
            # The reason names fields, never the source's text (pydantic's input is not shown).
            return result(NOT_SAVED(lang) + str(exc), False), *[no_update] * 4
        except SQLAlchemyError:
            log.exception("admin page: camera not saved")
            return result(DB_FAILED(lang), False), *[no_update] * 4
        message = Text(
            f"Kamera {item_id} disimpan ({', '.join(fields) or 'tanpa perubahan'}); "
            "grabber mengikutinya dalam beberapa detik.",
            f"Camera {item_id} saved ({', '.join(fields) or 'no change'}); "
            "the grabber follows within seconds.",
        )(lang)
        options = camera_picker_options(city, lang)
        return result(message), next_version(version), options, item_id, ""

    async def remove_camera(item_id: str, new: bool, actor: str, lang: str, version: object):
        if new:
            raise PreventUpdate  # nothing picked: the button is disabled then
        try:
            await run_in_threadpool(remove, "camera", item_id, actor)
        except CityEditError as exc:
            return result(NOT_REMOVED(lang) + str(exc), False), *[no_update] * 4
        except SQLAlchemyError:
            log.exception("admin page: camera not removed")
            return result(DB_FAILED(lang), False), *[no_update] * 4
        message = Text(
            f"Kamera {item_id} dihapus; grabber berhenti membacanya dalam beberapa detik.",
            f"Camera {item_id} removed; the grabber stops reading it within seconds.",
        )(lang)
        options = camera_picker_options(city, lang)
        return result(message), next_version(version), options, NEW, ""
