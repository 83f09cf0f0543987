#!/usr/bin/env python3
"""Generate steermd's force-field reference data (OpenMM parity tests).

Usage::

    python3 tools/make_ff_reference.py [--venv PATH] [--out tests/data/ff]

If the running Python lacks the pinned packages (numpy, openmm, parmed at the
versions in ``PINNED``), a virtual environment is created (default
``tools/.venv``, shared with tools/make_reference.py whose pins agree), the
packages are pip-installed into it and the script re-executes itself there.

What it produces (one directory per case under ``--out``)::

    <case>/system.xml       openmm.XmlSerializer.serialize(system); force i is
                            in force group i (so the XML carries the groups)
    <case>/input.pdb        PDBFile.writeFile(topology, positions, keepIds=True)
                            (CRYST1 for the periodic case); the date in the
                            REMARK line is replaced so the output is reproducible
    <case>/positions.npy    float64 [N,3] nm: the positions the reference was
                            computed on (see below)
    <case>/forces.npy       float64 [n_groups,N,3] kJ/mol/nm, row k = forces of
                            reference.json groups[k]
    <case>/forces_total.npy float64 [N,3] kJ/mol/nm, all groups together
    <case>/reference.json   per-group and total energies (kJ/mol), settings,
                            constraints, degrees of freedom, mass sum, force
                            parameters (methods, cutoffs, dielectrics, ...)

All values come from OpenMM's Reference platform (double precision).

Why the positions are read back: the Rust tests read input.pdb (1e-3 Angstrom
= 1e-4 nm resolution), so every reference value is computed on the positions
*as re-read from input.pdb by openmm.app.PDBFile* (and, for the periodic case,
on the box read back from its CRYST1 record, which is also set as the System's
default box before serialising). For the prmtop cases the reference positions
are those of the inpcrd file as read by openmm.app.AmberInpcrdFile.

Cases:

1. ildn_obc_nocutoff: tests/data/villin.pdb, amber99sbildn.xml + amber99_obc.xml,
   NoCutoff, HBonds (GBSAOBCForce).
2. ildn_obc_cutoff: same, CutoffNonPeriodic 1.0 nm.
3. ff14sb_obc2_nocutoff: amber14-all.xml + implicit/obc2.xml, NoCutoff, HBonds
   (CustomGBForce; its parameter names / computed values / energy terms are in
   reference.json).
4. ildn_obc_cutoff_switch_periodic: the solvated openmm/app/data/test.pdb
   (villin + TIP3P water + 2 Cl-), amber99sbildn.xml + tip3p.xml, CutoffPeriodic
   (reaction field) with LJ switch, dispersion correction, HBonds, rigid water.
   (The name keeps "obc" for symmetry with the other cases, but there is no GB
   force in this explicit-water system.)
5. prmtop_mbondi2: villin parametrised by OpenMM from amber99sbildn.xml (no
   constraints), converted with ParmEd to an Amber prmtop (mbondi2 radii) and
   inpcrd; the reference System is AmberPrmtopFile(...).createSystem(NoCutoff,
   HBonds, implicitSolvent=OBC2). A round-trip check compares the prmtop
   system without GB with the original XML-derived system.
6. prmtop_mbondi3_cutoff: the same prmtop with mbondi3 radii, CutoffNonPeriodic
   1.0 nm, HBonds, OBC2 (inpcrd shared with case 5).

Plus malformed inputs under bad/: truncated.prmtop (first 40% of the lines of
villin.prmtop), unknown_force.xml (case-1 system.xml with an extra, genuine
serialized AmoebaMultipoleForce element inside <Forces>) and
wrong_atom_count.pdb (case-1 input.pdb without its last residue).

A listing of every file (bytes, shape, dtype, description) is written to
``<out>/MANIFEST.json``. Everything is deterministic; the script asserts
internal consistency (sum of group energies == total energy, sum of group
forces == total forces, no NaN, positions read back == positions written).
"""
from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

TOOLS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TOOLS_DIR.parent

# Versions used to produce the committed data (pins keep regeneration faithful).
PINNED = ["numpy==2.4.6", "openmm==8.6.1", "parmed==4.3.1"]
REQUIRED_MODULES = ["numpy", "openmm", "openmm.app", "parmed", "parmed.openmm", "parmed.amber", "parmed.tools"]

TRUNCATE_FRACTION = 0.4
CASE_DIRS = ["ildn_obc_nocutoff", "ildn_obc_cutoff", "ff14sb_obc2_nocutoff", "ildn_obc_cutoff_switch_periodic",
             "prmtop_mbondi2", "prmtop_mbondi3_cutoff"]
VILLIN_PDB = REPO_ROOT / "tests" / "data" / "villin.pdb"


# ---------------------------------------------------------------------------
# bootstrap (same pattern as tools/make_reference.py, plus a version check)
# ---------------------------------------------------------------------------
def _env_problems(python=None):
    pins = dict(p.split("==") for p in PINNED)
    code = ("import importlib,importlib.metadata as md\nbad=[]\n"
            f"for m in {REQUIRED_MODULES!r}:\n"
            "    try: importlib.import_module(m)\n"
            "    except Exception: bad.append(m)\n"
            f"for d,v in {pins!r}.items():\n"
            "    try:\n"
            "        if md.version(d)!=v: bad.append(d+'!='+v)\n"
            "    except Exception: bad.append(d)\n"
            "print(','.join(bad))\n")
    if python is None:
        import contextlib
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            exec(code, {})
        out = buf.getvalue().strip()
    else:
        out = subprocess.run([python, "-c", code], capture_output=True, text=True).stdout.strip()
    return [m for m in out.split(",") if m]


def bootstrap(venv_arg):
    if not _env_problems():
        return
    venv = Path(venv_arg).resolve() if venv_arg else TOOLS_DIR / ".venv"
    vpy = venv / "bin" / "python"
    if os.environ.get("STEERMD_FF_REF_BOOTSTRAPPED"):
        sys.exit(f"still missing/mismatched {_env_problems()} inside {sys.executable}; giving up")
    if not vpy.exists():
        print(f"creating venv {venv}", flush=True)
        subprocess.check_call([sys.executable, "-m", "venv", str(venv)])
    problems = _env_problems(str(vpy))
    if problems:
        print(f"venv {venv}: {problems}; installing {PINNED}", flush=True)
        subprocess.check_call([str(vpy), "-m", "pip", "install", "--upgrade", "pip"])
        subprocess.check_call([str(vpy), "-m", "pip", "install", *PINNED])
    env = dict(os.environ, STEERMD_FF_REF_BOOTSTRAPPED="1")
    os.execve(str(vpy), [str(vpy), str(Path(__file__).resolve()), *sys.argv[1:]], env)


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def log(*a):
    print("[make_ff_reference]", *a, flush=True)


def write_json(path: Path, obj):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def write_pdb(path: Path, topology, positions):
    """PDBFile.writeFile(keepIds=True) with the date in the REMARK line removed."""
    import openmm.app as app

    buf = io.StringIO()
    app.PDBFile.writeFile(topology, positions, buf, keepIds=True)
    text = re.sub(r"^(REMARK   1 CREATED WITH OPENMM [^,\n]*), \d{4}-\d{2}-\d{2}$",
                  r"\1 BY tools/make_ff_reference.py", buf.getvalue(), count=1, flags=re.M)
    path.write_text(text)


