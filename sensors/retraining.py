"""`retraining_sensor`: refresh the label model and the classifier when the data calls for it.

Triggers, counted since the latest `classifier` materialization (the model in use):

- enough new days of LF votes: `lf_votes` materialized for at least
  `SLUICE_RETRAIN_MIN_NEW_DAYS` (default 1) distinct partitions, a re-run old day
  included (a late file changed it); on an instance without a classifier, every day
  counts, so the first model trains itself;
- a failed drift check: an asset check whose name contains `drift`, on
  `comment_features`, `lf_votes` or `comment_scores`, failed with severity ERROR.
  Other failing checks are not triggers: retraining on data that failed its
  expectations would learn the defect.

Brakes: no request within `SLUICE_RETRAIN_MIN_INTERVAL_SECONDS` (default 3600) of the
last training, nor while any run is queued or in progress (DuckDB allows one process
to open the warehouse file while another writes it, and the retraining steps that only
read it are outside the writers' pool). The run key names the state that triggered it
(last classifier, newest votes, newest drift failure), so one state is requested once;
a failed retraining is requested again only when new data or drift arrives. Both limits
are `Settings` fields (`retrain_min_new_days`, `retrain_min_interval_seconds`), read on
every tick.

Why a sensor rather than `AutomationCondition` on the models: those assets are
unpartitioned children of daily parents. `eager()` waits until no parent partition is
missing, which with years of empty days before the data never holds, and a condition
cannot count "N new partitions since the model" or read check severity without custom
operands; a sensor states the rule in plain code and shows its reason on every tick.
"""

import datetime as dt
import time
from collections.abc import Iterable
from dataclasses import dataclass

