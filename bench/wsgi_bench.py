"""What gunicorn serves during `bench/availability.py`: the real app, built with the benchmark
settings, plus `GET /bench/bare`, a route that returns a constant. Both run on the same app and
the same workers, so the bare route is the baseline for the availability API.

    PYTHONPATH=. BENCH_DATABASE_URL=... gunicorn -w 2 -b 127.0.0.1:8765 bench.wsgi_bench:app
"""

import gc

from bench._common import BARE_BODY, bench_config
from booking import create_app

app = create_app(bench_config())
gc.freeze()  # as wsgi.py


@app.get("/bench/bare")
def bare() -> str:
    return BARE_BODY
