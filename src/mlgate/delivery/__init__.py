"""Progressive delivery: rollouts that step a candidate's traffic on evidence, abort and promote by themselves.

``rollout.py`` holds the library (start, step, pause, resume, abort, promote, follow) over the state in
the registry (:mod:`mlgate.registry.rollouts`); ``analysis.py`` compares canary and stable with
always-valid confidence sequences. ``mlgate rollout`` is the thin CLI over both. ``argo.py`` writes the
configured rollout as Argo Rollouts resources for Kubernetes (``mlgate package --rollouts argo``).
"""
