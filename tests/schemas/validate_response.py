#!/usr/bin/env python3
"""Validates JSON files against one schema of schemas/json/.

Usage: validate_response.py SCHEMA_NAME FILE... [-- SCHEMA_NAME FILE...]...

SCHEMA_NAME is a file name under schemas/json/ without ".schema.json", e.g.
"me-response". Every FILE must hold one JSON document valid against it.
Further groups after "--" are checked the same way in the same run (one
interpreter start for many schemas keeps the C++ tests fast).
References between schemas ("common.schema.json#/...") resolve through a
registry of every schema in schemas/json/, as in validate_examples.py.
Exits 0 if every file validates; otherwise prints each offending file with
its first error and exits 1 (2 for a usage error or an unknown schema).
"""
import json
import pathlib
import sys

import schema_registry

SCHEMAS_DIR = pathlib.Path(__file__).resolve().parent.parent.parent / "schemas" / "json"


def split_groups(args):
    groups = [[]]
    for arg in args:
        if arg == "--":
            groups.append([])
        else:
            groups[-1].append(arg)
    return groups


def main(argv) -> int:
    groups = split_groups(argv[1:])
    if any(len(g) < 2 for g in groups):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    schemas = schema_registry.load(SCHEMAS_DIR)
    for name, *_ in groups:
        if name not in schemas:
            print(f"unknown schema '{name}'; choose one of: "
                  f"{', '.join(sorted(schemas))}", file=sys.stderr)
            return 2
    total_failures = 0
    for name, *files in groups:
        validator = schema_registry.validator(schemas, name)
        failures = 0
        for file_name in files:
            path = pathlib.Path(file_name)
            try:
                instance = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as e:
                print(f"FAIL {path}: not a readable JSON document: {e}")
                failures += 1
                continue
            errors = sorted(validator.iter_errors(instance),
                            key=lambda e: list(e.absolute_path))
            if errors:
                where = "/".join(str(p) for p in errors[0].absolute_path) or "(root)"
                print(f"FAIL {path} ({name}): at {where}: {errors[0].message}")
                failures += 1
        print(f"{len(files)} files checked against {name}, {failures} failures")
        total_failures += failures
    return 1 if total_failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
