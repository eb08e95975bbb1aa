"""The sample's one-off job (run by the stack's `nightly-import` schedule): log, work, exit.

A scheduled task is a plain ECS task: it runs this command instead of the server, logs to the
same log group, and its exit code is the task's result. Replace the body with your import.
"""

import json
import os
import sys
import time


def main() -> int:
    started = time.time()
    print(json.dumps({"level": "info", "msg": "nightly import started",
                      "service": os.environ.get("SERVICE_NAME", "sample-app")}), flush=True)
    # ... the real work goes here; raise or return non-zero to mark the task failed ...
    print(json.dumps({"level": "info", "msg": "nightly import finished",
                      "seconds": round(time.time() - started, 3)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
