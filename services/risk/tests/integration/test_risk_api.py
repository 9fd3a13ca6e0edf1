"""The risk service on the real stack: a risk process on a topic of the module's own, fed the
claims events the claims service would write (tests.risk_givens), and driven through its API.
The service's clock is frozen at ``TODAY``; every date is computed from it."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from tests.risk_givens import TODAY, History
from tests.support import (
    auth,
    eventually,
    rebuild_gives_live_digest,
    service_on_own_topic,
)

pytestmark = pytest.mark.integration

RISK = ("risk:read", "risk:write")


@pytest.fixture(scope="module")
async def risk(infra, tmp_path_factory):
    """A risk process on a topic, a schema and a consumer group of the module's own."""
    async with service_on_own_topic(
        infra, "risk", tmp_path_factory.mktemp("risk"), clock=TODAY
    ) as process:
        yield process


async def risk_of(api: httpx.AsyncClient, tenant: str, debtor: str, ready=lambda body: True):
    """The debtor's risk once risk has it and ``ready(body)`` holds."""

    async def check():
        answer = await api.get(f"/v1/debtors/{debtor}/risk", headers=auth(tenant, *RISK))
        return answer.json() if answer.status_code == 200 and ready(answer.json()) else None

    return await eventually(check, timeout=30)


async def history_of(api: httpx.AsyncClient, tenant: str, debtor: str, count: int) -> list[dict]:
    async def check():
        answer = await api.get(f"/v1/debtors/{debtor}/risk/history", headers=auth(tenant, *RISK))
        items = answer.json()["items"] if answer.status_code == 200 else []
        return items if len(items) >= count else None

    return await eventually(check, timeout=30)


async def test_score_segment_and_reasons_follow_the_claims_and_their_payments(risk, unique):
    tenant, debtor = f"t-{unique}", "D-1"
    history = History(tenant, debtor)
    claim_id = history.claim(TODAY - timedelta(days=75), registered_on=TODAY)  # due 45 days ago
    await risk.log.append(history.envelopes)
    async with httpx.AsyncClient(base_url=risk.url, timeout=15) as api:
        first = await risk_of(api, tenant, debtor)
        assert first["features"]["open_count"] == 1
        assert first["features"]["oldest_days_past_due"] == 45
        assert first["features"]["open_balance"] == {"EUR": "1000.00"}
        assert "overdue_31_to_60_days" in [reason["code"] for reason in first["reasons"]]
        assert first["scorecard_version"] == "2026.12-1"
        [assessed] = await history_of(api, tenant, debtor, 1)
        assert assessed["trigger"] == "claim_qualified"
        assert assessed["claim_id"] == str(claim_id)
        assert assessed["score"] == first["score"]

        before = len(history.envelopes)
        history.settle(claim_id, TODAY)
        await risk.log.append(history.envelopes[before:])
        paid = await risk_of(api, tenant, debtor, lambda body: body["features"]["open_count"] == 0)
        assert paid["features"]["days_late"] == [45]
        assert paid["features"]["oldest_days_past_due"] == 0
        assert paid["score"] != first["score"]
        codes = [reason["code"] for reason in paid["reasons"]]
        assert "pays_over_30_days_late" in codes and "overdue_31_to_60_days" not in codes
        # the change of band published a new assessment, caused by the settlement
        latest = (await history_of(api, tenant, debtor, 2))[0]
        assert latest["trigger"] == "account_changed"
        assert latest["score"] == paid["score"]


async def test_ageing_alone_re_scores_through_a_review_timer_on_a_business_day(risk, unique):
    """A claim registered 20 days before today and due 10 days later: on its first day past
    due (a business day in France) the review timer publishes the assessment time brought."""
    tenant, debtor = f"t-{unique}", "D-ageing"
    history = History(tenant, debtor)
    history.claim(TODAY - timedelta(days=20), terms=10)
    await risk.log.append(history.envelopes)
    async with httpx.AsyncClient(base_url=risk.url, timeout=15) as api:
        latest, first = await history_of(api, tenant, debtor, 2)
        assert first["trigger"] == "claim_qualified"
        assert latest["trigger"] == "time_passed"
        assert latest["as_of"] > first["as_of"]
        assert "overdue_up_to_30_days" in [reason["code"] for reason in latest["reasons"]]
        now = await risk_of(api, tenant, debtor, lambda body: body["as_of"] == latest["as_of"])
        assert now["features"]["oldest_days_past_due"] >= 1
        assert now["score"] == latest["score"]


