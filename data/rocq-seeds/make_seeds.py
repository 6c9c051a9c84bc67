"""Writes problems.jsonl: the self-play seed problems written for this project (see README.md).

Eleven families of small Rocq theorems, each instantiated with six sets of numbers from a fixed
seed; in each family four go to ``train`` and two to ``heldout``. Run from this folder:
``python make_seeds.py`` (deterministic; the committed problems.jsonl is its output).
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable

NAT = "Require Import Arith Lia."
ZHEAD = "Require Import ZArith Lia.\nOpen Scope Z_scope."
RHEAD = "Require Import Reals Lra.\nOpen Scope R_scope."
LHEAD = "Require Import List Arith.\nImport ListNotations."
PROP = ""  # propositional logic needs no library

Family = Callable[[random.Random, int], tuple[str, str, str]]  # -> header, theorem body, informal


def nat_add_le(r: random.Random, i: int) -> tuple[str, str, str]:
    a = r.randint(0, 20)
    b = a + r.randint(0, 9)
    return NAT, f"forall n : nat, n + {a} <= n + {b}", f"For every natural n, n + {a} <= n + {b}."


def nat_lin_eq(r: random.Random, i: int) -> tuple[str, str, str]:
    a, v = r.randint(1, 30), r.randint(0, 40)
    return NAT, f"(n : nat) (h0 : n + {a} = {v + a}) : n = {v}", f"If n + {a} = {v + a} then n = {v}."


def z_lin_sys(r: random.Random, i: int) -> tuple[str, str, str]:
    x, y = r.randint(-20, 20), r.randint(-20, 20)
    s, d = x + y, x - y
    return (ZHEAD, f"(x y : Z) (h0 : x + y = {_z(s)}) (h1 : x - y = {_z(d)}) : x = {_z(x)}",
            f"If x + y = {s} and x - y = {d} then x = {x}.")


def z_mod(r: random.Random, i: int) -> tuple[str, str, str]:
    a, b, m = r.randint(2, 40), r.randint(2, 40), r.randint(2, 13)
    r_ = (a * b) % m
    return ZHEAD, f"({a} * {b}) mod {m} = {r_}", f"The remainder of {a} * {b} divided by {m} is {r_}."


def r_lin(r: random.Random, i: int) -> tuple[str, str, str]:
    a, v, b = r.randint(2, 9), r.randint(-10, 10), r.randint(-15, 15)
    c = a * v + b
    return (RHEAD, f"(x : R) (h0 : {a} * x + {_z(b)} = {_z(c)}) : x = {_z(v)}",
            f"If {a}x + {b} = {c} for a real x, then x = {v}.")


def nat_sq(r: random.Random, i: int) -> tuple[str, str, str]:
    a = r.randint(1, 12)
    return NAT, f"(n : nat) (h0 : {a} <= n) : {a} * n <= n * n", f"For a natural n >= {a}, {a}n <= n^2."


def prop_logic(r: random.Random, i: int) -> tuple[str, str, str]:
    forms = [
        ("forall P Q : Prop, P /\\ Q -> Q /\\ P", "Conjunction is commutative."),
        ("forall P Q : Prop, P \\/ Q -> Q \\/ P", "Disjunction is commutative."),
        ("forall P Q R : Prop, (P -> Q) -> (Q -> R) -> P -> R", "Implication is transitive."),
        ("forall P Q : Prop, P -> (P -> Q) -> Q", "Modus ponens."),
        ("forall P Q R : Prop, P /\\ (Q \\/ R) -> (P /\\ Q) \\/ (P /\\ R)",
         "Conjunction distributes over disjunction."),
        ("forall P : Prop, P -> ~ ~ P", "A proposition implies its double negation."),
    ]
    body, informal = forms[i]
    return PROP, body, informal


def list_length(r: random.Random, i: int) -> tuple[str, str, str]:
    items = [r.randint(0, 9) for _ in range(r.randint(1, 7))]
    shown = "; ".join(map(str, items))
    return LHEAD, f"length [{shown}] = {len(items)}", f"The list [{shown}] has {len(items)} elements."


def nat_compute(r: random.Random, i: int) -> tuple[str, str, str]:
    a, b, c = r.randint(0, 50), r.randint(0, 12), r.randint(0, 12)
    return NAT, f"{a} + {b} * {c} = {a + b * c}", f"{a} + {b} * {c} equals {a + b * c}."


def z_ineq(r: random.Random, i: int) -> tuple[str, str, str]:
    a, k = r.randint(-30, 30), r.randint(2, 5)
    return (ZHEAD, f"(x : Z) (h0 : {_z(a)} < x) : {_z(a + 1)} <= {k} * x - {k - 1} * x",
            f"For an integer x > {a}, {k}x - {k - 1}x >= {a + 1}.")


def r_ineq(r: random.Random, i: int) -> tuple[str, str, str]:
    c, m = r.randint(1, 20), r.randint(2, 6)
    return (RHEAD, f"(x y : R) (h0 : x <= y) : {m} * x + {c} <= {m} * y + {c}",
            f"For reals x <= y, {m}x + {c} <= {m}y + {c}.")


def _z(value: int) -> str:
    return f"({value})" if value < 0 else str(value)


FAMILIES: list[Family] = [nat_add_le, nat_lin_eq, z_lin_sys, z_mod, r_lin, nat_sq, prop_logic, list_length,
                          nat_compute, z_ineq, r_ineq]


def main() -> None:
    rng = random.Random(20261127)
    rows = []
    for family in FAMILIES:
        for i in range(6):
            header, body, informal = family(rng, i)
            number = len(rows) + 1
            name = f"seed_{number:03d}"
            # Bodies with binders before the colon start with "(x"; others are propositions.
            binders = re.match(r"\([a-z][\w ]* :", body) is not None
            head = f"{header}\n\n" if header else ""
            sep = " " if binders else " : "
            statement = f"{head}(* informal: {informal} *)\nTheorem {name}{sep}{body}.\nProof.\nAdmitted.\n"
            rows.append({"name": name, "split": "train" if i < 4 else "heldout", "family": family.__name__,
                         "informal": informal, "statement": statement})
    with open("problems.jsonl", "w") as out:
        for row in rows:
            out.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
