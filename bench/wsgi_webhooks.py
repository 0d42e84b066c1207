"""What gunicorn serves during `bench/webhooks.py`: the real app with the benchmark settings, a
webhook signing secret, emails left to the worker (queued, not sent inline), and `/bench/bare`
(GET and POST, a constant) as the baseline on the same workers.

    PYTHONPATH=. BENCH_DATABASE_URL=... gunicorn -w 2 -b 127.0.0.1:8765 bench.wsgi_webhooks:app
"""

from bench._common import BARE_BODY, bench_config
from booking import create_app
from booking.extensions import csrf

SECRET = "whsec_bench_only"

config = bench_config()
config = type("WebhookBenchConfig", (config,), {
    "STRIPE_WEBHOOK_SECRET": SECRET,
    # As in production the outbox is the worker's: the webhook only queues rows.
    "CELERY": {**config.CELERY, "task_always_eager": False},
})
app = create_app(config)


@app.route("/bench/bare", methods=["GET", "POST"])
@csrf.exempt
def bare() -> str:
    return BARE_BODY
