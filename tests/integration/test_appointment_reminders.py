"""'Appointment starting soon' alerts: once per appointment, within the window, again after
a reschedule, never for cancelled ones, exactly once with concurrent callers."""

from __future__ import annotations

import asyncio
import datetime as dt

from clienteling.services.appointment_reminders import remind_starting_soon
from domain.events import store_channel
from tests.factories import make_customer, make_staff, make_store
from tests.integration.conftest import login


async def _book(client, headers, customer, starts: dt.datetime) -> str:  # noqa: ANN001
    r = await client.post(
        f"/api/v1/customers/{customer}/appointments",
        json={"startsAt": starts.isoformat(), "endsAt": (starts + dt.timedelta(minutes=30)).isoformat(), "channel": "in_store"},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def test_reminders_go_out_once_within_the_window_and_again_after_a_reschedule(client, app) -> None:
    store = await make_store()
    seller = await make_staff(role="associate", stores=[store])
    headers = await login(client, seller["email"])
    other = await login(client, (await make_staff(role="associate", stores=[store]))["email"])
    now = dt.datetime.now(dt.timezone.utc)
    soon = await _book(client, headers, await make_customer(store=store), now + dt.timedelta(minutes=10))
    later = await _book(client, other, await make_customer(store=store, email="b@example.com"), now + dt.timedelta(hours=3))
    cancelled = await _book(client, other, await make_customer(store=store, email="c@example.com"), now + dt.timedelta(minutes=12))
    r = await client.patch(f"/api/v1/appointments/{cancelled}", json={"action": "cancel"}, headers=other)
    assert r.status_code == 200, r.text

    bus = app.state.services.events
    sub = bus.subscribe([store_channel(store)])
    waiting = asyncio.ensure_future(anext(sub))
    await asyncio.sleep(0)
    counts = await asyncio.gather(*[remind_starting_soon(dt.datetime.now(dt.timezone.utc), events=bus) for _ in range(3)])
    assert sorted(counts) == [0, 0, 1]
    event = await asyncio.wait_for(waiting, 5)
    assert event.kind == "appointment_soon" and str(event.ref_id) == soon and event.staff_id == seller["id"]
    assert await remind_starting_soon(dt.datetime.now(dt.timezone.utc), events=bus) == 0

    # moved into the window: reminded (once) again
    r = await client.patch(f"/api/v1/appointments/{later}", json={"action": "reschedule", "startsAt": (now + dt.timedelta(minutes=14)).isoformat()}, headers=other)
    assert r.status_code == 200, r.text
    assert await remind_starting_soon(dt.datetime.now(dt.timezone.utc), events=bus) == 1
    await sub.aclose()
