"""Sleeps forever at import."""

import time

time.sleep(10_000)
