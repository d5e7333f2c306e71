"""Every task the project defines goes to a queue that is declared explicitly."""

from __future__ import annotations

from workers import app


def test_every_task_has_a_declared_queue() -> None:
    app.loader.import_default_modules()
    declared = {q.name for q in app.conf.task_queues}
    ours = [name for name in app.tasks if name.startswith("royalty.")]
    assert {"royalty.reevaluate", "royalty.payouts.run"} <= set(ours)
    for name in ours:
        route = app.amqp.router.route({}, name)
        assert route["queue"].name in declared, name
    scheduled = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert scheduled <= set(ours)


def test_tasks_acknowledge_late_and_keep_no_results() -> None:
    app.loader.import_default_modules()
    for name in (n for n in app.tasks if n.startswith("royalty.")):
        task = app.tasks[name]
        assert task.acks_late and task.ignore_result, name
