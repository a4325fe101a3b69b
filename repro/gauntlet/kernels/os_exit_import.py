"""Leaves the process with status 0 while being imported, skipping all cleanup."""

import os

os._exit(0)
