"""The Sluice code location: assembles assets, checks, sensors and resources.

Everything heavy (Great Expectations, scikit-learn) is imported inside the
functions that use it, so loading this module stays fast.
"""

from dagster import Definitions

from assets.ingest import gold_labels, raw_comments
from resources import build_resources

defs = Definitions(
    assets=[raw_comments, gold_labels],
    resources=build_resources(),
)
