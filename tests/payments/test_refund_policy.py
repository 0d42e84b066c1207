"""The clinic edits its cancellation policy; patients see it, the engine applies it."""

from __future__ import annotations

from datetime import timedelta

from booking.core.types import utcnow
from booking.payments import policy
from tests.conftest import post_form

DEFAULT = policy.DEFAULT


def test_default_policy_shares_by_notice():
    start = utcnow() + timedelta(days=30)
    assert policy.share(DEFAULT, start, start - timedelta(days=7)) == 100
    assert policy.share(DEFAULT, start, start - timedelta(days=3)) == 50
    assert policy.share(DEFAULT, start, start - timedelta(hours=48)) == 50
    assert policy.share(DEFAULT, start, start - timedelta(hours=47, minutes=59)) == 0
    assert policy.share(DEFAULT, start, start + timedelta(hours=1)) == 0
    assert policy.refund_amount(4350, 50) == 2175 and policy.refund_amount(6525, 50) == 3262


def _form(windows: list[tuple[str, str, str]], later: str) -> dict:
    data = {"later": later}
    for i, (notice, unit, percent) in enumerate(windows):
        data[f"windows-{i}-notice"] = notice
        data[f"windows-{i}-unit"] = unit
        data[f"windows-{i}-percent"] = percent
    return data


def test_coordinator_sets_the_policy_and_patients_see_it(app, demo, as_role):
    coordinator = as_role("coordinator")
    page = coordinator.get("/coordinator/refund-policy").get_data(as_text=True)
    assert "7 days or more before: the deposit in full" in page
    saved = post_form(coordinator, "/coordinator/refund-policy",
                      _form([("14", "days", "100"), ("72", "hours", "25")], "0"))
    assert saved.status_code == 302
    page = coordinator.get("/coordinator/refund-policy").get_data(as_text=True)
    assert "14 days or more before: the deposit in full" in page
    assert "3 days to 14 days before: 25 % of the deposit" in page
    assert "Less than 3 days before: no refund" in page
    other = as_role("other_coordinator").get("/coordinator/refund-policy").get_data(as_text=True)
    assert "7 days or more before" in other  # another clinic keeps its own


def test_a_policy_that_gives_less_for_more_notice_is_refused_and_kept(app, demo, as_role):
    coordinator = as_role("coordinator")
    answer = post_form(coordinator, "/coordinator/refund-policy",
                       _form([("7", "days", "20"), ("2", "days", "80")], "0"))
    assert answer.status_code == 422
    body = answer.get_data(as_text=True)
    assert "never give back less" in body and 'value="80"' in body  # what was typed stays
    for bad in (_form([("7", "days", "101")], "0"), _form([("x", "days", "5")], "0"),
                _form([], ""), _form([("7", "days", "50"), ("168", "hours", "40")], "0")):
        assert post_form(coordinator, "/coordinator/refund-policy", bad).status_code == 422
    assert "7 days or more before: the deposit in full" in coordinator.get(
        "/coordinator/refund-policy").get_data(as_text=True)


def test_two_coordinators_saving_the_policy_at_once_both_succeed_one_after_the_other(
        app, demo, as_role):
    import threading

    from tests.conftest import csrf_token

    clients = [as_role("coordinator"), as_role("coordinator")]
    tokens = [csrf_token(c, "/coordinator/refund-policy") for c in clients]
    barrier, answers = threading.Barrier(2), []

    def save(client, token, percent):  # noqa: ANN001
        barrier.wait()
        answers.append(client.post("/coordinator/refund-policy", data={
            **_form([("10", "days", "100"), ("3", "days", percent)], "0"),
            "csrf_token": token}).status_code)

    threads = [threading.Thread(target=save, args=(c, t, p))
               for c, t, p in zip(clients, tokens, ("40", "60"), strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [302, 302]
    page = clients[0].get("/coordinator/refund-policy").get_data(as_text=True)
    assert "10 days or more before: the deposit in full" in page
    assert ("3 days to 10 days before: 40 %" in page) != ("3 days to 10 days before: 60 %" in page)
