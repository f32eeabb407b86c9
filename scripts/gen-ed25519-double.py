#!/usr/bin/env python3
"""Writes addons/pkarr/crypto/pkarr_ed25519_double.gd: Ed25519 point doubling with every field
operation inlined on local variables (the bodies of PkarrField25519.sq_times / mul, renamed), which
saves the per-call and per-array overhead of GDScript in the 253 doublings of a verification.
Run: python3 scripts/gen-ed25519-double.py (the output is committed)."""
import os

BITS = [26, 25] * 5


def mul_terms(k):
    """(i, j, coefficient-name parts) of h_k = sum f_i g_j (radix 2^25.5, ·19 wrap, ·2 odd-odd)."""
    out = []
    for i in range(10):
        j = (k - i) % 10
        out.append((i, j, i % 2 == 1 and j % 2 == 1, i + j >= 10))
    return out


def sq_terms(k):
    out = []
    for i in range(10):
        for j in range(i, 10):
            if (i + j) % 10 != k:
                continue
            pair = 1 if i == j else 2
            odd = 2 if (i % 2 == 1 and j % 2 == 1) else 1
            wrap = 19 if i + j >= 10 else 1
            out.append((i, j, pair, odd * wrap))
    return out


def carry(o):
    steps = [(0, 26), (4, 26), (1, 25), (5, 25), (2, 26), (6, 26), (3, 25), (7, 25), (4, 26), (8, 26), (9, 25), (0, 26)]
    lines = []
    for limb, bits in steps:
        half = 1 << (bits - 1)
        lines.append(f"\tc = ({o}{limb} + {half}) >> {bits}")
        if limb == 9:
            lines.append(f"\t{o}0 += c * 19")
        else:
            lines.append(f"\t{o}{limb + 1} += c")
        lines.append(f"\t{o}{limb} -= c * {1 << bits}")
    return lines


def wrap_sum(head, terms):
    """head + (t1 + t2 + ...) wrapped within 100 columns."""
    lines = []
    cur = head + "(" + terms[0]
    for t in terms[1:]:
        cand = cur + " + " + t
        if len(cand.replace("\t", "    ")) > 99:
            lines.append(cur)
            cur = "\t\t\t+ " + t
        else:
            cur = cand
    lines.append(cur + ")")
    return lines


def emit_sq(f, o, double=False):
    lines = []
    need = set()
    rows = []
    for k in range(10):
        terms = []
        for i, j, pair, m in sq_terms(k):
            a = f"{f}{i}" if pair == 1 else f"{o}_{f}{i}_2"
            b = f"{f}{j}" if m == 1 else f"{o}_{f}{j}_{m}"
            if pair != 1:
                need.add((i, 2))
            if m != 1:
                need.add((j, m))
            terms.append(f"{a} * {b}")
        rows.append(wrap_sum(f"\tvar {o}{k}: int = ", terms))
    for i, m in sorted(need):
        lines.append(f"\tvar {o}_{f}{i}_{m}: int = {m} * {f}{i}")
    for r in rows:
        lines.extend(r)
    if double:
        lines.extend(f"\t{o}{k} += {o}{k}" for k in range(10))
    lines.extend(carry(o))
    return lines


def emit_mul(f, g, o):
    lines = [f"\tvar {o}_{g}{i}_19: int = 19 * {g}{i}" for i in range(1, 10)]
    lines += [f"\tvar {o}_{f}{i}_2: int = 2 * {f}{i}" for i in (1, 3, 5, 7, 9)]
    for k in range(10):
        terms = []
        for i, j, odd, wrap in mul_terms(k):
            a = f"{o}_{f}{i}_2" if odd else f"{f}{i}"
            b = f"{o}_{g}{j}_19" if wrap else f"{g}{j}"
            terms.append(f"{a} * {b}")
        lines.extend(wrap_sum(f"\tvar {o}{k}: int = ", terms))
    lines.extend(carry(o))
    return lines


def main():
    body = []
    body += [f"\tvar x{i}: int = p_x[{i}]" for i in range(10)]
    body += [f"\tvar y{i}: int = p_y[{i}]" for i in range(10)]
    body += [f"\tvar z{i}: int = p_z[{i}]" for i in range(10)]
    body.append("\tvar c: int = 0")
    body.append("\t# A = X², B = Y², C = 2·Z² (carried)")
    body += emit_sq("x", "a")
    body += emit_sq("y", "b")
    body += emit_sq("z", "k", double=True)
    body.append("\t# S = X + Y; Q = S² (carried)")
    body += [f"\tvar s{i}: int = x{i} + y{i}" for i in range(10)]
    body += emit_sq("s", "q")
    body.append("\t# H = A + B, E = H - Q, G = A - B, F = C + G (each within three carried values)")
    body += [f"\tvar h{i}: int = a{i} + b{i}" for i in range(10)]
    body += [f"\tvar e{i}: int = h{i} - q{i}" for i in range(10)]
    body += [f"\tvar g{i}: int = a{i} - b{i}" for i in range(10)]
    body += [f"\tvar f{i}: int = k{i} + g{i}" for i in range(10)]
    body.append("\t# X3 = E·F, Y3 = G·H, Z3 = F·G, T3 = E·H")
    body += emit_mul("e", "f", "rx")
    body += emit_mul("g", "h", "ry")
    body += emit_mul("f", "g", "rz")
    rx = ", ".join(f"rx{i}" for i in range(10))
    ry = ", ".join(f"ry{i}" for i in range(10))
    rz = ", ".join(f"rz{i}" for i in range(10))
    body.append("\tvar out_x := PackedInt64Array([" + rx + "])")
    body.append("\tvar out_y := PackedInt64Array([" + ry + "])")
    body.append("\tvar out_z := PackedInt64Array([" + rz + "])")
    body.append("\tif not with_t:")
    body.append("\t\treturn [out_x, out_y, out_z, PackedInt64Array()]")
    body += emit_mul("e", "h", "rt")
    rt = ", ".join(f"rt{i}" for i in range(10))
    body.append("\tvar out_t := PackedInt64Array([" + rt + "])")
    body.append("\treturn [out_x, out_y, out_z, out_t]")
    text = '''class_name PkarrEd25519Double
extends RefCounted
## Ed25519 point doubling for [PkarrEd25519] (internal), generated by
## scripts/gen-ed25519-double.py: the formulas of PkarrEd25519's doubling (a = -1 twisted Edwards,
## extended coordinates) with the squaring and mul of [PkarrField25519] inlined on local variables
## (2·Z² as a square doubled before its carry). Do not edit; change the generator.


## 2·P for P = (X, Y, Z): [X3, Y3, Z3, T3], T3 empty unless [param with_t].
static func dbl(p_x: PackedInt64Array, p_y: PackedInt64Array, p_z: PackedInt64Array,
		with_t: bool) -> Array:
''' + "\n".join(body) + "\n"
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "addons", "pkarr", "crypto", "pkarr_ed25519_double.gd")
    with open(out, "w") as fh:
        fh.write(text)
    print("wrote", out, len(text.splitlines()), "lines")


main()
