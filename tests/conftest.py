"""Shared test setup: quiet TensorFlow, one thread pool per test process (2 cores in CI)."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
