import cProfile, pstats, time, uuid, resource
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from payments.services import payment_submit

pytestmark = pytest.mark.django_db(transaction=True)

def test_prof(client_for, alice, bob, acme_eur):
    ids = [payment_submit(actor=alice, debtor_account_id=acme_eur.id, amount=100+n, currency="EUR",
             creditor_name="C", creditor_iban="DE89370400440532013000", reference=f"r{n}").id for n in range(600)]
    c = client_for(bob)
    def approve(pid):
        r = c.post(f"/api/v1/payments/{pid}/approve", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
        assert r.status_code == 200, r.content
    for pid in ids[:100]: approve(pid)
    with CaptureQueriesContext(connection) as q:
        approve(ids[100])
    for x in q.captured_queries: print(x["sql"][:150])
    t0 = time.process_time()
    for pid in ids[101:351]: approve(pid)
    print("cpu ms per approve", (time.process_time()-t0)/250*1000)
    pr = cProfile.Profile(time.process_time); pr.enable()
    for pid in ids[351:600]: approve(pid)
    pr.disable()
    st = pstats.Stats(pr); st.sort_stats("cumulative").print_stats(90); st.sort_stats("tottime").print_stats(40)
