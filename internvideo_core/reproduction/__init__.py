"""The reproduction report written after ``make run`` (see :mod:`.report`); explicit tables in :mod:`.headlines`
(headline and baseline keys per notebook), :mod:`.claims` (claim-test files per notebook) and :mod:`.paper`
(the paper's numbers and kit commands)."""
from internvideo_core.reproduction.report import summary_table, write_report

__all__ = ["write_report", "summary_table"]