def read_back(path: Path):
    """Re-read a PDB; returns (PDBFile, positions as float64 [N,3] nm, box as float64 [3,3] nm or None)."""
    import numpy as np
    import openmm.app as app
    import openmm.unit as u

    pdb = app.PDBFile(str(path))
    pos = np.array(pdb.getPositions(asNumpy=True).value_in_unit(u.nanometer), dtype=np.float64)
    # OpenMM's conversion, bit for bit: nm = float(Angstrom field) * 0.1 (not / 10)
    recs = [ln for ln in path.read_text().splitlines() if ln.startswith(("ATOM", "HETATM"))]
    txt = np.array([[float(ln[30:38]), float(ln[38:46]), float(ln[46:54])] for ln in recs])
    assert np.array_equal(txt * 0.1, pos), "PDB positions are not Angstrom * 0.1"
    vecs = pdb.topology.getPeriodicBoxVectors()
    box = None if vecs is None else np.array([[v[i].value_in_unit(u.nanometer) for i in range(3)] for v in vecs])
    return pdb, pos, box


def vec3_list(arr):
    import openmm as mm
    import openmm.unit as u

    return [mm.Vec3(*map(float, r)) for r in arr] * u.nanometer


def assign_groups(system):
    forces = system.getForces()
    assert len(forces) <= 32, f"{len(forces)} forces do not fit in 32 force groups"
    for i, f in enumerate(forces):
        f.setForceGroup(i)


NB_METHODS = {"NonbondedForce": ["NoCutoff", "CutoffNonPeriodic", "CutoffPeriodic", "Ewald", "PME", "LJPME"],
              "GBSAOBCForce": ["NoCutoff", "CutoffNonPeriodic", "CutoffPeriodic"],
              "CustomGBForce": ["NoCutoff", "CutoffNonPeriodic", "CutoffPeriodic"]}
GB_COMPUTATION = ["SingleParticle", "ParticlePair", "ParticlePairNoExclusions"]


def custom_gb_info(f):
    return {
        "per_particle_parameters": [f.getPerParticleParameterName(i) for i in range(f.getNumPerParticleParameters())],
        "global_parameters": {f.getGlobalParameterName(i): f.getGlobalParameterDefaultValue(i)
                              for i in range(f.getNumGlobalParameters())},
        "computed_values": [dict(zip(("name", "expression"), f.getComputedValueParameters(i)[:2]),
                                 type=GB_COMPUTATION[f.getComputedValueParameters(i)[2]],
                                 type_int=int(f.getComputedValueParameters(i)[2]))
                            for i in range(f.getNumComputedValues())],
        "energy_terms": [{"expression": f.getEnergyTermParameters(i)[0],
                          "type": GB_COMPUTATION[f.getEnergyTermParameters(i)[1]],
                          "type_int": int(f.getEnergyTermParameters(i)[1])}
                         for i in range(f.getNumEnergyTerms())],
        "n_tabulated_functions": f.getNumTabulatedFunctions(),
        "n_exclusions": f.getNumExclusions(),
    }


def force_details(f):
    """Parameters of one force that the Rust side must reproduce (all lengths nm)."""
    import openmm as mm
    import openmm.unit as u

    name = type(f).__name__
    d = {"name": f.getName(), "uses_pbc": bool(f.usesPeriodicBoundaryConditions())}
    if isinstance(f, mm.HarmonicBondForce):
        d["n_bonds"] = f.getNumBonds()
    elif isinstance(f, mm.HarmonicAngleForce):
        d["n_angles"] = f.getNumAngles()
    elif isinstance(f, mm.PeriodicTorsionForce):
        d["n_torsions"] = f.getNumTorsions()
    elif isinstance(f, mm.NonbondedForce):
        d.update(nonbonded_method=NB_METHODS[name][f.getNonbondedMethod()],
                 cutoff_nm=f.getCutoffDistance().value_in_unit(u.nanometer),
                 reaction_field_dielectric=f.getReactionFieldDielectric(),
                 use_switching_function=bool(f.getUseSwitchingFunction()),
                 switching_distance_nm=f.getSwitchingDistance().value_in_unit(u.nanometer),
                 use_dispersion_correction=bool(f.getUseDispersionCorrection()),
                 n_particles=f.getNumParticles(), n_exceptions=f.getNumExceptions())
    elif isinstance(f, mm.GBSAOBCForce):
        d.update(nonbonded_method=NB_METHODS[name][f.getNonbondedMethod()],
                 cutoff_nm=f.getCutoffDistance().value_in_unit(u.nanometer),
                 solute_dielectric=f.getSoluteDielectric(), solvent_dielectric=f.getSolventDielectric(),
                 surface_area_energy_kj_mol_nm2=f.getSurfaceAreaEnergy().value_in_unit(
                     u.kilojoule_per_mole / u.nanometer ** 2),
                 n_particles=f.getNumParticles())
    elif isinstance(f, mm.CustomGBForce):
        d.update(nonbonded_method=NB_METHODS[name][f.getNonbondedMethod()],
                 cutoff_nm=f.getCutoffDistance().value_in_unit(u.nanometer),
                 n_particles=f.getNumParticles(), custom_gb=custom_gb_info(f))
    elif isinstance(f, mm.CMMotionRemover):
        d["frequency"] = f.getFrequency()
    return d


def reference_context(system, pos, box):
    import openmm as mm

    integ = mm.VerletIntegrator(0.001)
    ctx = mm.Context(system, integ, mm.Platform.getPlatformByName("Reference"))
    if box is not None:
        ctx.setPeriodicBoxVectors(*[mm.Vec3(*map(float, r)) for r in box])
    ctx.setPositions(vec3_list(pos))
    return ctx, integ


def energies_forces(system, pos, box):
    """Per-group and total energies (kJ/mol) and forces (kJ/mol/nm) on the Reference platform."""
    import numpy as np
    import openmm.unit as u

    ctx, _integ = reference_context(system, pos, box)
    kjm, kjmnm = u.kilojoule_per_mole, u.kilojoule_per_mole / u.nanometer
    groups, forces = [], []
    for g, f in enumerate(system.getForces()):
        assert f.getForceGroup() == g
        st = ctx.getState(getEnergy=True, getForces=True, groups={g})
        groups.append((g, f, st.getPotentialEnergy().value_in_unit(kjm)))
        forces.append(np.array(st.getForces(asNumpy=True).value_in_unit(kjmnm), dtype=np.float64))
    st = ctx.getState(getEnergy=True, getForces=True)
    total_e = st.getPotentialEnergy().value_in_unit(kjm)
    total_f = np.array(st.getForces(asNumpy=True).value_in_unit(kjmnm), dtype=np.float64)
    # the context really used the positions/box we gave it
    sp = ctx.getState(getPositions=True)
    assert np.array_equal(np.array(sp.getPositions(asNumpy=True).value_in_unit(u.nanometer)), pos)
    if box is not None:
        vb = np.array([[v[i].value_in_unit(u.nanometer) for i in range(3)] for v in sp.getPeriodicBoxVectors()])
        assert np.array_equal(vb, box)
    del ctx
    forces = np.stack(forces)
    # internal consistency
    esum = sum(e for _, _, e in groups)
    assert all(np.isfinite(e) for _, _, e in groups) and np.isfinite(total_e)
    assert np.isfinite(forces).all() and np.isfinite(total_f).all()
    assert abs(esum - total_e) <= 1e-9 * max(abs(total_e), 1.0), (esum, total_e)
    fsum = forces.sum(0)
    scale = np.sqrt((total_f ** 2).mean())
    assert np.abs(fsum - total_f).max() <= 1e-9 * scale, np.abs(fsum - total_f).max() / scale
    return groups, forces, total_e, total_f


