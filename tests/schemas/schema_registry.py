"""Loads schemas/json/ and builds Draft 2020-12 validators whose $refs
between files resolve locally.

Works with Debian 12's python3-jsonschema (4.10, RefResolver) and with
newer releases (4.18+, the `referencing` registry), so the tests run on a
fresh Debian machine and on developer machines alike.
"""

import json
import pathlib

import jsonschema

try:  # jsonschema >= 4.18
    from referencing import Registry, Resource
except ImportError:  # Debian 12: jsonschema 4.10
    Registry = None


def load(json_dir: pathlib.Path):
    """Returns {name: schema} for every json_dir/NAME.schema.json, each
    checked against the 2020-12 meta-schema."""
    schemas = {}
    for path in sorted(json_dir.glob("*.schema.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        jsonschema.Draft202012Validator.check_schema(schema)
        schemas[path.name[: -len(".schema.json")]] = schema
    return schemas


def validator(schemas, name):
    """A validator for schemas[name] that resolves $refs to the others."""
    schema = schemas[name]
    if Registry is not None:
        registry = Registry().with_resources(
            (s["$id"], Resource.from_contents(s)) for s in schemas.values())
        return jsonschema.Draft202012Validator(schema, registry=registry)
    store = {s["$id"]: s for s in schemas.values()}
    resolver = jsonschema.RefResolver(base_uri=schema["$id"], referrer=schema,
                                      store=store)
    return jsonschema.Draft202012Validator(schema, resolver=resolver)
