#!/usr/bin/env python3
"""Container health check: exit 0 if http://127.0.0.1:$PORT/health answers 200, else 1.

ECS task definition: healthCheck.command = ["CMD", "python", "/app/healthcheck.py"]
"""

import os
import sys
import urllib.request


def main():
    url = f"http://127.0.0.1:{os.environ.get('PORT', '3000')}/health"
    # Empty ProxyHandler: never route the probe through HTTP(S)_PROXY from the env.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=2) as resp:
            status = resp.status
    except Exception as exc:  # connection refused, timeout, non-2xx (HTTPError), bad PORT...
        print(f"healthcheck: {url} failed: {exc}", file=sys.stderr)
        return 1
    if status != 200:
        print(f"healthcheck: {url} returned {status}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
