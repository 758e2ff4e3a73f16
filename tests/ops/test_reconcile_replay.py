"""The database is the source of truth: a flushed Redis loses nothing, and a failed
submission can be replayed after a fix."""

from __future__ import annotations

import json
import time

from tests.support.gateway import Stack, redis_client
from tests.support.outcome import file_statement
from tests.support.xbrl import Statement


def test_flushed_redis_is_reconciled_from_the_database(stack_no_worker: Stack) -> None:
    stack = stack_no_worker
    client = stack.client(stack.pki.client("filer-a"))
    kenmerken = [client.submit(Statement().build(), "12345678", aanleverkenmerk=f"r{i}").kenmerk for i in range(4)]
    r = redis_client(stack)
    assert r.zcard(stack.queue_name) == 4
    r.flushdb()  # Redis restarted empty: every queued job is gone
    assert r.zcard(stack.queue_name) == 0

    stack.start_worker()  # its reconciler runs at start-up and then every 30 s
    for k in kenmerken:
        assert stack.wait_final(client, k)[-1].statuscode in ("500", "311")
    for k in kenmerken:
        stack.smtp.wait_for(k)
    time.sleep(1.5)
    assert [len(stack.smtp.for_kenmerk(k)) for k in kenmerken] == [1, 1, 1, 1]


def _register(stack: Stack, number: str, name: str) -> None:
    path = stack.data_dir / f"reg-{number}.json"
    path.write_text(
        json.dumps([{"kvk_number": number, "name": name, "legal_form": "Naamloze vennootschap", "status": "active"}])
    )
    stack.cli("register", "import", str(path))


def test_replay_after_register_fix_ends_in_500_with_a_new_mail(stack: Stack) -> None:
    client = stack.client(stack.pki.client("filer-a"))
    first = file_statement(stack, client, Statement(kvk_number="66666666"))
    assert first.final == "311" and first.foutcode == "GW-KVK-07"

    _register(stack, "66666666", "Nieuw N.V.")
    dry = stack.cli("replay", "--status", "311", "--foutcode", "GW-KVK-07", "--dry-run")
    assert first.kenmerk in dry.stdout
    assert [s.statuscode for s in client.statuses(first.kenmerk)][-1] == "311"  # dry run changed nothing

    stack.cli("replay", first.kenmerk, "--reason", "company registered late", "--actor", "dev-test")
    deadline = time.monotonic() + 60
    while (codes := [s.statuscode for s in client.statuses(first.kenmerk)])[-1] != "500":
        assert time.monotonic() < deadline, codes
        time.sleep(0.2)
    # history kept: run 1 ends in 311, run 2 goes 110 ... 500
    assert codes.count("311") == 1 and codes.index("311") < codes.index("500")
    assert codes.count("110") == 2
    mails = stack.smtp.wait_for(first.kenmerk, count=2)
    assert "aangenomen" in mails[-1].get_body(preferencelist=("plain",)).get_content()
    shown = json.loads(stack.cli("submissions", "show", first.kenmerk, "--json").stdout)
    assert shown["run"] == 2 and shown["final_status"] == "500"
    assert shown["replays"][0]["actor"] == "dev-test"
    assert shown["replays"][0]["reason"] == "company registered late"

    # Replaying again without a change: same outcome, so no third mail.
    response = stack.ops_post("/api/replay", {"kenmerk": first.kenmerk, "reason": "idempotence", "actor": "ops"})
    assert response.status_code == 200 and response.json()["replayed"] == {first.kenmerk: 3}
    deadline = time.monotonic() + 60
    while json.loads(stack.cli("submissions", "show", first.kenmerk, "--json").stdout)["state"] != "done":
        assert time.monotonic() < deadline
        time.sleep(0.3)
    time.sleep(1.5)
    assert len(stack.smtp.for_kenmerk(first.kenmerk)) == 2
