"""Writes its process id to candidate.pid in its own job folder, starts a daemon (a setsid double fork),
then never finishes importing."""

import os
import time

if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv("/bin/sleep", ["sleep", "7777.5"])
    os._exit(0)
os.wait()
with open("candidate.pid", "w") as f:
    f.write(str(os.getpid()))
while True:
    time.sleep(1)
