"""kill -9 of the communications service while the SMTP server holds a message inside DATA (the
server has the whole message, has not kept it and has not answered 250): after a restart the
message is sent again with the same Message-ID, every message is in the sink once, and the log
holds one CommunicationSent per message."""

from __future__ import annotations

import pytest

from amiable_events.communications import CommunicationSent
from tests.risk_givens import TODAY
from tests.sender_givens import REMINDER_DUE_TODAY, communications, logged, tenant
from tests.smtp_sink import Sink
from tests.support import eventually

pytestmark = pytest.mark.integration

DEBTORS = 6
HELD = 3


@pytest.fixture
def sink():
    sink = Sink().start()
    yield sink
    sink.stop()


async def test_a_kill_inside_the_smtp_transaction_resends_that_message_once_with_its_message_id(
    infra, sink, tmp_path, unique
):
    sink.hold_nth(HELD)
    smtp = {"smtp_host": sink.host, "smtp_port": str(sink.port)}
    async with (
        communications(infra, tmp_path, **smtp) as process,
        tenant(process, infra, f"crash-{unique}") as desk,
    ):
        await desk.set_profile()
        claims = {}
        for n in range(DEBTORS):
            address = f"d{n}-{unique}@debtor.example"
            history = await desk.debtor(f"D-{n}", email=address)
            claims[address] = history.claim(TODAY - REMINDER_DUE_TODAY, amount="1234.56")
            await desk.feed(history)

        # one sender sends in turn: the two before the held one are kept, the rest wait
        await eventually(lambda: sink.held_times == 1, timeout=90)
        assert len(sink.all_kept()) == HELD - 1
        process.kill()
        await eventually(lambda: sink.cut)
        assert sink.cut == [sink.held]
        process.start().wait_ready()
        await eventually(lambda: sink.held_times == 2, timeout=60)
        sink.release()
        messages = {
            address: await desk.message(claim_id, "email", ("delivered",))
            for address, claim_id in claims.items()
        }
        sent = await logged(process, CommunicationSent)

    kept = sink.all_kept()
    assert sorted(address for k in kept for address in k.rcpt_tos) == sorted(claims)
    assert len({k.message_id for k in kept}) == DEBTORS
    for address, message in messages.items():
        (mail,) = [k for k in kept if address in k.rcpt_tos]
        assert mail.message_id == message["message_id"]
        assert mail.message_id == f"<{message['communication_id']}@amiable.invalid>"
    # the cut attempt and the one after the restart carried the same Message-ID, kept once
    assert sink.data.count(sink.held) == 2
    assert [k.message_id for k in kept].count(sink.held) == 1
    for message in messages.values():
        (event,) = sent[message["communication_id"]]
        assert event.message_id == message["message_id"]
