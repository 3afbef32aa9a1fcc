"""Test session set-up: 4 forced CPU devices (for pmap/mesh tests), set before JAX is imported."""

import os

os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4").strip()
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402  (after the flags above)
import pytest  # noqa: E402


@pytest.fixture
def count_compiles():
  """count(fn) -> (fn(), number of XLA compilations during it)."""
  events = []

  def listener(event, secs, **kwargs):
    if event == "/jax/core/compile/backend_compile_duration":
      events.append(event)
  jax.monitoring.register_event_duration_secs_listener(listener)

  def count(fn):
    before = len(events)
    out = fn()
    return out, len(events) - before
  yield count
  jax.monitoring.unregister_event_duration_listener(listener)