def n_dof(system):
    import openmm as mm

    n = system.getNumParticles()
    cmm = any(isinstance(f, mm.CMMotionRemover) for f in system.getForces())
    n_real = sum(1 for i in range(n) if system.getParticleMass(i)._value > 0)
    return 3 * n_real - system.getNumConstraints() - (3 if cmm else 0), cmm


def mass_sum(system):
    import openmm.unit as u

    return sum(system.getParticleMass(i).value_in_unit(u.dalton) for i in range(system.getNumParticles()))


def versions():
    import numpy as np
    import openmm
    import parmed

    return {"python": sys.version.split()[0], "numpy": np.__version__, "openmm": openmm.__version__,
            "parmed": parmed.__version__}


def finish_case(out: Path, case: str, description: str, system, pos, box, settings: dict, files: dict,
                extra: dict | None = None):
    """Serialise the system, compute and write the reference for one case."""
    import numpy as np
    import openmm as mm

    d = out / case
    assert system.getNumParticles() == len(pos)
    for g, f in enumerate(system.getForces()):
        assert f.getForceGroup() == g, "assign_groups() must run before finish_case()"
    if box is not None:
        dv = system.getDefaultPeriodicBoxVectors()
        dflt = np.array([[v[i]._value for i in range(3)] for v in dv])
        assert np.array_equal(dflt, box), "System default box differs from the PDB box"
    xml = mm.XmlSerializer.serialize(system)
    (d / "system.xml").write_text(xml)
    # the serialized system gives the same energies (what Rust will read)
    sys2 = mm.XmlSerializer.deserialize(xml)
    groups, forces, total_e, total_f = energies_forces(sys2, pos, box)

    np.save(d / "positions.npy", np.ascontiguousarray(pos, dtype="<f8"))
    np.save(d / "forces.npy", np.ascontiguousarray(forces, dtype="<f8"))
    np.save(d / "forces_total.npy", np.ascontiguousarray(total_f, dtype="<f8"))
    dof, cmm = n_dof(sys2)
    glist = []
    for g, f, e in groups:
        cls = type(f).__name__
        entry = {"group": g, "force": cls, "energy_kj_mol": e,
                 "force_rms_kj_mol_nm": float(np.sqrt((forces[g] ** 2).mean()))}
        if cls == "CustomGBForce":
            entry["note"] = "CustomGBForce (GB implemented with custom expressions; see details.custom_gb)"
        entry["details"] = force_details(f)
        glist.append(entry)
    ref = {
        "case": case,
        "description": description,
        "openmm_version": mm.__version__,
        "platform": "Reference",
        "precision": "double",
        "versions": versions(),
        "n_atoms": int(system.getNumParticles()),
        "units": {"energy": "kJ/mol", "forces": "kJ/mol/nm", "positions": "nm", "box": "nm", "mass": "dalton",
                  "conversion": ("OpenMM reads PDB/inpcrd/CRYST1 Angstrom values as float(text) * 0.1 "
                                 "(bitwise; x / 10 differs by 1 ulp for about a third of the values)")},
        "files": files,
        "total_energy_kj_mol": total_e,
        "groups": glist,
        "box_nm": None if box is None else box.tolist(),
        "settings": settings,
        "constraints": int(sys2.getNumConstraints()),
        "has_cmmotion_remover": cmm,
        "dof": int(dof),
        "mass_sum_dalton": mass_sum(sys2),
        "force_rms_total_kj_mol_nm": float(np.sqrt((total_f ** 2).mean())),
    }
    if extra:
        ref.update(extra)
    write_json(d / "reference.json", ref)
    log(f"{case}: N={ref['n_atoms']} E_total={total_e:.6f} kJ/mol constraints={ref['constraints']} dof={dof}")
    for e in glist:
        log(f"    group {e['group']:2d} {e['force']:22s} {e['energy_kj_mol']:+.6f}")
    return ref


# ---------------------------------------------------------------------------
# cases 1-4: ForceField XML
# ---------------------------------------------------------------------------
def pdb_roundtrip(d: Path, topology, positions):
    """Write input.pdb, re-read it, check it holds what was written (to PDB resolution)."""
    import numpy as np
    import openmm.unit as u

    d.mkdir(parents=True, exist_ok=True)
    write_pdb(d / "input.pdb", topology, positions)
    pdb, pos, box = read_back(d / "input.pdb")
    src = np.array(positions.value_in_unit(u.nanometer))
    assert pdb.topology.getNumAtoms() == topology.getNumAtoms()
    assert np.abs(pos - src).max() <= 0.5e-4 + 1e-12, "PDB round trip moved atoms by more than 0.5e-4 nm"
    return pdb, pos, box


def ff_case(out: Path, case: str, description: str, src_pdb, ff_files, settings_kw: dict, periodic=False,
            extra_fn=None):
    import openmm as mm
    import openmm.app as app
    import openmm.unit as u

    d = out / case
    pdb, pos, box = pdb_roundtrip(d, src_pdb.topology, src_pdb.positions)
    assert (box is not None) == periodic
    ff = app.ForceField(*ff_files)
    kw = dict(settings_kw)
    system = ff.createSystem(pdb.topology, **kw)
    if periodic:
        system.setDefaultPeriodicBoxVectors(*[mm.Vec3(*map(float, r)) for r in box])
    if extra_fn is not None:
        extra_fn(system)
    assign_groups(system)

    def fmt(v):
        if u.is_quantity(v):
            return f"{v.value_in_unit(u.nanometer)} nm"
        if v in (app.NoCutoff, app.CutoffNonPeriodic, app.CutoffPeriodic, app.PME, app.Ewald):
            return str(v)
        if v in (app.HBonds, app.AllBonds, app.HAngles):
            return str(v)
        return v

    settings = {"forcefield": list(ff_files), **{k: fmt(v) for k, v in kw.items()}}
    return d, system, pos, box, settings


