"""Continuity tables: trade ids (step 1) and kline open times (step = interval)."""

from __future__ import annotations

import pytest

from adapters.exchanges.binance.gaps import Gap, SequenceTracker, Verdict

A, D, L, M = Verdict.ACCEPT, Verdict.DUPLICATE, Verdict.OUT_OF_ORDER, Verdict.MISALIGNED  # L: late


@pytest.mark.parametrize("keys, verdicts, gaps", [
    # contiguous ids
    ([1, 2, 3, 4], [A, A, A, A], []),
    # a jump opens the gap of exactly the skipped ids
    ([1, 2, 6, 7], [A, A, A, A], [Gap(3, 5)]),
    ([10, 12], [A, A], [Gap(11, 11)]),
    # a repeated id is a duplicate, however late
    ([1, 2, 2, 3, 1], [A, A, D, A, D], []),
    # a swapped pair: the later id first (gap of one), then the earlier one arrives late
    ([1, 3, 2, 4], [A, A, L, A], [Gap(2, 2)]),
    # a late id inside an older gap is out of order; a second copy of it too
    ([1, 5, 6, 3, 3, 7], [A, A, A, L, L, A], [Gap(2, 4)]),
    # two gaps
    ([1, 3, 4, 8], [A, A, A, A], [Gap(2, 2), Gap(5, 7)]),
    # the first key only anchors the sequence: nothing before it is missing
    ([100, 101], [A, A], []),
])
def test_trade_id_continuity(keys: list[int], verdicts: list[Verdict], gaps: list[Gap]) -> None:
    tracker = SequenceTracker()
    observations = [tracker.observe(k) for k in keys]
    assert [o.verdict for o in observations] == verdicts
    assert [o.gap for o in observations if o.gap is not None] == gaps
    assert tracker.missing() == gaps


MINUTE = 60_000_000_000


@pytest.mark.parametrize("minutes, verdicts, gap", [
    ([0, 1, 2], [A, A, A], None),
    ([0, 1, 4], [A, A, A], Gap(2 * MINUTE, 3 * MINUTE, MINUTE)),
    ([0, 1, 1], [A, A, D], None),
    ([0, 2, 1], [A, A, L], Gap(MINUTE, MINUTE, MINUTE)),
])
def test_kline_open_time_continuity(minutes: list[int], verdicts: list[Verdict],
                                    gap: Gap | None) -> None:
    tracker = SequenceTracker(step=MINUTE)
    observations = [tracker.observe(m * MINUTE) for m in minutes]
    assert [o.verdict for o in observations] == verdicts
    assert next((o.gap for o in observations if o.gap), None) == gap


def test_open_times_off_the_interval_grid_are_misaligned() -> None:
    tracker = SequenceTracker(step=MINUTE)
    tracker.observe(0)
    assert tracker.observe(MINUTE + 1).verdict is M
    assert tracker.observe(-30_000_000_000).verdict is M
    assert tracker.observe(MINUTE).verdict is A  # the stream goes on


@pytest.mark.parametrize("fills, recovered, left", [
    ([3, 4, 5, 6, 7], [True] * 5, []),                        # all, in order
    ([3, 4], [True, True], [Gap(5, 7)]),                      # a prefix
    ([7], [True], [Gap(3, 6)]),                               # the end
    ([5], [True], [Gap(3, 4), Gap(6, 7)]),                    # the middle splits the hole
    ([5, 5, 9, 2], [True, False, False, False], [Gap(3, 4), Gap(6, 7)]),  # repeats, outside
])
def test_backfill_fills_holes(fills: list[int], recovered: list[bool], left: list[Gap]) -> None:
    tracker = SequenceTracker()
    tracker.observe(2)
    gap = tracker.observe(8).gap
    assert gap == Gap(3, 7)
    assert [tracker.fill(k) for k in fills] == recovered
    assert tracker.missing(within=gap) == left


def test_a_late_id_after_its_backfill_still_counts_as_out_of_order() -> None:
    tracker = SequenceTracker()
    for key in (1, 3):
        tracker.observe(key)
    assert tracker.fill(2)
    assert tracker.observe(2).verdict is L


def test_resume_after_a_stored_id_reveals_the_gap_since() -> None:
    tracker = SequenceTracker()
    tracker.resume_after(1_000)
    assert tracker.observe(1_004).gap == Gap(1_001, 1_003)
    with pytest.raises(ValueError):
        tracker.resume_after(5)


def test_memory_is_bounded() -> None:
    tracker = SequenceTracker(max_gaps=3)
    for key in range(0, 40, 2):  # 19 gaps of one id each
        tracker.observe(key)
    assert tracker.missing() == [Gap(33, 33), Gap(35, 35), Gap(37, 37)]


@pytest.mark.parametrize("first, last, step", [(5, 4, 1), (0, 5, 2), (0, 4, 0)])
def test_gap_shape_is_validated(first: int, last: int, step: int) -> None:
    with pytest.raises(ValueError):
        Gap(first, last, step)


def test_gap_count_and_membership() -> None:
    gap = Gap(2 * MINUTE, 4 * MINUTE, MINUTE)
    assert gap.count == 3
    assert 3 * MINUTE in gap and 3 * MINUTE + 1 not in gap and 5 * MINUTE not in gap
