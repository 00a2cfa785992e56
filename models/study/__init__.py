"""``ivifmodels study``: the paradigm study (build, train, fuse, evaluate, report) in one
resumable command. Study file: :mod:`.spec`; data checks: :mod:`.plan`; stages: :mod:`.run`;
tables and figures: :mod:`.report`; command line: :mod:`.cli`. See ``docs/study.md``."""
