"""The listener against the machine's real Mosquitto: alarms published by a real client start
or reach the right instance, duplicates have one effect, bad payloads are dead letters that
never stop it, and messages sent while it is down arrive when it is back."""
from __future__ import annotations

import json
from collections import Counter

from sqlalchemy import select

from engine.schema import instances
from processes.schema import alarms, dead_letters, devices
from tests.integrations.mqtt_helpers import (Publisher, ThreadedListener, alarm, alarm_count,
                                             count, dead_count, new_prefix)
from tests.waiting import wait_until

PROJECT, DUST = "FS-CC-2026-001", "DUST-CC001"


def rectifications(engine) -> list:
    with engine.db.read() as conn:
        return [r.id for r in conn.execute(select(instances.c.id).where(
            instances.c.process_key == "rectification"))]


def test_an_alarm_over_mqtt_starts_a_rectification_and_a_repeat_has_no_effect(bundled):
    engine, prefix = bundled, new_prefix()
    with ThreadedListener(engine, prefix) as running:
        running.wait_subscribed()
        pub = Publisher(prefix)
        for _ in range(5):                                  # QoS 1 may deliver it again
            pub.send(PROJECT, "dust", DUST, "alarm", alarm("MQ-1"))
        pub.close()
        wait_until(lambda: running.listener.stats.committed >= 5, 30, "5 messages applied")
    assert alarm_count(engine) == 1
    (iid,) = rectifications(engine)
    with engine.db.read() as conn:
        row = conn.execute(select(alarms)).one()
        state = conn.execute(select(instances.c.business_key, instances.c.state)
                             .where(instances.c.id == iid)).one()
    assert (row.effect, row.instances, row.source) == ("started", [iid], "mqtt")
    assert tuple(state) == (PROJECT, "running")
    assert running.listener.stats.duplicates == 4


def test_telemetry_over_mqtt_updates_the_device(bundled):
    engine, prefix = bundled, new_prefix()
    with ThreadedListener(engine, prefix) as running:
        running.wait_subscribed()
        pub = Publisher(prefix)
        pub.send(PROJECT, "dust", DUST, "telemetry",
                 {"at": "2026-11-30T08:00:00+08:00", "readings": {"pm10": 88.5}})
        pub.close()
        wait_until(lambda: running.listener.stats.committed >= 1, 30, "reading applied")
    with engine.db.read() as conn:
        latest = conn.execute(select(devices.c.latest).where(devices.c.id == DUST)).scalar()
    assert latest["pm10"] == 88.5


def test_ten_thousand_malformed_payloads_are_dead_letters_and_the_listener_goes_on(bundled):
    engine, prefix = bundled, new_prefix()
    invalid = "字段校验失败"
    # each fault, and the reason (and fields) its dead letter names
    bad = [
        ("dust", DUST, "alarm", b"\xff\xfe not json", "不是有效的 JSON", ()),
        ("dust", DUST, "alarm", json.dumps(alarm("X", value="high")), invalid, ("value",)),
        ("dust", "NO-SUCH-DEVICE", "alarm", json.dumps(alarm("X")),
         "设备 NO-SUCH-DEVICE 未登记", ("device_id",)),
        ("crane", DUST, "alarm", json.dumps(alarm("X")),                # topic vs registry
         "主题中的项目或设备类型与登记不符", ("topic",)),
        ("dust", DUST, "bogus", json.dumps(alarm("X")), "未知消息类型 bogus",
         ("kind",)),
        ("dust", DUST, "telemetry", json.dumps({"at": "now", "readings": {"pm10": 1}}), invalid,
         ("at",)),
        ("dust", DUST, "alarm", json.dumps({**alarm("X"), "device_id": "OTHER"}),
         "消息中的 device_id 与主题不一致", ("device_id",)),
        ("dust", DUST, "alarm", b"[1, 2, 3]", "消息体必须是 JSON 对象",
         ()),
        ("dust", DUST, "alarm", b"x" * 70_000,
         "消息过大: 70000 字节, 上限 65536", ()),
        ("dust", DUST, "telemetry", json.dumps({"at": "2026-11-30T08:00:00Z",
                                               "readings": {"pm10": "NaN"}}), invalid,
         ("readings",)),
    ]
    n = 10_000
    with ThreadedListener(engine, prefix) as running:
        running.wait_subscribed()
        pub = Publisher(prefix)
        for i in range(n):
            device_type, device_id, kind, payload, _, _ = bad[i % len(bad)]
            pub.send(PROJECT, device_type, device_id, kind, payload)
            if i % 500 == 499:
                pub.flush()
        pub.send(PROJECT, "dust", DUST, "alarm", alarm("GOOD-1"))
        pub.close()
        wait_until(lambda: running.listener.stats.committed >= n + 1, 120,
                   "all messages applied")
        assert running.thread.is_alive()
    assert dead_count(engine) == n
    assert alarm_count(engine) == 1
    with engine.db.read() as conn:
        named = Counter((r.reason.split(": ")[0], tuple(sorted(r.errors)))
                        for r in conn.execute(select(dead_letters.c.reason, dead_letters.c.errors)))
    # each kind of fault is named for what it is, on every one of its thousand messages (the
    # reason up to its details: the parser's own words after "不是有效的 JSON: ")
    assert named == Counter({(reason.split(": ")[0], fields): n // len(bad)
                             for *_, reason, fields in bad})


def test_messages_sent_while_the_listener_is_down_arrive_when_it_is_back(bundled):
    engine, prefix = bundled, new_prefix()
    client_id = f"persist-{prefix}"
    with ThreadedListener(engine, prefix, client_id=client_id) as running:
        running.wait_subscribed()           # the session and its subscription exist
    pub = Publisher(prefix)
    for i in range(300):
        pub.send(PROJECT, "dust", DUST, "alarm", alarm(f"DOWN-{i}", level="warning"))
    pub.close()
    assert alarm_count(engine) == 0
    with ThreadedListener(engine, prefix, client_id=client_id) as running:
        wait_until(lambda: alarm_count(engine) == 300, 60, "queued messages delivered")
    assert count(engine, alarms, alarms.c.effect == "recorded") == 300