def nonbonded_cutoff_check(system, pos, energy):
    """Recompute a non-periodic cutoff NonbondedForce (no switch) in numpy: documents OpenMM's convention.

    With reaction-field dielectric eps_rf: k_rf = (eps_rf-1)/((2 eps_rf+1) rc^3), c_rf = 3 eps_rf/((2 eps_rf+1) rc)
    (eps_rf = 1 gives k_rf = 0, c_rf = 1/rc: a plain shift); Coulomb ONE_4PI_EPS0*qi*qj*(1/r + k_rf r^2 - c_rf)
    and plain truncated LJ (Lorentz-Berthelot) for non-excluded pairs with r < rc; exceptions with no cutoff
    and no reaction field."""
    import numpy as np
    import openmm as mm

    nb = [f for f in system.getForces() if isinstance(f, mm.NonbondedForce)][0]
    assert nb.getNonbondedMethod() == mm.NonbondedForce.CutoffNonPeriodic and not nb.getUseSwitchingFunction()
    n, k = len(pos), one_4pi_eps0()
    rc, eps_rf = nb.getCutoffDistance()._value, nb.getReactionFieldDielectric()
    krf, crf = (eps_rf - 1) / ((2 * eps_rf + 1) * rc ** 3), 3 * eps_rf / ((2 * eps_rf + 1) * rc)
    q, sg, ep = (np.array([nb.getParticleParameters(i)[j]._value for i in range(n)]) for j in range(3))
    excl, e_exc = set(), 0.0
    for x in range(nb.getNumExceptions()):
        i, j, qq, sig, eps = nb.getExceptionParameters(x)
        excl.add((min(i, j), max(i, j)))
        r = float(np.linalg.norm(pos[i] - pos[j]))
        e_exc += k * qq._value / r + 4 * eps._value * ((sig._value / r) ** 12 - (sig._value / r) ** 6)
    i, j = np.triu_indices(n, 1)
    keep = np.array([(a, b) not in excl for a, b in zip(i, j)])
    i, j = i[keep], j[keep]
    r = np.linalg.norm(pos[i] - pos[j], axis=1)
    w = r < rc
    i, j, r = i[w], j[w], r[w]
    sij, eij = 0.5 * (sg[i] + sg[j]), np.sqrt(ep[i] * ep[j])
    e = float((k * q[i] * q[j] * (1 / r + krf * r ** 2 - crf)).sum()
              + (4 * eij * ((sij / r) ** 12 - (sij / r) ** 6)).sum() + e_exc)
    res = {"what": ("numpy recomputation: ONE_4PI_EPS0*qi*qj*(1/r + k_rf r^2 - c_rf) + truncated LJ for non-excluded "
                    "pairs with r < rc, exceptions without cutoff/reaction field"),
           "reaction_field_dielectric": eps_rf, "k_rf": krf, "c_rf": crf, "one_4pi_eps0": k,
           "energy_numpy_kj_mol": e, "energy_openmm_kj_mol": energy, "rel_diff": (e - energy) / abs(energy)}
    log(f"    nonbonded cutoff check: numpy {e:.9f} openmm {energy:.9f}")
    assert abs(res["rel_diff"]) < 1e-9, res
    return res


def case_ildn(out: Path, villin, cutoff: bool):
    import openmm.app as app
    import openmm.unit as u

    case = "ildn_obc_cutoff" if cutoff else "ildn_obc_nocutoff"
    kw = {"nonbondedMethod": app.CutoffNonPeriodic if cutoff else app.NoCutoff, "constraints": app.HBonds}
    if cutoff:
        kw["nonbondedCutoff"] = 1.0 * u.nanometer
    desc = (f"Villin headpiece (tests/data/villin.pdb, 582 atoms, no water), ForceField('amber99sbildn.xml', "
            f"'amber99_obc.xml').createSystem({'CutoffNonPeriodic, 1.0 nm' if cutoff else 'NoCutoff'}, "
            "constraints=HBonds); reference on the positions re-read from input.pdb")
    d, system, pos, box, settings = ff_case(out, case, desc, villin, ["amber99sbildn.xml", "amber99_obc.xml"], kw)
    ref = finish_case(out, case, desc, system, pos, box, settings, files={"system": "system.xml", "pdb": "input.pdb"})
    if cutoff:
        e_nb = next(g["energy_kj_mol"] for g in ref["groups"] if g["force"] == "NonbondedForce")
        ref["nonbonded_convention_check"] = nonbonded_cutoff_check(system, pos, e_nb)
        write_json(d / "reference.json", ref)
    return ref


def case_ff14sb(out: Path, villin):
    import openmm as mm
    import openmm.app as app

    case = "ff14sb_obc2_nocutoff"
    desc = ("Villin headpiece (tests/data/villin.pdb), ForceField('amber14-all.xml', 'implicit/obc2.xml')"
            ".createSystem(NoCutoff, constraints=HBonds): GB as a CustomGBForce (GBSAOBC2Force, ACE surface term)")
    kw = {"nonbondedMethod": app.NoCutoff, "constraints": app.HBonds}
    d, system, pos, box, settings = ff_case(out, case, desc, villin, ["amber14-all.xml", "implicit/obc2.xml"], kw)
    gbs = [f for f in system.getForces() if isinstance(f, mm.CustomGBForce)]
    assert len(gbs) == 1, "expected exactly one CustomGBForce"
    info = custom_gb_info(gbs[0])
    info["group"] = gbs[0].getForceGroup()
    info["created_by"] = "openmm.app.internal.customgbforces.GBSAOBC2Force (via implicit/obc2.xml <Script>)"
    return finish_case(out, case, desc, system, pos, box, settings, files={"system": "system.xml", "pdb": "input.pdb"},
                       extra={"custom_gb": info})


def case_periodic(out: Path):
    import numpy as np
    import openmm as mm
    import openmm.app as app
    import openmm.unit as u

    case = "ildn_obc_cutoff_switch_periodic"
    src_path = Path(app.__file__).parent / "data" / "test.pdb"
    src = app.PDBFile(str(src_path))
    vecs = src.topology.getPeriodicBoxVectors()
    box_note = "box from test.pdb's CRYST1 record"
    if vecs is None:  # not the case for OpenMM 8.6.1's test.pdb; kept for other versions
        x = np.array(src.positions.value_in_unit(u.nanometer))
        ext = x.max(0) - x.min(0) + 0.2
        src.topology.setPeriodicBoxVectors([mm.Vec3(ext[0], 0, 0), mm.Vec3(0, ext[1], 0), mm.Vec3(0, 0, ext[2])]
                                           * u.nanometer)
        box_note = "test.pdb had no CRYST1; box = coordinate extent + 0.2 nm"
    bl = np.array([[v[i].value_in_unit(u.nanometer) for i in range(3)] for v in src.topology.getPeriodicBoxVectors()])
    half = 0.5 * min(bl[0, 0], bl[1, 1], bl[2, 2])
    cutoff = next(c for c in (1.0, 0.9, 0.8) if c < half)
    switch = round(cutoff - 0.1, 10)
    kw = {"nonbondedMethod": app.CutoffPeriodic, "nonbondedCutoff": cutoff * u.nanometer,
          "switchDistance": switch * u.nanometer, "constraints": app.HBonds, "rigidWater": True}
    desc = (f"Solvated villin (openmm/app/data/test.pdb: villin + TIP3P + 2 Cl-), ForceField('amber99sbildn.xml', "
            f"'tip3p.xml').createSystem(CutoffPeriodic {cutoff} nm (reaction field), switchDistance {switch} nm, "
            "dispersion correction on, HBonds, rigidWater); no GB force despite the case name")

    def set_dispersion(system):
        nb = [f for f in system.getForces() if isinstance(f, mm.NonbondedForce)]
        assert len(nb) == 1
        nb[0].setUseDispersionCorrection(True)
        assert nb[0].getUseDispersionCorrection() and nb[0].getUseSwitchingFunction()

    d, system, pos, box, settings = ff_case(out, case, desc, src, ["amber99sbildn.xml", "tip3p.xml"], kw,
                                            periodic=True, extra_fn=set_dispersion)
    settings["useDispersionCorrection"] = True
    # energy of the dispersion correction alone (helps debugging the Rust long-range term)
    nb_i = next(i for i, f in enumerate(system.getForces()) if isinstance(f, mm.NonbondedForce))
    sys_nodisp = mm.XmlSerializer.deserialize(mm.XmlSerializer.serialize(system))
    sys_nodisp.getForce(nb_i).setUseDispersionCorrection(False)
    g_nd, _, _, _ = energies_forces(sys_nodisp, pos, box)
    ref = finish_case(out, case, desc, system, pos, box, settings,
                      files={"system": "system.xml", "pdb": "input.pdb"},
                      extra={"box_note": box_note, "source": f"openmm/app/data/test.pdb (OpenMM {mm.__version__})",
                             "cutoff_rule": "largest of 1.0/0.9/0.8 nm below half the shortest box edge",
                             "n_atoms_outside_box": int(((pos < 0) | (pos >= np.diag(box))).any(1).sum()),
                             "n_waters": sum(1 for r in src.topology.residues() if r.name == "HOH")})
    e_disp = ref["groups"][nb_i]["energy_kj_mol"] - g_nd[nb_i][2]
    ref["nonbonded_dispersion_correction_energy_kj_mol"] = e_disp
    write_json(out / case / "reference.json", ref)
    log(f"    dispersion correction energy {e_disp:.6f} kJ/mol")
    return ref


