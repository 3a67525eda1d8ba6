"""Great Expectations suites as code (`suites`) and the runner that applies them (`runner`).

Nothing here imports GX at module level: the runner imports it when it is constructed,
inside a check, so loading the code location stays fast.
"""
