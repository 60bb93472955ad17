"""StepEvent: a frozen record, however it is built (rxsteps.events)."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from rxsteps import EventKind, StepEvent


def test_an_event_is_frozen_and_compares_by_its_fields() -> None:
    event = StepEvent(EventKind.EMITTED, "a", 3, attempt=2, time=1.5, index=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.value = 4  # type: ignore[misc]
    assert event == StepEvent(EventKind.EMITTED, "a", value=3, attempt=2, time=1.5, index=1)
    assert hash(event) == hash(dataclasses.replace(event))
    assert (event.error, event.reason, event.delay) == (None, None, None)


def test_replace_and_pickle_keep_every_field() -> None:
    event = StepEvent(EventKind.RETRYING, "a", error=ValueError("x"), delay=0.5)
    flagged = dataclasses.replace(event, reason="cached")
    assert (flagged.kind, flagged.step, flagged.delay, flagged.reason) == (
        EventKind.RETRYING, "a", 0.5, "cached")
    again = pickle.loads(pickle.dumps(flagged))
    assert [getattr(again, f.name) is not None for f in dataclasses.fields(StepEvent)] == [
        getattr(flagged, f.name) is not None for f in dataclasses.fields(StepEvent)]
    assert dataclasses.asdict(StepEvent(EventKind.STARTED, "b"))["attempt"] == 1
