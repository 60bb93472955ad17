"""Helpers shared by the test modules (test modules never import each other).

- :mod:`.schedulers` — every kind of scheduler made the same way, and :class:`Outcome`;
- :mod:`.properties` — random DAGs and the engine properties against a sequential
  reference;
- :mod:`.storms` — after cancellation storms: nothing pending, no thread in an action;
- :mod:`.examples` — the ``examples/`` scripts imported as modules;
- :mod:`.isolated` — :func:`tree_env`, the environment of every test's subprocess (it
  imports this tree's rxsteps), and a snippet in its own interpreter with a hard time
  limit.
"""

from .examples import EXAMPLES, STEPS, load_example
from .isolated import run_isolated, tree_env
from .properties import Spec, build, check, conditional_dags, dags, reference
from .schedulers import SCHEDULERS, Outcome, make_scheduler
from .storms import assert_no_pending_tasks, assert_no_thread_blocked_in_an_action

__all__ = [
    "EXAMPLES",
    "SCHEDULERS",
    "STEPS",
    "Outcome",
    "Spec",
    "assert_no_pending_tasks",
    "assert_no_thread_blocked_in_an_action",
    "build",
    "check",
    "conditional_dags",
    "dags",
    "load_example",
    "make_scheduler",
    "reference",
    "run_isolated",
    "tree_env",
]
