#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Strict offline schema check of Kubernetes manifests, against the API models that
Debian's python3-kubernetes ships (the OpenAPI types of each object, generated from the
Kubernetes API): every field must exist in its object's schema (no unknown or misspelt
keys), have the schema's type (string, integer, boolean, list, map, object), and every
required field must be present; metadata.name must be a DNS-1123 label.
autoscaling/v2 objects are checked against autoscaling/v2beta2, whose fields are the same
for what obridge emits (the package predates autoscaling/v2).
Usage: k8s-schema.py FILE...   Exit 0 when valid, 1 with one line per problem."""
import re
import sys

import yaml
import kubernetes.client as k8s
from kubernetes.client.configuration import Configuration

KINDS = {
    ("v1", "Service"): "V1Service",
    ("v1", "PersistentVolumeClaim"): "V1PersistentVolumeClaim",
    ("v1", "ConfigMap"): "V1ConfigMap",
    ("apps/v1", "StatefulSet"): "V1StatefulSet",
    ("apps/v1", "Deployment"): "V1Deployment",
    ("autoscaling/v2", "HorizontalPodAutoscaler"): "V2beta2HorizontalPodAutoscaler",
    ("batch/v1", "CronJob"): "V1CronJob",
}
DNS = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
CONF = Configuration()
CONF.client_side_validation = True


def check(value, typ, path, errs):
    if typ.startswith("list["):
        if not isinstance(value, list):
            errs.append(f"{path}: expected a list")
            return
        for i, v in enumerate(value):
            check(v, typ[5:-1], f"{path}[{i}]", errs)
    elif typ.startswith("dict("):
        inner = typ[5:-1].split(", ", 1)[1]
        if not isinstance(value, dict):
            errs.append(f"{path}: expected a map")
            return
        for key, v in value.items():
            if not isinstance(key, str):
                errs.append(f"{path}: key {key!r} is not a string")
            check(v, inner, f"{path}.{key}", errs)
    elif typ == "str":
        if not isinstance(value, str):
            errs.append(f"{path}: expected a string, got {value!r}")
    elif typ == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            errs.append(f"{path}: expected an integer, got {value!r}")
    elif typ == "bool":
        if not isinstance(value, bool):
            errs.append(f"{path}: expected true or false, got {value!r}")
    elif typ == "float":
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            errs.append(f"{path}: expected a number, got {value!r}")
    elif typ in ("object", "datetime", "date"):
        pass  # IntOrString, quantities given as either, free-form
    else:
        cls = getattr(k8s, typ)
        if not isinstance(value, dict):
            errs.append(f"{path}: expected a {typ} map")
            return
        by_json = {v: a for a, v in cls.attribute_map.items()}
        for key, v in value.items():
            if key not in by_json:
                errs.append(f"{path}: unknown field '{key}' in {typ}")
                continue
            check(v, cls.openapi_types[by_json[key]], f"{path}.{key}", errs)
        # required fields: the model's setters refuse None for them
        obj = cls.__new__(cls)
        obj.local_vars_configuration = CONF
        for attr, key in cls.attribute_map.items():
            if key in value:
                continue
            try:
                setattr(obj, attr, None)
            except ValueError:
                errs.append(f"{path}: required field '{key}' missing in {typ}")


def main(files):
    errs = []
    for name in files:
        with open(name, encoding="utf-8") as fh:
            docs = [d for d in yaml.safe_load_all(fh) if d is not None]
        if not docs:
            errs.append(f"{name}: no objects")
        for i, doc in enumerate(docs):
            where = f"{name}: document {i + 1}"
            if not isinstance(doc, dict):
                errs.append(f"{where}: not a map")
                continue
            model = KINDS.get((doc.get("apiVersion"), doc.get("kind")))
            if not model:
                errs.append(f"{where}: unknown apiVersion/kind {doc.get('apiVersion')}/{doc.get('kind')}")
                continue
            where += f" ({doc['kind']})"
            check(doc, model, where, errs)
            meta = doc.get("metadata") or {}
            if not DNS.match(str(meta.get("name", ""))) or len(str(meta.get("name", ""))) > 63:
                errs.append(f"{where}: metadata.name {meta.get('name')!r} is not a DNS-1123 label")
    for e in errs:
        print(e)
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
