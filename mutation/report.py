"""The mutation score per module and the mutants that survived, from mutmut's results in mutants/.

    python mutation/report.py [--minimum 90]

A mutant counts as caught when a test failed on it (or it ran out of time: an endless loop is
noticed too). The score is counted over the mutants that are not equivalent: those listed in
mutation/equivalent.txt (one line each: the mutant's name, then why no test can tell it from the
original) are left out. Every other survivor is printed with the change it makes; the exit
status is 1 when a module that was checked scores below the minimum, or when the list names a
mutant that no longer exists or that tests now catch (the list must stay true).
"""
import argparse
import ast
import difflib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "mutants"
EQUIVALENT = Path(__file__).resolve().parent / "equivalent.txt"

# mutmut's exit codes (mutmut/stats.py): a failing test, or pytest's own error, is a kill.
CAUGHT = {1, 3, 36, 24, -24, 152, 255, 37}  # killed, timed out, caught by the type check
SURVIVED = {0}
NO_TESTS = {5, 33}  # no test reaches the mutated function: it survives too


def equivalent_mutants():
    """{mutant name: why it is equivalent} from mutation/equivalent.txt."""
    listed = {}
    for line in EQUIVALENT.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, why = line.partition(" ")
            listed[name] = why.strip()
    return listed


def module_of(meta_path):
    return ".".join(meta_path.relative_to(MUTANTS).with_suffix("").with_suffix("").parts)


def change_made(source_path, mutant):
    """The lines the mutant changes, as `- original` / `+ mutated`."""
    function, _, _number = mutant.rpartition(".")[2].rpartition("__mutmut_")
    tree = ast.parse(source_path.read_text(encoding="utf-8"))
    bodies = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            bodies[node.name] = ast.unparse(node).splitlines()[1:]  # the body, not the renamed def line
    original = bodies.get(f"{function}__mutmut_orig", [])
    mutated = bodies.get(mutant.rpartition(".")[2], [])
    removed, added = [], []
    for line in difflib.unified_diff(original, mutated, lineterm="", n=0):
        if line.startswith("-") and not line.startswith("---"):
            removed.append(line[1:])
        elif line.startswith("+") and not line.startswith("+++"):
            added.append(line[1:])
    if len(removed) == len(added) == 1:  # one line changed: show the change, not the whole statement
        removed, added = around_the_change(removed[0], added[0])
    return [f"- {line.strip()}" for line in removed] + [f"+ {line.strip()}" for line in added]


def around_the_change(before, after, context=40):
    """The two lines cut to the part that differs, with `context` characters either side."""
    start = 0
    while start < min(len(before), len(after)) and before[start] == after[start]:
        start += 1
    end = 0
    while end < min(len(before), len(after)) - start and before[-1 - end] == after[-1 - end]:
        end += 1

    def cut(line):
        head = max(start - context, 0)
        tail = min(len(line) - end + context, len(line))
        return ("…" if head else "") + line[head:tail] + ("…" if tail < len(line) else "")

    return [cut(before)], [cut(after)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minimum", type=float, default=90.0, help="the lowest score accepted, in per cent")
    arguments = parser.parse_args()
    if not MUTANTS.is_dir():
        sys.exit("Brak wyników: najpierw `make mutation` (mutmut zapisuje je w mutants/).")
    equivalent = equivalent_mutants()
    seen, wrong_listing, below = set(), [], []
    rows, survivors = [], []
    for meta_path in sorted(MUTANTS.rglob("*.py.meta")):
        module = module_of(meta_path)
        codes = json.loads(meta_path.read_text(encoding="utf-8"))["exit_code_by_key"]
        durations = json.loads(meta_path.read_text(encoding="utf-8")).get("durations_by_key", {})
        counts = dict(mutants=len(codes), caught=0, survived=0, equivalent=0, unchecked=0)
        for name, code in codes.items():
            seen.add(name)
            if code is None:
                counts["unchecked"] += 1
            elif name in equivalent:
                counts["equivalent"] += 1
                if code in CAUGHT:
                    wrong_listing.append(f"{name}: tests catch it now; take it off the list")
            elif code in CAUGHT:
                counts["caught"] += 1
            elif code in SURVIVED or code in NO_TESTS:
                counts["survived"] += 1
                survivors.append((module, name, "no test reaches it" if code in NO_TESTS else "survived",
                                  meta_path.with_suffix("")))
            else:  # suspicious, segfault: looked at by hand like a survivor
                counts["survived"] += 1
                survivors.append((module, name, f"exit code {code}", meta_path.with_suffix("")))
        counted = counts["caught"] + counts["survived"]
        score = 100.0 * counts["caught"] / counted if counted else None
        if score is not None and score < arguments.minimum:
            below.append(module)
        rows.append((module, counts, score, sum(durations.values())))

    print(f"{'module':40} {'mutants':>7} {'caught':>7} {'survived':>8} {'equiv.':>6} {'unchecked':>9} {'score':>7} {'time':>7}")
    for module, counts, score, seconds in rows:
        shown = f"{score:6.1f}%" if score is not None else "      -"
        print(
            f"{module:40} {counts['mutants']:7} {counts['caught']:7} {counts['survived']:8} {counts['equivalent']:6} "
            f"{counts['unchecked']:9} {shown} {seconds / 60:6.1f}m"
        )
    if survivors:
        print(f"\nSurvivors ({len(survivors)}): kill each with a test of what it breaks, or list it in {EQUIVALENT.name}")
        for _module, name, why, source_path in survivors:
            print(f"\n{name} ({why})")
            for line in change_made(source_path, name):
                print(f"    {line}")
    for name in sorted(set(equivalent) - seen):
        if any(name.startswith(module + ".") for module, _counts, _score, _seconds in rows):
            wrong_listing.append(f"{name}: no such mutant any more; take it off the list")
    for problem in wrong_listing:
        print(f"{EQUIVALENT.name}: {problem}")
    if below:
        print(f"\nBelow {arguments.minimum:g}%: {', '.join(below)}")
    return 1 if below or wrong_listing else 0


if __name__ == "__main__":
    sys.exit(main())
