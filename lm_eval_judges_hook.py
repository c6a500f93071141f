"""Start-up hook of lm-eval-judges (loaded by ``lm_eval_judges.pth`` at interpreter start).

lm-eval 0.4.13 reads no plugin entry points, so this module watches for the harness's own modules to be
imported and then registers this package with them (see ``judge_tasks.registration``):

* ``lm_eval.models``         -> our model names, beside the built-in ones (``phudge``, ``judgelm``, ``pandalm``, ``prometheus``, ``replay``)
* ``lm_eval.tasks.manager``  -> our task folder is scanned by every ``TaskManager`` (no ``--include_path``)
* ``lm_eval.evaluator_utils`` -> our corpus-level metrics get bootstrap standard errors

Nothing is imported until the harness itself is, so a bare interpreter pays only for this file
(``benchmarks/startup_hook.py`` measures it).
"""
import sys

_WATCHED = ("lm_eval.models", "lm_eval.tasks.manager", "lm_eval.evaluator_utils")


class _HookedLoader:
    def __init__(self, loader, name):
        self._loader, self._name = loader, name

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        from judge_tasks import registration

        registration.after_import(self._name, module)

    def __getattr__(self, attr):
        return getattr(self._loader, attr)


class _Finder:
    def find_spec(self, name, path=None, target=None):
        if name not in _WATCHED:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _HookedLoader(spec.loader, name)
                return spec
        return None


if not any(type(f).__name__ == "_Finder" and type(f).__module__ == __name__ for f in sys.meta_path):
    sys.meta_path.insert(0, _Finder())
