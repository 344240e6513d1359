"""Reports of experiment runs: Table-1 tables beside the study's numbers, findings, figures, an episode viewer.

* ``build_report(run_dirs, out)``: ``report.md``, ``report.html`` (self-contained), ``report.json``, ``figures/``
* ``study_numbers``: the study's published success rates, asked of each task (``Task.study``; †: transcribed,
  re-check against the paper)
* ``findings``: the study's five findings as PASS / FAIL / NOT RUN checks, every threshold listed by
  ``thresholds()``
"""

from sftgen.report.build import Report, build_report

__all__ = ["Report", "build_report"]
