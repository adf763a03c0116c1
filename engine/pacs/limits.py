"""Bounds on what a server may make us hold: a malicious or broken PACS cannot make
us allocate, list or write without limit.  Each is checked before the work it bounds."""

#: studies one search returns at most (the rest is reported as cut off)
MAX_STUDIES = 5000
#: series of one study, instances of one series
MAX_SERIES = 2000
MAX_INSTANCES = 20000
#: one instance, and one retrieve in all
MAX_INSTANCE_BYTES = 2 * 2**30
MAX_RETRIEVE_BYTES = 64 * 2**30
#: one QIDO-RS (JSON) answer
MAX_JSON_BYTES = 256 * 2**20
#: characters kept of a text field shown to the user
MAX_TEXT = 200
#: seconds: connecting and each network step (an unreachable server fails, never hangs)
DEFAULT_TIMEOUT = 10.0
