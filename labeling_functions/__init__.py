"""The task: its class names and its labeling functions. This is the folder a user edits.

Sluice reads exactly two names from this package:

- `CLASSES`: class names in class-index order (label `i` is `CLASSES[i]`); score columns
  are named `p_<class name>`.
- `LFS`: the labeling functions, each voting a class index or -1 to abstain, over the
  columns of `comment_features` (see dbt_project/models/marts/schema.yml).

To bring another task (SMS spam, ticket triage with three classes, ...), replace the
module below with your own and keep these two names.
"""

from labeling_functions.spam import CLASSES, LFS

__all__ = ["CLASSES", "LFS"]