from dagster import (
    AssetCheckKey,
    AssetCheckSeverity,
    AssetKey,
    AssetRecordsFilter,
    AssetSelection,
    DagsterInstance,
    DagsterRunStatus,
    DefaultSensorStatus,
    EventLogRecord,
    RunRequest,
    RunsFilter,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from orchestration import SENSOR_INTERVAL_SECONDS
from resources.instance import check_executions, latest_materialization, materializations
from settings import Settings

LF_VOTES = AssetKey("lf_votes")
CLASSIFIER = AssetKey("classifier")
DRIFT_WATCHED = frozenset(AssetKey(k) for k in ("comment_features", "lf_votes", "comment_scores"))
DRIFT_MARKER = "drift"

# gold_labels (cheap) so the models are judged on the current labels/*.csv, then every
# unpartitioned asset fed by the votes: label_model, lf_summary, weak_labels,
# training_set, classifier. Daily assets (scores) are not re-run: new days use the new
# champion as they come.
RETRAIN_ASSETS = AssetSelection.assets("gold_labels") | (
    AssetSelection.assets(LF_VOTES).downstream(include_self=False)
    - AssetSelection.from_string('partitions:"time"')
)
# One process, steps in order: the chain is sequential anyway, each step skips a
# ~10 s import of the code location, and a step reading the warehouse never overlaps
# a step writing it.
IN_PROCESS = {"execution": {"config": {"in_process": {}}}}
_IN_FLIGHT = [
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
    DagsterRunStatus.CANCELING,
]
ERROR = AssetCheckSeverity.ERROR


@dataclass(frozen=True)
class Evidence:
    """What changed since the model in use was trained."""

    trained: EventLogRecord | None
    new_days: frozenset[str]
    newest_votes: int
    drift: tuple[str, ...]
    newest_drift: int

    @property
    def state(self) -> str:
        """A run key naming this state: the same state is never requested twice."""
        trained = self.trained.storage_id if self.trained else 0
        return f"retrain:{trained}:{self.newest_votes}:{self.newest_drift}"

    def triggers(self, min_new_days: int) -> list[str]:
        """Why to retrain, one reason per trigger; none: not yet."""
        found = []
        if len(self.new_days) >= min_new_days:
            days = sorted(self.new_days)
            span = days[0] if len(days) == 1 else f"{days[0]}..{days[-1]}"
            found.append(f"{len(days)} new day(s) of LF votes ({span})")
        if self.drift:
            more = f" (+{len(self.drift) - 3} more)" if len(self.drift) > 3 else ""
            found.append(f"failed drift check(s): {', '.join(self.drift[:3])}{more}")
        return found


def new_vote_days(instance: DagsterInstance, after: int | None) -> tuple[frozenset[str], int]:
    """Distinct `lf_votes` partitions materialized after storage id `after`, and the newest id."""
    records_filter = AssetRecordsFilter(asset_key=LF_VOTES, after_storage_id=after)
    days: set[str] = set()
    newest = 0
    for record in materializations(instance, records_filter):
        newest = max(newest, record.storage_id)
        if record.partition_key:
            days.add(record.partition_key)
    return frozenset(days), newest


def drift_failures(
    instance: DagsterInstance, check_keys: Iterable[AssetCheckKey], since: float
) -> tuple[tuple[str, ...], int]:
    """Drift checks whose newest verdict on a day (since `since`, a timestamp) is a failure
    with severity ERROR, newest first, and the newest such execution's id (0: none). A day
    that failed and then passed when re-run is no trigger.

    Every execution since the training is read: a range run records one per day, so its
    first day's failure can lie behind hundreds of newer records of the same check.
    """
    found: list[tuple[int, str]] = []
    for key in check_keys:
        seen: set[str | None] = set()
        for execution in check_executions(instance, key):  # newest first
            if execution.timestamp is None:  # a planned execution stored without its event
                continue
            if execution.timestamp <= since:  # create_timestamp has whole seconds only
                break
            if execution.partition in seen:  # a day judged again since: its newest verdict
                continue
            seen.add(execution.partition)
            evaluation = execution.evaluation
            if evaluation and not evaluation.passed and evaluation.severity == ERROR:
                where = f"[{execution.partition}]" if execution.partition else ""
                found.append((execution.id, f"{key.asset_key.to_user_string()}:{key.name}{where}"))
    found.sort(reverse=True)
    return tuple(name for _, name in found), (found[0][0] if found else 0)


def drift_checks(context: SensorEvaluationContext) -> list[AssetCheckKey]:
    """The drift checks defined on the watched assets; none until someone defines them."""
    if context.repository_def is None:
        return []
    return sorted(
        (
            key
            for key in context.repository_def.asset_graph.asset_check_keys
            if key.asset_key in DRIFT_WATCHED and DRIFT_MARKER in key.name.lower()
        ),
        key=lambda key: key.to_user_string(),
    )


def gather(instance: DagsterInstance, check_keys: Iterable[AssetCheckKey]) -> Evidence:
    """What changed since the model in use (the latest `classifier`) was trained."""
    trained = latest_materialization(instance, CLASSIFIER)
    days, newest_votes = new_vote_days(instance, trained.storage_id if trained else None)
    drift, newest_drift = drift_failures(instance, check_keys, trained.timestamp if trained else 0)
    return Evidence(trained, days, newest_votes, drift, newest_drift)


@sensor(
    name="retraining_sensor",
    asset_selection=RETRAIN_ASSETS,
    minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
    default_status=DefaultSensorStatus.RUNNING,
    description=(
        "Retrains the label model and the classifier (gold_labels, label_model, lf_summary, "
        "weak_labels, training_set, classifier) when lf_votes gained at least "
        "SLUICE_RETRAIN_MIN_NEW_DAYS (default 1) new days since the last classifier, or a "
        "drift check on comment_features, lf_votes or comment_scores failed with severity "
        "ERROR. Waits SLUICE_RETRAIN_MIN_INTERVAL_SECONDS (default 3600) between trainings "
        "and until no run is in progress; requests once per state (run key)."
    ),
)
def retraining_sensor(context: SensorEvaluationContext) -> SensorResult | SkipReason:
    settings = Settings.from_env()  # per tick: a changed limit applies without a reload
    evidence = gather(context.instance, drift_checks(context))
    triggers = evidence.triggers(settings.retrain_min_new_days)
    if not triggers:
        return SkipReason(
            f"no trigger: {len(evidence.new_days)} new day(s) of LF votes since the last "
            f"classifier (need {settings.retrain_min_new_days}), no failed drift check"
        )
    reason = "; ".join(triggers)
    wait = _brake(context, evidence, settings.retrain_min_interval_seconds)
    if wait is not None:
        return SkipReason(f"{reason}; {wait}")
    context.log.info(f"requesting retraining: {reason}")
    return SensorResult(
        run_requests=[
            RunRequest(
                run_key=evidence.state,
                run_config=IN_PROCESS,
                tags={"sluice/retrain_reason": reason[:250]},
            )
        ],
        cursor=evidence.state,
    )


def _brake(
    context: SensorEvaluationContext, evidence: Evidence, min_interval_seconds: int
) -> str | None:
    """Why a triggered retraining must wait: the rest after a training, runs in progress,
    or this state already requested. None: request it now."""
    if evidence.trained is not None:
        ready = evidence.trained.timestamp + min_interval_seconds
        if time.time() < ready:
            at = dt.datetime.fromtimestamp(ready, dt.UTC).isoformat(timespec="seconds")
            return f"resting until {at} (SLUICE_RETRAIN_MIN_INTERVAL_SECONDS)"
    busy = context.instance.get_runs_count(RunsFilter(statuses=_IN_FLIGHT))
    if busy:
        return f"waiting for {busy} run(s) in progress to finish"
    if context.cursor == evidence.state:
        return f"already requested for this state ({evidence.state})"
    return None