# ---------------------------------------------------------------------------
# cases 5-6: Amber prmtop through ParmEd
# ---------------------------------------------------------------------------
def write_prmtop(parm, path: Path):
    """AmberParm.write_parm with the %VERSION date fixed (reproducible output)."""
    buf = io.StringIO()
    parm.write_parm(buf)
    text = re.sub(r"^%VERSION .*$", "%VERSION  VERSION_STAMP = V0001.000  DATE = 01/01/00  00:00:00",
                  buf.getvalue(), count=1, flags=re.M)
    path.write_text(text)


def prmtop_sections(path: Path):
    """{FLAG: list of lines of data} of an Amber prmtop."""
    secs, cur = {}, None
    for line in path.read_text().splitlines():
        if line.startswith("%FLAG"):
            cur = line.split()[1]
            secs[cur] = []
        elif line.startswith("%") or cur is None:
            continue
        else:
            secs[cur].append(line)
    return secs


def prmtop_checks(path: Path, radius_set_word: str):
    import numpy as np

    s = prmtop_sections(path)
    nums = lambda k: np.array(" ".join(s[k]).split(), dtype=float)
    scee, scnb = nums("SCEE_SCALE_FACTOR"), nums("SCNB_SCALE_FACTOR")
    ndihtypes = len(nums("DIHEDRAL_FORCE_CONSTANT"))
    radius_set = " ".join(s["RADIUS_SET"]).strip()
    radii, screen = nums("RADII"), nums("SCREEN")
    natom = int(s["POINTERS"][0].split()[0])
    # torsion types used by torsions that carry a 1-4 pair (3rd index >= 0, Amber convention)
    dih = np.concatenate([nums("DIHEDRALS_INC_HYDROGEN"), nums("DIHEDRALS_WITHOUT_HYDROGEN")]).astype(np.int64)
    dih = dih.reshape(-1, 5)
    t14 = np.unique(dih[dih[:, 2] >= 0, 4] - 1)
    tno14 = np.setdiff1d(np.arange(ndihtypes), t14)
    uc = lambda a: {f"{v:.9g}": int(c) for v, c in zip(*np.unique(a, return_counts=True))}
    c = {"SCEE_SCALE_FACTOR_value_counts": uc(scee),
         "SCNB_SCALE_FACTOR_value_counts": uc(scnb),
         "SCEE_SCALE_FACTOR_of_types_with_1-4_pairs": uc(scee[t14]),
         "SCNB_SCALE_FACTOR_of_types_with_1-4_pairs": uc(scnb[t14]),
         "SCEE_SCNB_of_types_without_1-4_pairs": [uc(scee[tno14]), uc(scnb[tno14])],
         "n_dihedral_types": ndihtypes,
         "RADIUS_SET": radius_set,
         "RADII_present": len(radii) == natom, "SCREEN_present": len(screen) == natom,
         "RADII_unique_angstrom": sorted(set(radii.tolist())),
         "SCREEN_unique": sorted(set(screen.tolist())),
         "note": ("ParmEd derives SCEE = 1/(exception chargeProd / (qi*qj)) and SCNB = eps_ij / exception eps from "
                  "the OpenMM exceptions: amber99sbildn.xml has coulomb14scale=0.833333, hence SCEE 1.20000048; "
                  "SCNB is 1e10 where the 1-4 pair has zero LJ epsilon (H atoms with eps=0), where any value "
                  "gives zero; types used only by torsions without a 1-4 pair (impropers, duplicate terms) keep "
                  "ParmEd's default 1.0")}
    assert len(scee) == ndihtypes and len(scnb) == ndihtypes
    assert np.all(np.abs(scee[t14] - 1.2) < 1e-6), uc(scee[t14])
    assert set(np.unique(scnb[t14]).tolist()) <= {2.0, 1e10}, uc(scnb[t14])
    assert c["RADII_present"] and c["SCREEN_present"]
    assert radius_set_word in radius_set, radius_set
    return c


def energies_by_class(system, pos, box=None):
    """{class name: (energy, forces)}; every force gets its own group first (on a copy)."""
    import openmm as mm

    s = mm.XmlSerializer.deserialize(mm.XmlSerializer.serialize(system))
    assign_groups(s)
    groups, forces, _, _ = energies_forces(s, pos, box)
    out = {}
    for g, f, e in groups:
        name = type(f).__name__
        assert name not in out, f"two {name}s"
        out[name] = (e, forces[g])
    return out


# OpenMM's C++ Coulomb constant (SimTKOpenMMRealType.h, CODATA 2018), evaluated in the same order:
# ONE_4PI_EPS0 = 1/(4*M_PI*EPSILON0), EPSILON0 = 1e-6*8.8541878128e-12/(E_CHARGE*E_CHARGE*AVOGADRO)
def one_4pi_eps0():
    import math
    e_charge, avogadro = 1.602176634e-19, 6.02214076e23
    return 1 / (4 * math.pi * (1e-6 * 8.8541878128e-12 / (e_charge * e_charge * avogadro)))


