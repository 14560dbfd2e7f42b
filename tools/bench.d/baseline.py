#!/usr/bin/python3
"""baseline.py -- the plain Python baselines of issue 7 (targets 3 and 4).

    /usr/bin/python3 tools/bench.d/baseline.py --format jsonl|yaml [FILE|-] > results.jsonl

Reads cases (json.loads per line of a JSON Lines file, or PyYAML's C loader,
yaml.load_all(f, Loader=yaml.CSafeLoader), over a YAML stream), computes the
scores of rule set spine-metastasis-lung 1.0.0 (SPEC section 4) in plain
Python functions and writes json.dumps of each result, one per line.

Only the core fields of SPEC section 5 are computed: frankel, sins (level,
total, min, max, category, points), tokuhashi (total, min, max, points,
survival, surgery), the five contraindications (id, status, kind) and the
recommendation. No schema validation, no labels, no explanations: the
baseline does strictly less work than `spinerules eval`, which keeps the
comparison conservative. tools/bench.d/compare_core.py checks that both give
the same core fields. Always run with Debian's /usr/bin/python3 (python3-yaml).
"""
import argparse
import json
import sys

INF = float("inf")

# ---- Frankel (Tableau 9) ----
FRANKEL_DEFICIT = {"A": "complete", "B": "complete", "C": "incomplete", "D": "incomplete",
                   "D1": "incomplete", "D2": "incomplete", "D3": "incomplete", "E": "none"}


def frankel(case):
    grade = (case.get("neurology") or {}).get("frankel")
    deficit = FRANKEL_DEFICIT.get(grade) if grade is not None else None
    if deficit is None:
        return {"grade": None, "deficit": "unknown"}
    return {"grade": grade, "deficit": deficit}


# ---- scoring helpers: an item is (points or None, min, max) ----

def table_item(value, table):
    """A value looked up in {value: points}; unknown (or unmatched) takes the whole range."""
    if value is not None and value in table:
        p = table[value]
        return p, p, p
    lo, hi = min(table.values()), max(table.values())
    return None, lo, hi


def band(lo, hi, bands):
    """bands: [(id, from, to)]; the band holding the whole range, else indeterminate."""
    first = last = None
    for name, b_lo, b_hi in bands:
        if b_lo <= lo <= b_hi:
            first = name
        if b_lo <= hi <= b_hi:
            last = name
    if first is not None and first == last:
        return first
    return "indeterminate"


# ---- SINS (Tableau 10) ----
LEVELS = ([f"C{i}" for i in range(1, 8)] + [f"T{i}" for i in range(1, 13)] +
          [f"L{i}" for i in range(1, 6)] + [f"S{i}" for i in range(1, 6)])


def level_group(spec, points):
    out = {}
    for part in spec.split(", "):
        a, _, b = part.partition("-")
        for lv in LEVELS[LEVELS.index(a):LEVELS.index(b or a) + 1]:
            out[lv] = points
    return out


SINS_LOCATION = {}
SINS_LOCATION.update(level_group("C1-C2, C7-T2, T11-L1, L5-S1", 3))
SINS_LOCATION.update(level_group("C3-C6, L2-L4", 2))
SINS_LOCATION.update(level_group("T3-T10", 1))
SINS_LOCATION.update(level_group("S2-S5", 0))
SINS_ITEMS = (
    ("location", "level", SINS_LOCATION),
    ("pain", "pain", {"mechanical": 3, "non_mechanical": 1, "none": 0}),
    ("bone_lesion", "bone_lesion", {"lytic": 2, "mixed": 1, "blastic": 0}),
    ("alignment", "alignment", {"subluxation_translation": 4, "de_novo_deformity": 2, "normal": 0}),
    ("collapse", "collapse", {"over_50_percent": 3, "under_50_percent": 2,
                              "no_collapse_over_50_percent_involved": 1, "none": 0}),
    ("posterolateral", "posterolateral", {"bilateral": 3, "unilateral": 1, "none": 0}),
)
SINS_BANDS = (("stable", 0, 6), ("potentially_unstable", 7, 12), ("unstable", 13, INF))


