"""Starts a daemon (double fork, new session) that should outlive the evaluation: `sleep 7777.25`."""

if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv("/bin/sleep", ["sleep", "7777.25"])
    os._exit(0)
os.wait()


class ModelNew(Honest):
    def forward(self, x, y):
        return honest(self.weight, x, y)
