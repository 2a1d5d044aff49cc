"""kumo's gym as a plugin (entry point ``kumo.plugins``): registers the ``kumo gym`` command group through
the public hook. Importing it needs no gymnasium; the commands import it when they run."""

from kumo.api import register_command

register_command("gym", "kumo.gym.cli:gym_app", help="Gymnasium environments: the baseline table.")
