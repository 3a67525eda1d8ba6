"""Model registry from the command line.

python -m training list                  # versions, test F1, champion marked
python -m training history               # promotions, rejections, rollbacks
python -m training rollback [--to V]     # champion back to V (default: the previous one)
python -m training reproduce V           # rebuild V from its card: identical, or why not

A rollback is refused when the version would not load: a pickle from before models were
stored with skops, or, with SLUICE_MODEL_SIGNING_KEY set, an entry without a valid signature.

`--name label_model` (before the command) does the same for the label model: its champion
is the one `weak_labels` uses.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from settings import Settings
from storage.object_store import open_store
from training.label_models import NAME as LABEL_MODEL
from training.registry import (
    ModelRegistry,
    NoChampionError,
    RefusedArtifactError,
    RegistryBusyError,
    UnknownVersionError,
)
from training.train import NAME as CLASSIFIER


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training", description="Model registry")
    parser.add_argument("--name", default=CLASSIFIER, choices=(CLASSIFIER, LABEL_MODEL))
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="registered versions; * marks the champion")
    sub.add_parser("history", help="promotion decisions, oldest first")
    rollback = sub.add_parser("rollback", help="make an earlier model the champion again")
    rollback.add_argument("--to", help="version to restore (default: the previous champion)")
    rollback.add_argument("--reason", default="rollback from the CLI")
    again = sub.add_parser("reproduce", help="rebuild a classifier from its card and compare")
    again.add_argument("version")
    again.add_argument("--workdir", type=Path, help="scratch folder (default: a temporary one)")
    again.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args(argv)
    if args.command == "reproduce":
        from sluice_cli.reproduce import reproduce

        return reproduce(args.version, args.workdir, args.keep)

    registry = ModelRegistry(open_store(Settings.from_env().model_store), args.name)
    if args.command == "list":
        champion = registry.champion()
        versions = registry.versions()
        if not versions:
            print("no models registered yet")
        for version, info in sorted(versions.items()):
            mark = "*" if version == champion else " "
            f1 = "-" if info["test_f1"] is None else f"{info['test_f1']:.4f}"
            print(f"{mark} {version}  test_f1={f1}  sha256={info['sha256'][:12]}")
    elif args.command == "history":
        for event in registry.events():
            print(f"{event['at']}  {event['event']:<18} {event['version']}  {event['reason']}")
    else:
        try:
            restored = registry.rollback(args.to, args.reason)
        except (NoChampionError, UnknownVersionError, RefusedArtifactError) as err:
            print(f"rollback refused: {err}", file=sys.stderr)
            return 1
        except RegistryBusyError as err:
            print(f"rollback not done, try again: {err}", file=sys.stderr)
            return 1
        print(f"champion is now {restored}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
