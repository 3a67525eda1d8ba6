"""The Sluice code location: assembles assets, checks, sensors and resources.

Everything heavy (Great Expectations, scikit-learn) is imported inside the
functions that use it, so loading this module stays fast.
"""

from dagster import Definitions, in_process_executor

from assets.ingest import gold_labels, raw_comments
from assets.label import label_model, lf_summary, lf_votes, weak_labels
from assets.labeling_queue import labeling_queue
from assets.score import comment_scores
from assets.train import classifier, training_set
from assets.transform import dbt_daily_models, dbt_full_models
from checks.catalog import sluice_checks
from resources import build_resources
from resources.dbt import dbt_resource
from sensors import SENSORS

defs = Definitions(
    assets=[
        raw_comments,
        gold_labels,
        dbt_daily_models,
        dbt_full_models,
        lf_votes,
        lf_summary,
        label_model,
        weak_labels,
        labeling_queue,
        training_set,
        classifier,
        comment_scores,
    ],
    asset_checks=sluice_checks(),
    resources={**build_resources(), "dbt": dbt_resource()},
    sensors=SENSORS,
    # Steps run in the run's own process: warehouse steps are serialized by the DuckDB pool
    # anyway, and a process per step costs seconds of start-up each (see README, Backfills).
    executor=in_process_executor,
)