async def test_a_credit_limit_below_the_open_balance_raises_an_alert_once(risk, unique):
    tenant, debtor = f"t-{unique}", "D-limit"
    history = History(tenant, debtor)
    for _ in range(2):
        history.claim(TODAY - timedelta(days=40), amount="600.00", registered_on=TODAY)
    await risk.log.append(history.envelopes)
    async with httpx.AsyncClient(base_url=risk.url, timeout=15) as risk_api:
        await risk_of(risk_api, tenant, debtor, lambda body: body["features"]["open_count"] == 2)
        headers = auth(tenant, *RISK)
        limit = {"amount": "1000.00", "currency": "EUR"}
        answer = await risk_api.put(
            f"/v1/debtors/{debtor}/credit-limit", json=limit, headers=headers
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["credit_limit"] == limit
        assert "exposure_above_limit" in answer.json()["active_signals"]

        async def alerts():
            page = await risk_api.get(
                "/v1/risk/alerts", params={"signal": "exposure_above_limit"}, headers=headers
            )
            return page.json()["items"] or None

        [alert] = await eventually(alerts)
        assert alert["debtor_id"] == debtor
        assert alert["evidence"] == {
            "open_balance": "1200.00",
            "credit_limit": "1000.00",
            "currency": "EUR",
        }
        # the same limit again is a replay, and raises nothing more
        again = await risk_api.put(
            f"/v1/debtors/{debtor}/credit-limit", json=limit, headers=headers
        )
        assert again.headers.get("Idempotent-Replayed") == "true"
        assert len(await alerts()) == 1
        # another tenant sees neither the debtor nor its alerts
        other = auth(f"other-{unique}", *RISK)
        assert (await risk_api.get(f"/v1/debtors/{debtor}/risk", headers=other)).status_code == 404
        listed = await risk_api.get("/v1/risk/alerts", headers=other)
        assert listed.json()["items"] == []


async def test_disputes_on_the_log_make_a_systematic_disputer_and_raise_dispute_frequency(
    risk, unique
):
    """The disputes service's events on the shared log: three of four recent claims disputed,
    and a hardship declared on the fourth."""
    tenant, debtor = f"t-{unique}", "D-disputes"
    history = History(tenant, debtor)
    claims = [history.claim(TODAY - timedelta(days=40 - n)) for n in range(4)]
    for claim_id in claims[:3]:
        history.disputed(claim_id, TODAY - timedelta(days=2))
    history.hardship(claims[3], TODAY - timedelta(days=1))
    await risk.log.append(history.envelopes)
    headers = auth(tenant, *RISK)
    async with httpx.AsyncClient(base_url=risk.url, timeout=15) as api:
        body = await risk_of(
            api, tenant, debtor, lambda body: body["features"]["hardships_365"] == 1
        )
        assert body["segment"] == "systematic_disputer"
        features = body["features"]
        assert (features["disputes_90"], features["disputes_365"]) == (3, 3)
        assert (features["disputed_recent"], features["recent_claims"]) == (3, 4)
        assert "dispute_frequency" in body["active_signals"]

        async def alerts():
            page = await api.get(
                "/v1/risk/alerts",
                params={"debtor_id": debtor, "signal": "dispute_frequency"},
                headers=headers,
            )
            return page.json()["items"] or None

        # the alert is a RiskAlertRaised event risk writes, then folds when it reads it back:
        # it may land after the account's state does
        [alert] = await eventually(alerts)
        assert alert["evidence"]["disputes_90_days"] == 3
        latest = (await history_of(api, tenant, debtor, 1))[0]
        assert (latest["segment"], latest["trigger"]) == ("systematic_disputer", "account_changed")


async def test_insolvency_puts_the_debtor_in_its_segment_and_overrides_wait(risk, unique):
    tenant, today = f"t-{unique}", TODAY
    headers = auth(tenant, *RISK)
    async with httpx.AsyncClient(base_url=risk.url, timeout=15) as risk_api:
        # a debtor risk has not seen yet can be recorded in proceedings
        proceeding = {
            "kind": "receivership",
            "opened_on": str(today - timedelta(days=3)),
            "reference": "TC Paris 2026R01234",
        }
        answer = await risk_api.post(
            "/v1/debtors/D-ins/insolvency", json=proceeding, headers=headers
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["segment"] == "insolvency" and body["proceeding"] == proceeding
        refused = await risk_api.post(
            "/v1/debtors/D-ins/segment-override",
            json={"segment": "reliable", "reason": "call with the CFO"},
            headers=headers,
        )
        assert refused.status_code == 409
        future = {**proceeding, "opened_on": str(today + timedelta(days=2))}
        answer = await risk_api.post("/v1/debtors/D-ins/insolvency", json=future, headers=headers)
        assert answer.status_code == 422
        assert "opened_on" in answer.text

        answer = await risk_api.post(
            "/v1/debtors/D-ovr/segment-override",
            json={
                "segment": "loyal_temporary_difficulty",
                "reason": "Mme Martin explained a one-off cash squeeze",
                "until": str(today + timedelta(days=30)),
            },
            headers=headers,
        )
        assert answer.status_code == 200, answer.text
        override = answer.json()["override"]
        assert override["reason"] == "Mme Martin explained a one-off cash squeeze"
        assert answer.json()["segment"] == "loyal_temporary_difficulty"
        insolvency = await risk_api.post(
            "/v1/debtors/D-ovr/segment-override",
            json={"segment": "insolvency", "reason": "x"},
            headers=headers,
        )
        assert insolvency.status_code == 422
        reader = auth(tenant, "risk:read")
        forbidden = await risk_api.post(
            "/v1/debtors/D-ovr/insolvency", json=proceeding, headers=reader
        )
        assert forbidden.status_code == 403

        mix = (await risk_api.get("/v1/risk/portfolio", headers=headers)).json()
        segments = {line["segment"]: line["debtors"] for line in mix["by_segment"]}
        assert segments["insolvency"] == 1 and segments["loyal_temporary_difficulty"] == 1


async def test_amiable_rebuild_gives_the_live_risk_digest(risk):
    live = await rebuild_gives_live_digest(risk)
    assert live["tables"]["risk_accounts"]["rows"] > 0