def gb_cross_check(out: Path, system, pos, cutoff_nm):
    """The built-in GBSAOBCForce of a prmtop case vs openmm.app's CustomGBForce OBC2 (GBSAOBC2Force) built
    from the same particle parameters, the same dielectrics, ACE surface term and cutoff. The CustomGBForce
    expressions hard-code 138.935485; OpenMM's C++ uses ONE_4PI_EPS0 = 138.93545764438198, so the two
    agree only once that constant is swapped into the expressions. For the NoCutoff case the CustomGBForce
    of case ff14sb_obc2_nocutoff is also checked to carry these parameters (or = radius - 0.009,
    sr = screen * or; ff14SB and ff99SB-ILDN charges agree to the prmtop's ~1e-8)."""
    import numpy as np
    import openmm as mm
    from openmm.app.internal.customgbforces import GBSAOBC2Force

    ob = [f for f in system.getForces() if isinstance(f, mm.GBSAOBCForce)][0]
    po = np.array([[ob.getParticleParameters(i)[0]._value, ob.getParticleParameters(i)[1]._value,
                    ob.getParticleParameters(i)[2]] for i in range(ob.getNumParticles())])
    k = one_4pi_eps0()
    res = {"what": ("this case's GBSAOBCForce vs openmm.app.internal.customgbforces.GBSAOBC2Force (CustomGBForce, "
                    "SA='ACE') with the same charges/radii/screen, dielectrics and cutoff, on these positions"),
           "one_4pi_eps0_openmm_cpp": k}

    def alone(force):
        s = mm.System()
        for i in range(system.getNumParticles()):
            s.addParticle(system.getParticleMass(i))
        force.setForceGroup(0)
        s.addForce(force)
        return s

    def custom(const):
        cg = GBSAOBC2Force(solventDielectric=ob.getSolventDielectric(), soluteDielectric=ob.getSoluteDielectric(),
                           SA="ACE", cutoff=cutoff_nm)
        for q, r, sc in po:
            cg.addParticle([q, r, sc])
        cg.finalize()
        for i in range(cg.getNumEnergyTerms()):
            expr, typ = cg.getEnergyTermParameters(i)
            cg.setEnergyTermParameters(i, expr.replace("138.935485", const), typ)
        if cutoff_nm is None:
            cg.setNonbondedMethod(mm.CustomGBForce.NoCutoff)
        else:
            cg.setNonbondedMethod(mm.CustomGBForce.CutoffNonPeriodic)
            cg.setCutoffDistance(cutoff_nm)
        return cg

    ob_copy = mm.XmlSerializer.deserialize(mm.XmlSerializer.serialize(ob))
    e_ob, f_ob = energies_forces(alone(ob_copy), pos, None)[2:]
    e_cg, f_cg = energies_forces(alone(custom("138.935485")), pos, None)[2:]
    e_cg2, f_cg2 = energies_forces(alone(custom(repr(k))), pos, None)[2:]
    frms = lambda f: float(np.sqrt(((f - f_ob) ** 2).mean() / (f_ob ** 2).mean()))
    res.update({"GBSAOBCForce_energy_kj_mol": e_ob,
                "CustomGBForce_138.935485_energy_kj_mol": e_cg,
                "rel_diff_138.935485": (e_cg - e_ob) / abs(e_ob), "force_rel_rms_diff_138.935485": frms(f_cg),
                "CustomGBForce_ONE_4PI_EPS0_energy_kj_mol": e_cg2,
                "rel_diff_ONE_4PI_EPS0": (e_cg2 - e_ob) / abs(e_ob), "force_rel_rms_diff_ONE_4PI_EPS0": frms(f_cg2)})
    if cutoff_nm is not None:
        res["cutoff_convention"] = ("agreement with the CustomGBForce cutoff expressions means GBSAOBCForce with a "
                                    "cutoff drops pairs beyond the cutoff from the Born-radius sums and the pair "
                                    "energy, and its pair term is -ONE_4PI_EPS0*(1/eps_in-1/eps_out)*qi*qj*(1/f-1/rc)")
    else:
        s3 = mm.XmlSerializer.deserialize((out / "ff14sb_obc2_nocutoff" / "system.xml").read_text())
        c3 = [f for f in s3.getForces() if isinstance(f, mm.CustomGBForce)][0]
        pc = np.array([c3.getParticleParameters(i) for i in range(c3.getNumParticles())])
        res["case_ff14sb_obc2_nocutoff_params"] = {
            "max_abs_charge_diff_e": float(np.abs(pc[:, 0] - po[:, 0]).max()),
            "max_abs_or_minus_(radius-0.009)_nm": float(np.abs(pc[:, 1] - (po[:, 1] - 0.009)).max()),
            "max_abs_sr_minus_screen*or_nm": float(np.abs(pc[:, 2] - po[:, 2] * (po[:, 1] - 0.009)).max())}
        assert max(res["case_ff14sb_obc2_nocutoff_params"].values()) < 1e-8, res
    log(f"    GB cross check: {json.dumps(res)}")
    assert abs(res["rel_diff_ONE_4PI_EPS0"]) < 1e-9 and res["force_rel_rms_diff_ONE_4PI_EPS0"] < 1e-9, res
    return res


