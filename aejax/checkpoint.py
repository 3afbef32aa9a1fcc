"""Orbax checkpoints: periodic saves, keep-N, resume from the latest."""

import pathlib

import jax
import orbax.checkpoint as ocp


class Checkpointer:
  """Thin wrapper over `ocp.CheckpointManager` for one state pytree."""

  def __init__(self, directory, keep: int = 3):
    self.directory = pathlib.Path(directory).absolute()
    self.manager = ocp.CheckpointManager(
        self.directory, options=ocp.CheckpointManagerOptions(max_to_keep=keep, create=True))

  def latest_step(self) -> int | None:
    return self.manager.latest_step()

  def save(self, step: int, state) -> None:
    """Save `state` (host-side or single-device) at `step` and wait until it is on disk."""
    self.manager.save(int(step), args=ocp.args.StandardSave(jax.device_get(state)), force=True)
    self.manager.wait_until_finished()

  def restore(self, template, step: int | None = None):
    """Restore the step (default: latest) into the structure of `template`; None if none saved."""
    step = self.latest_step() if step is None else step
    if step is None:
      return None
    return self.manager.restore(step, args=ocp.args.StandardRestore(jax.device_get(template)))

  def close(self):
    self.manager.close()
