"""gunicorn settings for production: `gunicorn -c gunicorn.conf.py wsgi:app`."""
import multiprocessing
import os

# Every worker runs several threads and there are more workers than cores: numpy's BLAS must not
# start a thread pool of its own per process (on 2 cores a busy worker's matrix products then wait
# for descheduled BLAS threads, 3-10x slower; benchmarks/README.md). Workers import numpy after
# this file has run, so the defaults reach them; an operator's own value wins.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# (2 x cores) + 1 sync workers is gunicorn's own rule of thumb; each worker also runs 4 threads
# so that slow clients on uneven networks do not hold a whole process.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", 4))
worker_class = "gthread"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 60))
graceful_timeout = 30
# Seconds an idle keep-alive connection stays open. Behind a load balancer the default is fine;
# when gunicorn faces browsers directly, raise it above the think time between two saves.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", 5))
max_requests = 5000  # recycle workers now and then
max_requests_jitter = 500
accesslog = "-"
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
