#!/usr/bin/env python3
"""Validates schemas/examples/<body>/*.json against schemas/json/<body>.schema.json.

valid-*.json must pass, invalid-*.json must fail. Also checks that every
schema is itself valid draft 2020-12 and that every body directory has at
least one valid and one invalid example. Exits non-zero and prints each
offending file otherwise.
"""
import json
import pathlib
import sys

import schema_registry


def main(schemas_dir: pathlib.Path) -> int:
    json_dir = schemas_dir / "json"
    schemas = schema_registry.load(json_dir)

    failures = []
    checked = 0
    examples_dir = schemas_dir / "examples"
    for body_dir in sorted(p for p in examples_dir.iterdir() if p.is_dir()):
        body = body_dir.name
        if body not in schemas:
            failures.append(f"{body_dir}: no schema json/{body}.schema.json")
            continue
        validator = schema_registry.validator(schemas, body)
        files = sorted(body_dir.glob("*.json"))
        if not any(f.name.startswith("valid-") for f in files) or not any(
            f.name.startswith("invalid-") for f in files
        ):
            failures.append(f"{body_dir}: needs valid-*.json and invalid-*.json")
        for f in files:
            instance = json.loads(f.read_text(encoding="utf-8"))
            errors = list(validator.iter_errors(instance))
            checked += 1
            if f.name.startswith("valid-") and errors:
                failures.append(f"{f}: expected valid, got: {errors[0].message}")
            elif f.name.startswith("invalid-") and not errors:
                failures.append(f"{f}: expected invalid, but it validates")
            elif not f.name.startswith(("valid-", "invalid-")):
                failures.append(f"{f}: name must start with valid- or invalid-")
    for body in schemas:
        if body != "common" and not (examples_dir / body).is_dir():
            failures.append(f"json/{body}.schema.json: no examples/{body}/")
    for line in failures:
        print("FAIL", line)
    print(f"{checked} examples checked against {len(schemas)} schemas, "
          f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(pathlib.Path(sys.argv[1])))
