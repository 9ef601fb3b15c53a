"""CI integration: generated workflows, ``mlgate ci`` for pull requests, one report, one pull-request comment.

Modules: ``workflows`` (GitHub Actions and GitLab CI files that ``mlgate init --ci`` writes), ``run`` (the
pull-request steps, run in order and past failures), ``report`` (the one Markdown report) and ``comment``
(create or update one pull-request comment through the GitHub REST API).
"""

from __future__ import annotations
