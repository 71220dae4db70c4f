"""Run the book's notebooks with papermill, per profile, cached; build the Jupyter Book.

Profiles (``profiles.yaml``) say which notebook runs with which parameters;
:func:`plan_profile` expands a profile's training grid into executions;
:func:`run_executions` runs them with a content cache; :func:`build_book` adds the
Jupyter Book build and its checks.
"""

from hybridlib.runner.book import BookError, build_book, check_book, install_mathjax
from hybridlib.runner.execute import NotebookFailure, ParameterError, run_executions
from hybridlib.runner.plan import Execution, grid_systems, plan_profile
from hybridlib.runner.profiles import Profile, ProfileError, load_profile, load_profiles

__all__ = [
    "BookError",
    "Execution",
    "NotebookFailure",
    "ParameterError",
    "Profile",
    "ProfileError",
    "build_book",
    "check_book",
    "install_mathjax",
    "load_profile",
    "load_profiles",
    "plan_profile",
    "run_executions",
    "grid_systems",
]
