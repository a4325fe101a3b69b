"""Writes its process id to PIDFILE (the test fills it in), then never finishes importing."""

import os
import time

PIDFILE = "/nonexistent/pid"

with open(PIDFILE, "w") as f:
    f.write(str(os.getpid()))
while True:
    time.sleep(1)
