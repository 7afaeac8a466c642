"""The report: one self-contained HTML file (plus PNGs) with the figures of the seed paper.

``build_report(stores, out_dir)`` reads the project's stores (``gather``), draws the figures
(``figures``), lays out the sections (``sections``) and writes the HTML (``html_writer``).
"""

from superionic.report.build import ReportError, build_report
from superionic.report.gather import ReportData, gather, summary_rows

__all__ = ["ReportData", "ReportError", "build_report", "gather", "summary_rows"]