def case_prmtop(out: Path, ildn_pdb_path: Path):
    """Cases 5 and 6. Returns their reference dicts."""
    import numpy as np
    import openmm as mm
    import openmm.app as app
    import openmm.unit as u
    import parmed
    import parmed.amber
    import parmed.openmm
    import parmed.tools
    import warnings

    d5, d6 = out / "prmtop_mbondi2", out / "prmtop_mbondi3_cutoff"
    d5.mkdir(parents=True, exist_ok=True)
    d6.mkdir(parents=True, exist_ok=True)
    # the case-1 topology and positions (as read back from its input.pdb)
    pdb, pos_pdb, _ = read_back(ildn_pdb_path)
    ff = app.ForceField("amber99sbildn.xml")
    # constraint-free, CMMotionRemover-free System for ParmEd (it converts parameters, not constraints)
    sys0 = ff.createSystem(pdb.topology, nonbondedMethod=app.NoCutoff, constraints=None, rigidWater=False,
                           removeCMMotion=False)
    with warnings.catch_warnings(record=True) as wlist:
        warnings.simplefilter("always")
        struct = parmed.openmm.load_topology(pdb.topology, sys0, xyz=vec3_list(pos_pdb))
        parm5 = parmed.amber.AmberParm.from_structure(struct)
        parmed.tools.changeRadii(parm5, "mbondi2").execute()
        parm6 = parmed.amber.AmberParm.from_structure(struct)
        parmed.tools.changeRadii(parm6, "mbondi3").execute()
    for w in wlist:
        log(f"    parmed warning: {w.category.__name__}: {w.message}")
    write_prmtop(parm5, d5 / "villin.prmtop")
    write_prmtop(parm6, d6 / "villin_mbondi3.prmtop")
    rst = parmed.amber.Rst7(natom=len(pos_pdb), title="villin (steermd tools/make_ff_reference.py)")
    rst.coordinates = pos_pdb * 10.0  # Angstrom
    rst.write(str(d5 / "villin.inpcrd"))
    checks5 = prmtop_checks(d5 / "villin.prmtop", "mbondi2")
    checks6 = prmtop_checks(d6 / "villin_mbondi3.prmtop", "mbondi3")
    log(f"    prmtop checks mbondi2: {json.dumps(checks5)}")

    inpcrd = app.AmberInpcrdFile(str(d5 / "villin.inpcrd"))
    pos = np.array(inpcrd.getPositions(asNumpy=True).value_in_unit(u.nanometer), dtype=np.float64)
    crd = (d5 / "villin.inpcrd").read_text().splitlines()[2:]
    txt = np.array([float(ln[i:i + 12]) for ln in crd for i in range(0, len(ln), 12) if ln[i:i + 12].strip()])
    assert np.array_equal(txt.reshape(-1, 3) * 0.1, pos), "inpcrd positions are not Angstrom * 0.1"
    assert inpcrd.boxVectors is None
    d_inp_pdb = float(np.abs(pos - pos_pdb).max())
    assert d_inp_pdb < 1e-9, d_inp_pdb

    # round trip: prmtop without GB vs the XML system ParmEd converted
    prm5 = app.AmberPrmtopFile(str(d5 / "villin.prmtop"))
    sys_rt = prm5.createSystem(nonbondedMethod=app.NoCutoff, constraints=None, removeCMMotion=False)
    e_xml, e_prm = energies_by_class(sys0, pos), energies_by_class(sys_rt, pos)
    assert set(e_xml) == set(e_prm), (set(e_xml), set(e_prm))
    roundtrip = {"what": ("prmtop -> AmberPrmtopFile.createSystem(NoCutoff, constraints=None, no GB) vs the "
                          "ForceField('amber99sbildn.xml') System that ParmEd converted, same (inpcrd) positions"),
                 "terms": {}}
    for k in sorted(e_xml):
        ex, fx = e_xml[k]
        ep, fp = e_prm[k]
        rel = abs(ep - ex) / max(abs(ex), 1e-300)
        frel = float(np.sqrt(((fp - fx) ** 2).mean() / (fx ** 2).mean()))
        roundtrip["terms"][k] = {"energy_xml_kj_mol": ex, "energy_prmtop_kj_mol": ep, "energy_rel_diff": rel,
                                 "force_rel_rms_diff": frel}
        log(f"    roundtrip {k:22s} xml {ex:+.8f} prmtop {ep:+.8f} rel {rel:.2e} force rel rms {frel:.2e}")
        assert rel < 1e-4 and frel < 1e-4, (k, rel, frel)
    # charges/masses/exception scaling the prmtop system reproduces
    roundtrip["max_abs_charge_diff_e"] = max(
        abs(sys0.getForce([type(f).__name__ for f in sys0.getForces()].index("NonbondedForce"))
            .getParticleParameters(i)[0]._value
            - [f for f in sys_rt.getForces() if isinstance(f, mm.NonbondedForce)][0].getParticleParameters(i)[0]._value)
        for i in range(sys0.getNumParticles()))
    roundtrip["n_exceptions_xml_prmtop"] = [
        [f for f in s.getForces() if isinstance(f, mm.NonbondedForce)][0].getNumExceptions() for s in (sys0, sys_rt)]

    refs = []
    for d, prmname, radius_set, checks, cutoff in ((d5, "villin.prmtop", "mbondi2", checks5, False),
                                                     (d6, "villin_mbondi3.prmtop", "mbondi3", checks6, True)):
        case = d.name
        prm = app.AmberPrmtopFile(str(d / prmname))
        kw = {"nonbondedMethod": app.CutoffNonPeriodic if cutoff else app.NoCutoff, "constraints": app.HBonds,
              "implicitSolvent": app.OBC2}
        if cutoff:
            kw["nonbondedCutoff"] = 1.0 * u.nanometer
        with warnings.catch_warnings(record=True) as wl:
            warnings.simplefilter("always")
            system = prm.createSystem(**kw)
        gb_warnings = [str(w.message) for w in wl]
        for w in gb_warnings:
            log(f"    {case}: openmm warning: {w}")
        assign_groups(system)
        write_pdb(d / "input.pdb", prm.topology, vec3_list(pos))
        _, pos_back, _ = read_back(d / "input.pdb")
        assert np.abs(pos_back - pos).max() < 1e-9
        gb = [f for f in system.getForces() if isinstance(f, (mm.GBSAOBCForce, mm.CustomGBForce))]
        assert len(gb) == 1
        gb = gb[0]
        nb = [f for f in system.getForces() if isinstance(f, mm.NonbondedForce)][0]
        if isinstance(gb, mm.GBSAOBCForce):
            sol, solv = gb.getSoluteDielectric(), gb.getSolventDielectric()
            radii_nm = [gb.getParticleParameters(i)[1]._value for i in range(gb.getNumParticles())]
            scales = [gb.getParticleParameters(i)[2] for i in range(gb.getNumParticles())]
        else:
            g = {gb.getGlobalParameterName(i): gb.getGlobalParameterDefaultValue(i)
                 for i in range(gb.getNumGlobalParameters())}
            sol, solv = g.get("soluteDielectric"), g.get("solventDielectric")
            radii_nm = [gb.getParticleParameters(i)[1] for i in range(gb.getNumParticles())]
            scales = [gb.getParticleParameters(i)[2] for i in range(gb.getNumParticles())]
        # what OpenMM took from the prmtop: RADII/10 (no offset applied here) and SCREEN verbatim
        secs = prmtop_sections(d / prmname)
        radii_prm = np.array(" ".join(secs["RADII"]).split(), dtype=float)
        screen_prm = np.array(" ".join(secs["SCREEN"]).split(), dtype=float)
        gb_vs_prmtop = {"max_abs(radius_nm - RADII/10)": float(np.abs(np.array(radii_nm) - radii_prm / 10).max()),
                        "max_abs(scale - SCREEN)": float(np.abs(np.array(scales) - screen_prm).max())}
        desc = (f"Villin from ForceField('amber99sbildn.xml') converted by ParmEd to an Amber prmtop with {radius_set} "
                f"radii; reference = AmberPrmtopFile('{prmname}').createSystem("
                f"{'CutoffNonPeriodic, 1.0 nm' if cutoff else 'NoCutoff'}, constraints=HBonds, implicitSolvent=OBC2) "
                "on the villin.inpcrd positions (AmberInpcrdFile)")
        settings = {"loader": "openmm.app.AmberPrmtopFile", "prmtop": prmname,
                    "nonbondedMethod": "CutoffNonPeriodic" if cutoff else "NoCutoff",
                    "constraints": "HBonds", "implicitSolvent": "OBC2"}
        if cutoff:
            settings["nonbondedCutoff"] = "1.0 nm"
        settings["defaults_in_effect"] = {"soluteDielectric": 1.0, "solventDielectric": 78.5,
                                          "implicitSolventKappa": 0.0, "implicitSolventSaltConc": "0 M",
                                          "rigidWater": True, "removeCMMotion": True}
        inpcrd_rel = "villin.inpcrd" if d == d5 else "../prmtop_mbondi2/villin.inpcrd"
        extra = {
            "positions_source": f"{inpcrd_rel} read by AmberInpcrdFile (input.pdb holds the same positions at "
                                f"PDB resolution; max |inpcrd - case-1 input.pdb| = {d_inp_pdb:.1e} nm)",
            "gb_force_class": type(gb).__name__,
            "gb_solute_dielectric": sol, "gb_solvent_dielectric": solv,
            "nonbonded_reaction_field_dielectric": nb.getReactionFieldDielectric(),
            "gb_parameters_vs_prmtop": gb_vs_prmtop,
            "openmm_warnings": gb_warnings,
            "radius_set": radius_set,
            "prmtop_checks": checks,
            "prmtop_provenance": ("ForceField('amber99sbildn.xml').createSystem(case-1 topology, NoCutoff, "
                                  "constraints=None, rigidWater=False, removeCMMotion=False) -> "
                                  "parmed.openmm.load_topology(topology, system, xyz=case-1 read-back positions) -> "
                                  f"parmed.amber.AmberParm.from_structure -> parmed.tools.changeRadii('{radius_set}') "
                                  "-> write_parm (the %VERSION date is fixed to 01/01/00 for reproducibility)"),
        }
        if d == d5:
            extra["roundtrip_check"] = roundtrip
        extra["gb_cross_check"] = gb_cross_check(out, system, pos, 1.0 if cutoff else None)
        files = {"system": "system.xml", "prmtop": prmname, "inpcrd": inpcrd_rel, "pdb": "input.pdb",
                 "note": "paths relative to this case directory"}
        refs.append(finish_case(out, case, desc, system, pos, None, settings, files, extra))
    return refs


