# One process with threads: the Prometheus client's counters and process metrics stay exact without
# multiprocess mode, and the instance count (not the worker count) is what scales the service.
bind = "0.0.0.0:8000"
workers = 1
worker_class = "gthread"
threads = 8
worker_tmp_dir = "/tmp"  # nosec B108 - the container's private tmpfs; the root filesystem is read-only
timeout = 30
graceful_timeout = 20  # in-flight requests finish on SIGTERM during a redeploy
keepalive = 5
accesslog = None  # the app logs each request as JSON, with its request id
errorlog = "-"
