#!/usr/bin/env python3
"""Checks that schemas/openapi.yaml parses, is OpenAPI 3.1, and that every
$ref in it resolves: local refs (#/...) to a node of the document, file refs
to an existing file under schemas/ (and their #fragment to a node in it)."""
import json
import pathlib
import sys

import yaml


def walk(node, path="#"):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield path, value
            else:
                yield from walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk(value, f"{path}/{i}")


def resolve(doc, pointer):
    for part in [p for p in pointer.lstrip("/").split("/") if p]:
        part = part.replace("~1", "/").replace("~0", "~")
        doc = doc[int(part)] if isinstance(doc, list) else doc[part]
    return doc


def main(schemas_dir: pathlib.Path) -> int:
    doc = yaml.safe_load((schemas_dir / "openapi.yaml").read_text(encoding="utf-8"))
    failures = []
    if not str(doc.get("openapi", "")).startswith("3.1"):
        failures.append("openapi version is not 3.1.x")
    count = 0
    for where, ref in walk(doc):
        count += 1
        file_part, _, fragment = ref.partition("#")
        try:
            if file_part:
                target = schemas_dir / file_part
                if not target.is_file():
                    failures.append(f"{where}: {ref}: no file {target}")
                    continue
                resolve(json.loads(target.read_text(encoding="utf-8")), fragment)
            else:
                resolve(doc, fragment)
        except (KeyError, IndexError, ValueError) as e:
            failures.append(f"{where}: {ref}: unresolved ({e})")
    for path in doc.get("paths", {}):
        if not path.startswith(("/v1/", "/healthz", "/metrics")):
            failures.append(f"unexpected path {path}")
    for line in failures:
        print("FAIL", line)
    print(f"{count} $refs checked, {len(doc.get('paths', {}))} paths, "
          f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(pathlib.Path(sys.argv[1])))
