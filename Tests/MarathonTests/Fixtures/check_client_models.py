#!/usr/bin/env python3
"""Checks that JSON written by Agora's Marathon API is accepted by the Python
`marathon` client (0.13.0), whose models reject unknown keys.

Usage: check_client_models.py KIND=FILE [KIND=FILE ...]

KIND is one of:
  app          {"app": {...}} (GET /v2/apps/{id}) or a bare app (versions, queue)
  apps         {"apps": [...]} (GET /v2/apps)
  task         {"task": {...}} (DELETE /v2/apps/{id}/tasks/{taskId})
  tasks        {"tasks": [...]} (GET /v2/tasks, /v2/apps/{id}/tasks)
  deployments  [...] (GET /v2/deployments)
  queue        {"queue": [...]} (GET /v2/queue)
  info         {...} (GET /v2/info)
  events       [...] event objects, or text/event-stream frames (GET /v2/events)

Besides constructing the client's models, every timestamp-valued key is checked
against the client's date formats (the client silently turns a bad date into None).
Prints one line per file and exits 1 if any file is rejected.
"""
import json
import sys

from marathon.models import MarathonApp, MarathonDeployment, MarathonInfo, MarathonQueueItem, MarathonTask
from marathon.models.events import EventFactory
from marathon.util import to_datetime

TIMESTAMP_KEYS = {
    "stagedAt", "startedAt", "timestamp", "since", "lastScalingAt", "lastConfigChangeAt",
    "firstSuccess", "lastSuccess", "lastFailure", "lastUnusedOfferAt", "lastUsedOfferAt",
}
VERSION_KEYS = {"version"}  # app and task versions are timestamps too


def check_timestamps(value, keys, path="$"):
    if isinstance(value, dict):
        for key, member in value.items():
            where = f"{path}.{key}"
            if key in keys and isinstance(member, str):
                if to_datetime(member) is None:
                    raise ValueError(f"{where}: {member!r} is not a date the client can read")
            check_timestamps(member, keys, where)
    elif isinstance(value, list):
        for index, element in enumerate(value):
            check_timestamps(element, keys, f"{path}[{index}]")


def sse_events(text):
    events = []
    for line in text.splitlines():
        if line.startswith("data:"):
            events.append(json.loads(line.split(":", 1)[1].strip()))
    return events


def check(kind, text):
    if kind == "events" and not text.lstrip().startswith("["):
        document = sse_events(text)
    else:
        document = json.loads(text)
    # /v2/info's "version" is the server's release, not a timestamp.
    check_timestamps(document, TIMESTAMP_KEYS if kind == "info" else TIMESTAMP_KEYS | VERSION_KEYS)
    if kind == "app":
        MarathonApp.from_json(document.get("app", document) if isinstance(document, dict) else document)
    elif kind == "apps":
        [MarathonApp.from_json(app) for app in document["apps"]]
    elif kind == "task":
        MarathonTask.from_json(document["task"])
    elif kind == "tasks":
        [MarathonTask.from_json(task) for task in document["tasks"]]
    elif kind == "deployments":
        [MarathonDeployment.from_json(deployment) for deployment in document]
    elif kind == "queue":
        [MarathonQueueItem.from_json(item) for item in document["queue"]]
    elif kind == "info":
        MarathonInfo.from_json(document)
    elif kind == "events":
        factory = EventFactory()
        for event in document:
            if "eventType" not in event or "timestamp" not in event:
                raise ValueError(f"event without eventType/timestamp: {event}")
            factory.process(event)
    else:
        raise ValueError(f"unknown kind {kind!r}")


def main(arguments):
    if not arguments:
        print(__doc__, file=sys.stderr)
        return 2
    failures = 0
    for argument in arguments:
        kind, _, path = argument.partition("=")
        try:
            with open(path, encoding="utf-8") as handle:
                check(kind, handle.read())
            print(f"ok {kind} {path}")
        except Exception as error:  # report every rejection, then fail
            failures += 1
            print(f"FAIL {kind} {path}: {type(error).__name__}: {error}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