def sins_one(lesion):
    points = {}
    lo = hi = 0
    for name, field, table in SINS_ITEMS:
        p, a, b = table_item(lesion.get(field), table)
        points[name] = p
        lo += a
        hi += b
    return {"level": lesion.get("level"), "total": lo if lo == hi else None, "min": lo, "max": hi,
            "category": band(lo, hi, SINS_BANDS), "points": points}


def sins(case):
    lesions = (case.get("spine") or {}).get("lesions") or []
    return [sins_one(lesion) for lesion in lesions]


# ---- modified Tokuhashi (Tableau 11) ----
GENERAL_CONDITION = {"poor": 0, "moderate": 1, "good": 2}
NEURO_DEFICIT = {"complete": 0, "incomplete": 1, "none": 2}
PRIMARY = {"lung": 0}
VISCERAL = {"unresectable": 0, "resectable": 1, "none": 2}
SURVIVAL_BANDS = (("under_6_months", -INF, 8), ("between_6_and_12_months", 9, 11),
                  ("over_12_months", 12, INF))
SURGERY_BANDS = (("unlikely_benefit", -INF, 5), ("case_by_case", 6, 9), ("recommended", 10, INF))


def general_condition(patient):
    given = patient.get("general_condition")
    if given is not None:
        return given
    k = patient.get("karnofsky")
    if k is None:
        return None
    if k <= 40:
        return "poor"
    return "moderate" if k <= 70 else "good"


def count_points(n, at_least=False):
    """Vertebrae and extraspinal-style rows: >= 3 -> 0, then 2 -> 1 / 1-2 -> 1, ... .
    Vertebrae: >= 3 -> 0, 2 -> 1, 1 -> 2 (0 matches no row). at_least: n is a lower bound."""
    rows = ((3, INF, 0), (2, 2, 1), (1, 1, 2))
    if n is None:
        return None, 0, 2
    if at_least:
        possible = [p for r_lo, r_hi, p in rows if r_lo <= INF and n <= r_hi]
    else:
        possible = [p for r_lo, r_hi, p in rows if r_lo <= n <= r_hi]
    if not possible:
        return None, 0, 2
    if len(possible) == 1:
        return possible[0], possible[0], possible[0]
    return None, min(possible), max(possible)


def vertebrae(spine):
    listed = spine.get("metastatic_levels")
    if listed is not None:
        return count_points(len(listed))
    seen = set()
    for lesion in spine.get("lesions") or []:
        lv = lesion.get("level")
        if lv is not None:
            seen.add(lv)
    if not seen:
        return None, 0, 2
    return count_points(len(seen), at_least=True)


def extraspinal(n):
    if n is None:
        return None, 0, 2
    if n >= 3:
        return 0, 0, 0
    if 1 <= n <= 2:
        return 1, 1, 1
    if n == 0:
        return 2, 2, 2
    return None, 0, 2


def tokuhashi(case, deficit):
    patient = case.get("patient") or {}
    tumor = case.get("tumor") or {}
    spine = case.get("spine") or {}
    items = (
        ("general_condition", table_item(general_condition(patient), GENERAL_CONDITION)),
        ("neuro_deficit", table_item(None if deficit == "unknown" else deficit, NEURO_DEFICIT)),
        ("primary", table_item(tumor.get("primary"), PRIMARY)),
        ("vertebrae", vertebrae(spine)),
        ("extraspinal_bone", extraspinal(tumor.get("extraspinal_bone_metastases"))),
        ("visceral", table_item(tumor.get("visceral_metastases"), VISCERAL)),
    )
    points = {}
    lo = hi = 0
    for name, (p, a, b) in items:
        points[name] = p
        lo += a
        hi += b
    return {"total": lo if lo == hi else None, "min": lo, "max": hi, "points": points,
            "survival": band(lo, hi, SURVIVAL_BANDS), "surgery": band(lo, hi, SURGERY_BANDS)}


# ---- contraindications (section 5): True, False or None (unknown) ----
STATUS = {True: "present", False: "absent", None: "unknown"}


def below(v, n):
    return None if v is None else v < n


