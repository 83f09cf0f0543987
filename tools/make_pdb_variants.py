#!/usr/bin/env python3
"""Write a PDB file as the field writes them, and what OpenMM's PDBFile reads
from it, for steermd's PDB reader tests (tests/pdb_variants.rs).

Usage: python3 tools/make_pdb_variants.py [--out tests/data/pdb_variants]
(needs numpy and openmm, e.g. the venv that tools/make_reference.py creates).

Input: the first six residues of tests/data/villin.pdb (steermd's own data).
Output variants.pdb, with
- two MODELs (the second displaced by a fixed offset per atom), a CRYST1 box,
  TER records and CONECT records;
- hybrid-36 atom serials starting at 99,995 (as a >99,999-atom system has);
- four-character atom names (HD11, ...), as villin has them;
- residue 2 with blank element columns (elements guessed from the names);
- residue 3 with alternate locations A and B on its side chain (each A record
  followed by its B record, B displaced by 0.25 Å) and lower-case element
  symbols on its backbone;
- residue 5 renumbered 4 with insertion code A;
- residue 6 as HETATM records;
- a chain B of ions with blank elements: Cl-, Ca2+ (atom name CA alone in its
  residue) and Na+ whose residue number is '****' (as VMD writes past 9999);
and reference.json: what openmm.app.PDBFile reads from it (atom names,
residue names, ids, insertion codes and indices, chain ids, element symbols,
positions of every model in nm, box vectors in nm).
"""
import argparse
import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def hybrid36(n, width):
    """Hybrid-36 text of n in `width` columns (decimal below 10**width)."""
    if n < 10**width:
        return f"{n:{width}d}"
    v = n - 10**width + 10 * 36 ** (width - 1)
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    s = ""
    while v:
        v, r = divmod(v, 36)
        s = digits[r] + s
    return s.rjust(width)


def atom_line(record, serial, name, altloc, res_name, chain, res_num, icode, xyz, element):
    # Four-character names start in column 13, shorter ones in column 14.
    name_field = name if len(name) >= 4 else f" {name:<3}"
    x, y, z = xyz
    return (
        f"{record:<6}{hybrid36(serial, 5)} {name_field}{altloc}{res_name:>3} {chain}"
        f"{res_num:>4}{icode}   {x:8.3f}{y:8.3f}{z:8.3f}{1.0:6.2f}{0.0:6.2f}"
        f"          {element:>2}  "
    )


def villin_residues(n_res):
    """[(res_name, res_num, [(name, xyz Å, element)])] of villin.pdb."""
    residues = []
    for line in (ROOT / "tests/data/villin.pdb").read_text().splitlines():
        if not line.startswith("ATOM"):
            continue
        num = int(line[22:26])
        if num > n_res:
            break
        if not residues or residues[-1][1] != num:
            residues.append((line[17:20].strip(), num, []))
        xyz = tuple(float(line[c:c + 8]) for c in (30, 38, 46))
        residues[-1][2].append((line[12:16].strip(), xyz, line[76:78].strip()))
    return residues


def model_records(residues, shift):
    """The ATOM/HETATM/TER lines of one model; `shift(k)` displaces atom k (Å)."""
    lines, serial, k = [], 99_995, 0

    def add(record, name, altloc, res_name, chain, res_num, icode, xyz, element):
        nonlocal serial
        d = shift(k)
        lines.append(atom_line(record, serial, name, altloc, res_name, chain, res_num, icode,
                               tuple(a + b for a, b in zip(xyz, d)), element))
        serial += 1

    for res_name, num, atoms in residues:
        record = "HETATM" if num == 6 else "ATOM"
        res_num, icode = (4, "A") if num == 5 else (num, " ")
        for name, xyz, element in atoms:
            k += 1
            if num == 2:
                element = ""
            if num == 3 and name in ("N", "CA", "C", "O"):
                element = element.lower()
            if num == 3 and name not in ("N", "H", "CA", "HA", "C", "O"):
                add(record, name, "A", res_name, "A", res_num, icode, xyz, element)
                b = tuple(v + 0.25 for v in xyz)
                add(record, name, "B", res_name, "A", res_num, icode, b, element)
            else:
                add(record, name, " ", res_name, "A", res_num, icode, xyz, element)
    lines.append(f"TER   {hybrid36(serial, 5)}      {residues[-1][0]:>3} A{6:>4}")
    serial += 1
    for name, res_name, res_num, xyz in [("CL", "CL", "   7", (30.0, 10.0, 10.0)),
                                          ("CA", "CA", "   8", (10.0, 30.0, 10.0)),
                                          ("NA", "NA", "****", (10.0, 10.0, 30.0))]:
        k += 1
        d = shift(k)
        x, y, z = (a + b for a, b in zip(xyz, d))
        lines.append(f"HETATM{hybrid36(serial, 5)} {name:<4} {res_name:>3} B{res_num}    "
                     f"{x:8.3f}{y:8.3f}{z:8.3f}{1.0:6.2f}{0.0:6.2f}            ")
        serial += 1
    lines.append(f"TER   {hybrid36(serial, 5)}      {'NA':>3} B****")
    return lines


def write_variants(path):
    residues = villin_residues(6)
    out = ["REMARK   1 PDB VARIANTS FOR STEERMD'S READER TESTS",
           "CRYST1   50.000   52.000   54.000  90.00  90.00  90.00 P 1           1"]
    rng = np.random.default_rng(20261206)
    offsets = rng.uniform(-0.5, 0.5, size=(1000, 3)).round(3)
    for model, shift in [(1, lambda k: (0.0, 0.0, 0.0)), (2, lambda k: tuple(offsets[k]))]:
        out.append(f"MODEL     {model:>4}")
        out.extend(model_records(residues, shift))
        out.append("ENDMDL")
    out.append(f"CONECT{hybrid36(99_995, 5)}{hybrid36(99_996, 5)}{hybrid36(100_000, 5)}")
    out.append(f"CONECT{hybrid36(100_000, 5)}{hybrid36(99_995, 5)}")
    out.append("END")
    path.write_text("\n".join(out) + "\n")


def openmm_reading(path):
    import openmm.app as app
    import openmm.unit as unit

    pdb = app.PDBFile(str(path))
    top = pdb.topology
    atoms = [{
        "name": a.name,
        "res_name": a.residue.name,
        "res_id": a.residue.id,
        "insertion_code": a.residue.insertionCode,
        "residue_index": a.residue.index,
        "chain": a.residue.chain.id,
        "element": a.element.symbol if a.element is not None else None,
    } for a in top.atoms()]
    models = [pdb.getPositions(asNumpy=True, frame=f).value_in_unit(unit.nanometer).tolist()
              for f in range(pdb.getNumFrames())]
    box = top.getPeriodicBoxVectors()
    box = None if box is None else [[float(v) for v in row.value_in_unit(unit.nanometer)]
                                    for row in box]
    return {"atoms": atoms, "models": models, "box_vectors_nm": box}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "tests/data/pdb_variants"))
    out = Path(ap.parse_args().out)
    out.mkdir(parents=True, exist_ok=True)
    write_variants(out / "variants.pdb")
    ref = openmm_reading(out / "variants.pdb")
    (out / "reference.json").write_text(json.dumps(ref, indent=1) + "\n")
    print(f"{out}: {len(ref['atoms'])} atoms, {len(ref['models'])} models")


if __name__ == "__main__":
    main()
