#!/usr/bin/env python3
"""Write OpenMM System XMLs of the GB force alone for prmtop option variants
that tests/data/ff does not cover, for steermd's prmtop and System XML reader
tests (tests/forcefield_io.rs).

Usage: python3 tools/make_ff_gb_variants.py [--out tests/data/ff_gb_variants]
(needs openmm 8.6.1, e.g. the venv that tools/make_ff_reference.py creates).

Each <name>.xml is XmlSerializer.serialize of
AmberPrmtopFile('tests/data/ff/prmtop_mbondi2/villin.prmtop').createSystem(**kw)
with every force but the GB force removed (masses and constraints kept):

- salt_cutoff: CutoffNonPeriodic 1.2 nm, HBonds, OBC2, 0.15 M salt -> the
  CustomGBForce OBC2 (GBSAOBC2Force) with kappa, the ACE term and the 1/rc shift
- kappa_nosa: NoCutoff, OBC2, implicitSolventKappa 0.7/nm, sasaMethod=None ->
  CustomGBForce without the ACE term
- nosa_dielectrics: NoCutoff, OBC2, sasaMethod=None, solute 2, solvent 80 ->
  GBSAOBCForce with surfaceAreaEnergy 0

options.json records the keyword arguments.
"""
import argparse
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "tests/data/ff_gb_variants"))
    out = Path(ap.parse_args().out)
    out.mkdir(parents=True, exist_ok=True)

    import openmm as mm
    import openmm.app as app
    import openmm.unit as u

    assert mm.__version__ == "8.6.1", mm.__version__
    prm = app.AmberPrmtopFile(str(ROOT / "tests/data/ff/prmtop_mbondi2/villin.prmtop"))
    cases = {
        "salt_cutoff": (dict(nonbondedMethod=app.CutoffNonPeriodic, nonbondedCutoff=1.2 * u.nanometer,
                             constraints=app.HBonds, implicitSolvent=app.OBC2,
                             implicitSolventSaltConc=0.15 * u.molar),
                        {"nonbondedMethod": "CutoffNonPeriodic", "nonbondedCutoff_nm": 1.2,
                         "constraints": "HBonds", "implicitSolvent": "OBC2", "implicitSolventSaltConc_M": 0.15}),
        "kappa_nosa": (dict(implicitSolvent=app.OBC2, implicitSolventKappa=0.7 / u.nanometer, sasaMethod=None),
                       {"nonbondedMethod": "NoCutoff", "implicitSolvent": "OBC2",
                        "implicitSolventKappa_per_nm": 0.7, "sasaMethod": None}),
        "nosa_dielectrics": (dict(implicitSolvent=app.OBC2, sasaMethod=None, soluteDielectric=2.0,
                                  solventDielectric=80.0),
                             {"nonbondedMethod": "NoCutoff", "implicitSolvent": "OBC2", "sasaMethod": None,
                              "soluteDielectric": 2.0, "solventDielectric": 80.0}),
    }
    record = {}
    for name, (kw, desc) in cases.items():
        system = prm.createSystem(**kw)
        gb = [i for i, f in enumerate(system.getForces())
              if isinstance(f, (mm.GBSAOBCForce, mm.CustomGBForce))]
        assert len(gb) == 1
        for i in reversed(range(system.getNumForces())):
            if i != gb[0]:
                system.removeForce(i)
        (out / f"{name}.xml").write_text(mm.XmlSerializer.serialize(system))
        record[name] = dict(desc, gb_force=type(system.getForce(0)).__name__)
        print(name, record[name])
    (out / "options.json").write_text(json.dumps({"openmm": mm.__version__, "cases": record}, indent=2) + "\n")


if __name__ == "__main__":
    main()
