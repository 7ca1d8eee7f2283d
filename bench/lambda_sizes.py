"""Each function's unzipped size as Lambda counts it: function + its layers (managed ones as pinned stand-ins), or
the container image's packages. One JSON line: ``{"<Function>": MB, …, "limit_mb": 250, "largest_zip_mb": …}``.

Builds like ``sam build`` (the Makefile targets, cached under build/lambda-check/; see local/lambda_check.py).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from local import lambda_check as lc


def main() -> None:
    out: dict[str, object] = {}
    zips = []
    for fn in [*lc.FUNCTION_LAYERS, *lc.IMAGE_FUNCTIONS]:
        r = lc.report(lc.build_function(fn))
        mb = round(r["unzipped_bytes"] / 2**20, 1)
        out[fn] = mb
        if r["package"] == "zip":
            zips.append(mb)
        if r["foreign_binaries"]:
            out[f"{fn}_foreign_binaries"] = len(r["foreign_binaries"])
    out.update(limit_mb=round(lc.LAMBDA_UNZIPPED_MAX / 2**20, 1), largest_zip_mb=max(zips),
               image_functions=sorted(lc.IMAGE_FUNCTIONS))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