def three_segments(levels):
    if levels is None:
        return None
    segments = {lv[0] for lv in levels if lv in SINS_LOCATION}
    return "C" in segments and "T" in segments and "L" in segments


def disseminated(tumor):
    sites = tumor.get("metastatic_sites")
    if sites is not None:
        return any(s in ("liver", "lung", "brain") for s in sites)
    if tumor.get("visceral_metastases") == "none":
        return False
    return None


def contraindications(case):
    patient = case.get("patient") or {}
    tumor = case.get("tumor") or {}
    spine = case.get("spine") or {}
    k = patient.get("karnofsky")
    immuno = patient.get("severe_immunodepression")
    return [
        {"id": "short_survival", "status": STATUS[below(patient.get("estimated_survival_months"), 3)],
         "kind": "absolute"},
        {"id": "poor_performance_status", "status": STATUS[None if k is None else k <= 40],
         "kind": "absolute"},
        {"id": "severe_immunodepression", "status": STATUS[None if immuno is None else immuno is True],
         "kind": "absolute"},
        {"id": "three_segment_spinal_disease",
         "status": STATUS[three_segments(spine.get("metastatic_levels"))], "kind": "absolute"},
        {"id": "disseminated_disease", "status": STATUS[disseminated(tumor)],
         "kind": "relative" if tumor.get("targeted_therapy_available") is True else "absolute"},
    ]


# ---- recommendation (section 4.4) ----

def any_present(cis, kind):
    """True if one of that kind is present, None if none is but one is unknown, else False."""
    unknown = False
    for c in cis:
        if c["kind"] == kind:
            if c["status"] == "present":
                return True
            if c["status"] == "unknown":
                unknown = True
    return None if unknown else False


def recommendation(toku, cis):
    if any_present(cis, "absolute") is True:
        return "contraindicated"
    surgery = toku["surgery"]
    if surgery == "indeterminate":
        return "indeterminate"
    if surgery == "recommended" and any_present(cis, "relative") is True:
        return "case_by_case"
    return surgery


RULESET = {"name": "spine-metastasis-lung", "version": "1.0.0", "digest": None}


def evaluate(case):
    fr = frankel(case)
    toku = tokuhashi(case, fr["deficit"])
    cis = contraindications(case)
    return {"id": case.get("id"), "ruleset": RULESET, "frankel": fr, "sins": sins(case),
            "tokuhashi": toku, "contraindications": cis,
            "recommendation": recommendation(toku, cis)}


def error_record(case_id, message):
    return {"id": case_id, "error": {"message": message}}


def evaluate_or_error(case):
    """A case the plain functions cannot read (say a number YAML 1.1 leaves a string)
    gives an error record, as an invalid case does in the engine."""
    if not isinstance(case, dict):
        return error_record(None, "a case must be a mapping")
    try:
        return evaluate(case)
    except (TypeError, AttributeError, ValueError) as e:
        return error_record(case.get("id"), str(e))


def run_jsonl(f, out):
    for line in f:
        if not line.strip():
            continue
        try:
            case = json.loads(line)
        except ValueError as e:
            out.write(json.dumps(error_record(None, str(e)), ensure_ascii=False) + "\n")
            continue
        out.write(json.dumps(evaluate_or_error(case), ensure_ascii=False) + "\n")


def run_yaml(f, out):
    import yaml  # Debian's python3-yaml, with the libyaml C extension
    for case in yaml.load_all(f, Loader=yaml.CSafeLoader):
        if case is None:
            continue
        out.write(json.dumps(evaluate_or_error(case), ensure_ascii=False) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--format", choices=["jsonl", "yaml"], required=True)
    ap.add_argument("--digest", default=None, help="rule set digest to write in each result")
    ap.add_argument("file", nargs="?", default="-")
    a = ap.parse_args()
    RULESET["digest"] = a.digest
    f = sys.stdin if a.file == "-" else open(a.file, encoding="utf-8")
    out = sys.stdout
    if a.format == "jsonl":
        run_jsonl(f, out)
    else:
        run_yaml(f, out)
    out.flush()


if __name__ == "__main__":
    main()