# ---------------------------------------------------------------------------
# malformed inputs
# ---------------------------------------------------------------------------
def bad_fixtures(out: Path):
    import openmm as mm
    import openmm.app as app

    bd = out / "bad"
    bd.mkdir(parents=True, exist_ok=True)
    # truncated prmtop
    lines = (out / "prmtop_mbondi2" / "villin.prmtop").read_text().splitlines(keepends=True)
    n = int(len(lines) * TRUNCATE_FRACTION)
    (bd / "truncated.prmtop").write_text("".join(lines[:n]))
    # unknown force type: a genuine serialized AmoebaMultipoleForce (no particles) appended inside <Forces>
    xml = (out / "ildn_obc_nocutoff" / "system.xml").read_text()
    n_forces = mm.XmlSerializer.deserialize(xml).getNumForces()
    amoeba = mm.AmoebaMultipoleForce()
    amoeba.setForceGroup(n_forces)
    fx = mm.XmlSerializer.serialize(amoeba)
    fx = re.sub(r"^<\?xml[^>]*\?>\s*", "", fx).rstrip()
    assert fx.startswith('<Force ') and 'type="AmoebaMultipoleForce"' in fx, fx[:200]
    fx = "\n".join("\t\t" + ln for ln in fx.splitlines())
    assert xml.count("\t</Forces>") == 1
    bad_xml = xml.replace("\t</Forces>", fx + "\n\t</Forces>")
    (bd / "unknown_force.xml").write_text(bad_xml)
    # wrong atom count: case-1 input.pdb without its last residue
    pdb = app.PDBFile(str(out / "ildn_obc_nocutoff" / "input.pdb"))
    mod = app.Modeller(pdb.topology, pdb.positions)
    last = list(mod.topology.residues())[-1]
    n_last = len(list(last.atoms()))
    mod.delete([last])
    write_pdb(bd / "wrong_atom_count.pdb", mod.topology, mod.positions)
    n_bad = app.PDBFile(str(bd / "wrong_atom_count.pdb")).topology.getNumAtoms()
    assert n_bad == pdb.topology.getNumAtoms() - n_last
    # the kept ATOM records are identical to input.pdb's
    atoms = lambda p: [ln for ln in p.read_text().splitlines() if ln.startswith(("ATOM", "HETATM"))]
    a_full, a_bad = atoms(out / "ildn_obc_nocutoff" / "input.pdb"), atoms(bd / "wrong_atom_count.pdb")
    assert a_bad == a_full[:len(a_bad)] and len(a_full) - len(a_bad) == n_last
    info = {
        "truncated.prmtop": f"first {n} of {len(lines)} lines ({TRUNCATE_FRACTION:.0%}) of prmtop_mbondi2/villin.prmtop",
        "unknown_force.xml": ("ildn_obc_nocutoff/system.xml with XmlSerializer.serialize(AmoebaMultipoleForce()) "
                              f"(no particles, forceGroup {n_forces}) inserted before </Forces>; an unsupported "
                              "force type that a parser must reject by name"),
        "wrong_atom_count.pdb": (f"ildn_obc_nocutoff/input.pdb without its last residue ({last.name} {last.id}, "
                                 f"{n_last} atoms): {n_bad} atoms instead of {pdb.topology.getNumAtoms()}"),
    }
    write_json(bd / "README.json", info)
    return info


# ---------------------------------------------------------------------------
# MANIFEST
# ---------------------------------------------------------------------------
FILE_DESCRIPTIONS = {
    "system.xml": ("openmm.XmlSerializer.serialize(System); force i in force group i", "OpenMM XML (nm, kJ/mol, ps, e)"),
    "input.pdb": ("PDBFile.writeFile(keepIds=True) of the reference positions (CRYST1 box when periodic)",
                  "Angstrom (PDB)"),
    "positions.npy": ("Positions the reference was computed on (read back from input.pdb / the inpcrd)", "nm"),
    "forces.npy": ("Per-force-group forces, row k = reference.json groups[k]", "kJ/mol/nm"),
    "forces_total.npy": ("Forces of all groups together", "kJ/mol/nm"),
    "reference.json": ("Per-group/total energies, settings, constraints, dof, mass sum, force parameters", "kJ/mol"),
    "villin.prmtop": ("ParmEd-written Amber prmtop (mbondi2 radii)", "Amber prmtop"),
    "villin_mbondi3.prmtop": ("ParmEd-written Amber prmtop (mbondi3 radii)", "Amber prmtop"),
    "villin.inpcrd": ("ParmEd-written Amber inpcrd (no box, no velocities)", "Angstrom (inpcrd)"),
    "truncated.prmtop": ("Malformed: prmtop cut after 40% of its lines", "-"),
    "unknown_force.xml": ("Malformed: System XML with an AmoebaMultipoleForce", "-"),
    "wrong_atom_count.pdb": ("Malformed: case-1 PDB missing its last residue", "Angstrom (PDB)"),
    "README.json": ("How each malformed input was made", "-"),
}


def write_manifest(out: Path, cases: dict, bad: dict):
    import numpy as np

    files = {}
    owned = [out / sub for sub in CASE_DIRS + ["bad"]]
    for p in sorted(q for d in owned for q in d.rglob("*")):
        if not p.is_file() or p.name.startswith("."):
            continue
        rel = p.relative_to(out).as_posix()
        desc, units = FILE_DESCRIPTIONS[p.name]
        e = {"description": desc, "units": units, "bytes": p.stat().st_size}
        if p.suffix == ".npy":
            a = np.load(p, mmap_mode="r")
            e["shape"], e["dtype"] = list(a.shape), str(a.dtype)
        files[rel] = e
    total = sum(e["bytes"] for e in files.values())
    manifest = {"generator": "tools/make_ff_reference.py", "versions": versions(),
                "platform": "OpenMM Reference (double precision)",
                "cases": {k: {"description": v["description"], "n_atoms": v["n_atoms"],
                              "total_energy_kj_mol": v["total_energy_kj_mol"],
                              "forces": [f"{g['group']}:{g['force']}" for g in v["groups"]]}
                          for k, v in cases.items()},
                "conventions_verified": {
                    "coulomb_constant": (f"OpenMM C++ ONE_4PI_EPS0 = {one_4pi_eps0()!r} kJ mol^-1 nm e^-2 (CODATA "
                                         "2018); openmm.app's CustomGBForce expressions hard-code 138.935485 "
                                         "(see prmtop_*/reference.json gb_cross_check)"),
                    "implicit_solvent_nonbonded": ("NonbondedForce reactionFieldDielectric = 1 in every implicit-"
                                                   "solvent system here, so with a cutoff Coulomb is shifted by "
                                                   "-1/rc (ildn_obc_cutoff nonbonded_convention_check)"),
                    "positions": "Angstrom text * 0.1 (bitwise) for PDB, CRYST1 and inpcrd",
                    "constrained_bonds": ("bonds/angles that are constrained (HBonds, rigid water) are absent "
                                          "from HarmonicBondForce/HarmonicAngleForce in every case")},
                "bad": bad, "total_bytes": total, "files": files}
    write_json(out / "MANIFEST.json", manifest)
    log(f"MANIFEST: {len(files)} files, {total / 1e6:.2f} MB")
    return total


# ---------------------------------------------------------------------------
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--venv", default=None, help="venv to create/reuse when packages are missing (default tools/.venv)")
    ap.add_argument("--out", default=str(REPO_ROOT / "tests" / "data" / "ff"),
                    help="output directory (default tests/data/ff); the case directories, bad/ and "
                         "MANIFEST.json in it are replaced")
    args = ap.parse_args()
    bootstrap(args.venv)

    import openmm.app as app

    out = Path(args.out).resolve()
    # remove only what this script writes (no stale files from earlier runs; nothing else touched)
    for sub in CASE_DIRS + ["bad"]:
        shutil.rmtree(out / sub, ignore_errors=True)
    (out / "MANIFEST.json").unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    villin = app.PDBFile(str(VILLIN_PDB))
    cases = {}
    for r in (case_ildn(out, villin, cutoff=False), case_ildn(out, villin, cutoff=True), case_ff14sb(out, villin),
              case_periodic(out), *case_prmtop(out, out / "ildn_obc_nocutoff" / "input.pdb")):
        cases[r["case"]] = r
    assert list(cases) == CASE_DIRS
    bad = bad_fixtures(out)
    total = write_manifest(out, cases, bad)
    assert total < 12e6, f"outputs are {total / 1e6:.1f} MB"
    log("done")


if __name__ == "__main__":
    main()
