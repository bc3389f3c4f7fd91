"""Gymnasium environments of packages built on the library, registered when gymnasium loads.

Gymnasium 0.26-0.29 called the functions of the entry-point group ``gymnasium.envs`` on import;
1.0 removed that plugin system, so ``gym.make("stepsize/ThreeBody-v0")`` finds the environment
only once the module that registers it has run.  The packages built on the library name their
registering function in the entry-point group ``stepsize.envs`` (the ``envs`` package does in
pyproject.toml, so the library never imports it), and ``import stepsize`` calls them:

- at once, if gymnasium is already imported;
- otherwise right after gymnasium's own module has run, through a one-shot finder on
  ``sys.meta_path`` that wraps gymnasium's loader (``exec_module`` first, then the
  registrations) and removes itself.

The finder costs 0.6 ms of ``import stepsize``; importing gymnasium from ``stepsize/__init__``
instead would take ``python -c "import stepsize"`` from ~78 ms to ~340 ms (median of 9, load
2.7) in every program that never makes an environment.
"""

import importlib.util
import sys
import warnings

GROUP = "stepsize.envs"  # entry-point group: name -> a function that registers environments


def register_environments():
    """Call every registering function of the group (each skips the ids already registered).

    A plugin that fails is reported as a warning naming it, so ``import gymnasium`` still works.
    """
    from importlib.metadata import entry_points

    for plugin in sorted(entry_points(group=GROUP), key=lambda ep: ep.name):
        try:
            plugin.load()()
        except Exception as exc:  # a broken plugin must not break gymnasium's import
            warnings.warn(
                f"stepsize: registering the Gymnasium environments of entry point "
                f"{plugin.name!r} ({plugin.value}) failed: {exc!r}",
                RuntimeWarning,
                stacklevel=2,
            )


class _AfterGymnasium:
    """A ``sys.meta_path`` finder that only decorates gymnasium's loader, once."""

    def find_spec(self, name, path=None, target=None):
        if name != "gymnasium":
            return None
        self.remove()
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        run_module = spec.loader.exec_module

        def exec_module(module):
            run_module(module)
            register_environments()

        spec.loader.exec_module = exec_module  # this spec's own loader instance only
        return spec

    def remove(self):
        if self in sys.meta_path:
            sys.meta_path.remove(self)


def register_when_gymnasium_loads():
    """Register the plugins' environments now if gymnasium is loaded, else once it is."""
    if "gymnasium" in sys.modules:
        register_environments()
    elif not any(isinstance(f, _AfterGymnasium) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterGymnasium())
