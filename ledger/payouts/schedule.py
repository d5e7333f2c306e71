"""When the next scheduled payout run is (ROYALTY_PAYOUT_SCHEDULE, a cron line as Celery
beat reads it), so that a payout still in flight can say when it is looked at again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def next_run(schedule: str, now: datetime) -> datetime | None:
    """The first moment after ``now`` (UTC, to the minute) that the schedule fires; None
    when the line cannot be read or never fires within a year."""
    from celery.schedules import crontab  # the parser beat itself uses

    try:
        minute, hour, day_of_month, month, day_of_week = schedule.split()
        cron = crontab(minute, hour, day_of_week, day_of_month, month)
    except ValueError:
        return None
    start = now.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    day = start.replace(hour=0, minute=0)
    for _ in range(366 * 4):  # Celery requires day of month and day of week to match
        if (day.month in cron.month_of_year and day.day in cron.day_of_month
                and day.isoweekday() % 7 in cron.day_of_week):
            for h in sorted(cron.hour):
                for m in sorted(cron.minute):
                    moment = day.replace(hour=h, minute=m)
                    if moment >= start:
                        return moment
        day += timedelta(days=1)
    return None


def retry_note(schedule: str, now: datetime) -> str:
    """What an operator reads beside a payout in flight: when it is looked at again."""
    when = next_run(schedule, now)
    scheduled = f"{when:%Y-%m-%d %H:%M} UTC" if when else f"schedule {schedule!r}"
    return (f"next payout run ({scheduled}, or any `royalty payouts run` or "
            f"`royalty payouts reconcile` before)")
