//! Reader for Amber `prmtop` topologies and `inpcrd`/`rst7` coordinates,
//! and their conversion to a [`System`](super::System) exactly as OpenMM's
//! `AmberPrmtopFile.createSystem` builds it (see [`Prmtop::create_system`]).
//!
//! The prmtop format: `%VERSION`, then sections introduced by `%FLAG NAME`
//! and `%FORMAT(nTw.d)` (Fortran fixed width: `10I8`, `5E16.8`, `20a4`,
//! `1a80`), `%COMMENT` lines ignored. Values are split at the format's width
//! as OpenMM's `PrmtopLoader` does. [`read_prmtop`] checks every section the
//! conversion needs against the counts in `POINTERS`, so a truncated or
//! corrupt file fails at read time with the section and line.

mod build;
mod inpcrd;

use std::path::{Path, PathBuf};

pub use build::{Constraints, ImplicitSolvent, PrmtopOptions};
pub use inpcrd::{parse_inpcrd, read_inpcrd, Inpcrd};

use super::system::BoxVectors;
use crate::elements::symbol_of_atomic_number;
use crate::error::{Error, Result};
use crate::io::{Atom, Topology};

/// One `%FLAG` section of a prmtop file, values as text (trimmed).
#[derive(Clone, Debug, PartialEq)]
pub struct PrmtopSection {
    /// The flag name (`CHARGE`, `POINTERS`, ...).
    pub flag: String,
    /// The Fortran format inside `%FORMAT(...)` (`5E16.8`).
    pub format: String,
    /// 1-based line of the `%FLAG` record.
    pub line: usize,
    /// 1-based line of the section's last record.
    pub end_line: usize,
    /// The fields, split at the format's width and trimmed.
    pub values: Vec<String>,
    /// 1-based line of each value.
    value_lines: Vec<u32>,
    /// Field width from the format.
    width: usize,
}

impl PrmtopSection {
    /// 1-based line of value `i` (the `%FLAG` line when out of range).
    pub fn value_line(&self, i: usize) -> usize {
        self.value_lines.get(i).map_or(self.line, |&l| l as usize)
    }
}

/// A parsed Amber prmtop: every section as text, plus the typed arrays the
/// conversion to a [`System`](super::System) uses, validated at read time.
#[derive(Clone, Debug)]
pub struct Prmtop {
    /// The file the topology came from (for messages).
    pub path: PathBuf,
    /// The `%VERSION` line's content, if any.
    pub version: Option<String>,
    /// The `TITLE` (or `CTITLE`) section's text.
    pub title: String,
    /// All sections in file order.
    pub sections: Vec<PrmtopSection>,
    pub(crate) parm: Parm,
}

/// `POINTERS` as named by the Amber format.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Pointers {
    pub natom: usize,
    pub ntypes: usize,
    pub nbonh: usize,
    pub ntheth: usize,
    pub nphih: usize,
    pub next: usize,
    pub nres: usize,
    pub nbona: usize,
    pub ntheta: usize,
    pub nphia: usize,
    pub numbnd: usize,
    pub numang: usize,
    pub nptra: usize,
    pub nphb: usize,
    pub ifpert: i64,
    pub ifbox: i64,
    pub ifcap: i64,
}

/// The typed content of a prmtop, indices converted to 0-based atoms.
#[derive(Clone, Debug, Default)]
pub(crate) struct Parm {
    pub p: Pointers,
    pub atom_names: Vec<String>,
    /// Charges in e (CHARGE / 18.2223, as OpenMM).
    pub charges: Vec<f64>,
    pub masses: Vec<f64>,
    /// 0-based LJ type of each atom.
    pub atom_type: Vec<usize>,
    /// Per-atom excluded partners (0-based; Amber's 0 placeholders dropped).
    pub excluded: Vec<Vec<usize>>,
    /// NONBONDED_PARM_INDEX as written (1-based; ≤ 0 marks 10-12 pairs).
    pub nb_index: Vec<i64>,
    pub res_labels: Vec<String>,
    /// Residue index of each atom.
    pub atom_res: Vec<usize>,
    pub bond_k: Vec<f64>,
    pub bond_eq: Vec<f64>,
    pub angle_k: Vec<f64>,
    pub angle_eq: Vec<f64>,
    pub dih_k: Vec<f64>,
    pub dih_per: Vec<f64>,
    pub dih_phase: Vec<f64>,
    pub scee: Option<Vec<f64>>,
    pub scnb: Option<Vec<f64>>,
    pub lj_a: Vec<f64>,
    pub lj_b: Vec<f64>,
    pub hb_a: Vec<f64>,
    pub hb_b: Vec<f64>,
    /// (i, j, type) with 0-based atoms and types.
    pub bonds_h: Vec<(usize, usize, usize)>,
    pub bonds_noh: Vec<(usize, usize, usize)>,
    /// (i, j, k, type).
    pub angles: Vec<(usize, usize, usize, usize)>,
    /// (i, j, k, l, type, k_raw > 0 && l_raw > 0 i.e. a 1-4 pair).
    pub dihedrals: Vec<Dihedral>,
    pub atomic_numbers: Option<Vec<i64>>,
    pub radii: Option<Vec<f64>>,
    pub screen: Option<Vec<f64>>,
    /// BOX_DIMENSIONS: β (degrees), a, b, c (Å).
    pub box_dims: Option<[f64; 4]>,
    /// A CHAMBER (CHARMM) topology.
    pub chamber: bool,
    pub n_cmap: usize,
    pub has_lj_c: bool,
}

/// One DIHEDRALS_* entry.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Dihedral {
    pub atoms: [usize; 4],
    pub ty: usize,
    /// Amber's sign flags: third index negative = no 1-4 pair (multi-term
    /// torsion), fourth negative = improper.
    pub pair14: bool,
}

/// Read an Amber prmtop file.
///
/// Errors: [`Error::Io`] (unreadable file); [`Error::Parse`] with the
/// section and 1-based line for malformed records, unparsable numbers,
/// out-of-range indices and sections whose length disagrees with POINTERS
/// (e.g. a truncated file); [`Error::Format`] for missing sections.
pub fn read_prmtop(path: impl AsRef<Path>) -> Result<Prmtop> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse_prmtop(&String::from_utf8_lossy(&bytes), path)
}

/// Parse the text of a prmtop file; `path` is used in error messages.
pub fn parse_prmtop(text: &str, path: &Path) -> Result<Prmtop> {
    let (version, title, sections) = split_sections(text, path)?;
    let mut prm = Prmtop {
        path: path.to_path_buf(),
        version,
        title,
        sections,
        parm: Parm::default(),
    };
    prm.parm = prm.typed()?;
    Ok(prm)
}

/// `%FORMAT(...)` → field width, as OpenMM's regex
/// `([0-9]+)\(?([a-zA-Z]+)([0-9]+)\.?([0-9]*)\)?` (first match); a format
/// it cannot read makes the whole line one field of width 80.
fn format_width(fmt: &str) -> usize {
    let b = fmt.as_bytes();
    for start in 0..b.len() {
        let mut i = start;
        let digits = |i: &mut usize| {
            let s = *i;
            while *i < b.len() && b[*i].is_ascii_digit() {
                *i += 1;
            }
            *i > s
        };
        if !digits(&mut i) {
            continue;
        }
        if i < b.len() && b[i] == b'(' {
            i += 1;
        }
        let s = i;
        while i < b.len() && b[i].is_ascii_alphabetic() {
            i += 1;
        }
        if i == s {
            continue;
        }
        let w0 = i;
        if !digits(&mut i) {
            continue;
        }
        if let Ok(w) = fmt[w0..i].parse::<usize>() {
            if w > 0 {
                return w;
            }
        }
    }
    80
}

type Split = (Option<String>, String, Vec<PrmtopSection>);

fn split_sections(text: &str, path: &Path) -> Result<Split> {
    let mut version = None;
    let mut title: Option<String> = None;
    let mut sections: Vec<PrmtopSection> = Vec::new();
    let mut has_format = false;
    for (k, raw) in text.lines().enumerate() {
        let lineno = k + 1;
        let line = raw.trim_end();
        if let Some(rest) = raw.strip_prefix('%') {
            if rest.starts_with("VERSION") {
                version = line
                    .split_once(char::is_whitespace)
                    .map(|(_, v)| v.trim().to_string());
            } else if rest.starts_with("FLAG") {
                let flag = line
                    .split_once(char::is_whitespace)
                    .map(|(_, f)| f.trim().to_string())
                    .filter(|f| !f.is_empty())
                    .ok_or_else(|| Error::parse(path, lineno, "%FLAG without a section name"))?;
                if let Some(prev) = sections.iter().find(|s| s.flag == flag) {
                    return Err(Error::parse(
                        path,
                        lineno,
                        format!(
                            "section %FLAG {flag} appears twice (first at line {})",
                            prev.line
                        ),
                    ));
                }
                sections.push(PrmtopSection {
                    flag,
                    format: String::new(),
                    line: lineno,
                    end_line: lineno,
                    values: Vec::new(),
                    value_lines: Vec::new(),
                    width: 80,
                });
                has_format = false;
            } else if rest.starts_with("FORMAT") {
                let Some(sec) = sections.last_mut() else {
                    return Err(Error::parse(path, lineno, "%FORMAT before the first %FLAG"));
                };
                let fmt = match (line.find('('), line.find(')')) {
                    (Some(a), Some(b)) if a < b => &line[a + 1..b],
                    _ => {
                        return Err(Error::parse(
                            path,
                            lineno,
                            format!("malformed %FORMAT record '{line}' in section {}", sec.flag),
                        ))
                    }
                };
                sec.format = fmt.to_string();
                sec.width = format_width(fmt);
                sec.end_line = lineno;
                has_format = true;
            }
            // %COMMENT and any other % record: ignored, as OpenMM does.
            continue;
        }
        let Some(sec) = sections.last_mut() else {
            if line.is_empty() {
                continue;
            }
            return Err(Error::parse(
                path,
                lineno,
                "data before the first %FLAG (is this an Amber prmtop file?)",
            ));
        };
        if sec.flag == "TITLE" || sec.flag == "CTITLE" {
            if title.is_none() {
                title = Some(line.to_string());
            }
            sec.end_line = lineno;
            continue;
        }
        if !has_format {
            return Err(Error::parse(
                path,
                lineno,
                format!("section {} has data but no %FORMAT record", sec.flag),
            ));
        }
        sec.end_line = lineno;
        let w = sec.width;
        let mut push = |s: &str| {
            sec.values.push(s.trim().to_string());
            sec.value_lines.push(lineno as u32);
        };
        if line.is_ascii() {
            let mut i = 0;
            while i < line.len() {
                push(&line[i..(i + w).min(line.len())]);
                i += w;
            }
        } else {
            let chars: Vec<char> = line.chars().collect();
            for c in chars.chunks(w) {
                push(&c.iter().collect::<String>());
            }
        }
    }
    if sections.is_empty() {
        return Err(Error::parse(
            path,
            0,
            "no %FLAG sections (is this an Amber prmtop file?)",
        ));
    }
    Ok((version, title.unwrap_or_default(), sections))
}

impl Prmtop {
    /// The section named `flag`, if present.
    pub fn section(&self, flag: &str) -> Option<&PrmtopSection> {
        self.sections.iter().find(|s| s.flag == flag)
    }

    /// Number of atoms (POINTERS NATOM).
    pub fn n_atoms(&self) -> usize {
        self.parm.p.natom
    }

    /// Whether the file is a CHAMBER (CHARMM force field) topology.
    pub fn is_chamber(&self) -> bool {
        self.parm.chamber
    }

    /// Element symbol of each atom: from ATOMIC_NUMBER when present (empty
    /// for extra points and unknown numbers), else guessed from the atom
    /// name as OpenMM does (`CL`, `NA`, `MG`, `ZN` prefixes, else the first
    /// letter when it is an element symbol).
    pub fn elements(&self) -> Vec<String> {
        let p = &self.parm;
        (0..p.p.natom)
            .map(|i| match &p.atomic_numbers {
                Some(z) => usize::try_from(z[i])
                    .ok()
                    .and_then(symbol_of_atomic_number)
                    .map_or(String::new(), str::to_string),
                None => guess_element(&p.atom_names[i]),
            })
            .collect()
    }

    /// The topology: atom names, residue names (as in RESIDUE_LABEL),
    /// residue numbers 1, 2, ... in file order, chain `A`, elements as
    /// [`Prmtop::elements`]. Atom order is the prmtop's, so positions,
    /// trajectories and contact-map selections line up with the System.
    pub fn topology(&self) -> Topology {
        let p = &self.parm;
        let elements = self.elements();
        Topology {
            atoms: (0..p.p.natom)
                .zip(elements)
                .map(|(i, element)| Atom {
                    name: p.atom_names[i].clone(),
                    res_name: p.res_labels[p.atom_res[i]].clone(),
                    res_seq: i32::try_from(p.atom_res[i] + 1).unwrap_or(i32::MAX),
                    chain: 'A',
                    insertion_code: ' ',
                    element,
                })
                .collect(),
        }
    }

    /// The periodic box of the prmtop (IFBOX > 0): OpenMM's reduced vectors
    /// from BOX_DIMENSIONS (a, b, c with the angle β used for all three
    /// angles, as `AmberPrmtopFile` does), nm.
    pub fn box_vectors(&self) -> Option<BoxVectors> {
        let [beta, a, b, c] = self.parm.box_dims?;
        inpcrd::box_vectors([a, b, c, beta, beta, beta]).ok()
    }

    // ---- typed access with line-numbered errors

    fn require(&self, flag: &str) -> Result<&PrmtopSection> {
        self.section(flag).ok_or_else(|| {
            Error::format(
                &self.path,
                format!("missing section %FLAG {flag} (a prmtop needs it to build a System)"),
            )
        })
    }

    fn check_len(&self, s: &PrmtopSection, want: usize, why: &str) -> Result<()> {
        if s.values.len() == want {
            return Ok(());
        }
        let last = self.sections.last().is_some_and(|l| l.flag == s.flag);
        Err(Error::parse(
            &self.path,
            s.end_line,
            format!(
                "section %FLAG {} (line {}) has {} values, {} requires {want}{}",
                s.flag,
                s.line,
                s.values.len(),
                why,
                if last && s.values.len() < want {
                    "; the file ends inside this section (truncated?)"
                } else {
                    ""
                }
            ),
        ))
    }

    fn num_err(&self, s: &PrmtopSection, i: usize, what: &str) -> Error {
        Error::parse(
            &self.path,
            s.value_line(i),
            format!(
                "section %FLAG {}: value {} '{}' is not {what}",
                s.flag,
                i + 1,
                s.values[i]
            ),
        )
    }

    fn ints_of(&self, s: &PrmtopSection) -> Result<Vec<i64>> {
        s.values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.parse::<i64>()
                    .map_err(|_| self.num_err(s, i, "an integer"))
            })
            .collect()
    }

    fn floats_of(&self, s: &PrmtopSection) -> Result<Vec<f64>> {
        s.values
            .iter()
            .enumerate()
            .map(|(i, v)| match v.parse::<f64>() {
                Ok(x) if x.is_finite() => Ok(x),
                _ => Err(self.num_err(s, i, "a finite number")),
            })
            .collect()
    }

    fn ints(&self, flag: &str, want: usize, why: &str) -> Result<Vec<i64>> {
        let s = self.require(flag)?;
        self.check_len(s, want, why)?;
        self.ints_of(s)
    }

    fn floats(&self, flag: &str, want: usize, why: &str) -> Result<Vec<f64>> {
        let s = self.require(flag)?;
        self.check_len(s, want, why)?;
        self.floats_of(s)
    }

    fn opt_floats(&self, flag: &str, want: usize, why: &str) -> Result<Option<Vec<f64>>> {
        match self.section(flag) {
            None => Ok(None),
            Some(s) => {
                self.check_len(s, want, why)?;
                self.floats_of(s).map(Some)
            }
        }
    }

    fn strings(&self, flag: &str, want: usize, why: &str) -> Result<Vec<String>> {
        let s = self.require(flag)?;
        self.check_len(s, want, why)?;
        Ok(s.values.clone())
    }

    /// An index value at position `i` of `flag`, checked to lie in
    /// `0..bound` after `map`.
    fn index_err(&self, flag: &str, i: usize, msg: String) -> Error {
        let line = self.section(flag).map_or(0, |s| s.value_line(i));
        Error::parse(
            &self.path,
            line,
            format!("section %FLAG {flag}, value {}: {msg}", i + 1),
        )
    }

    /// Atom triples/quads/quints: coordinate indices (3·atom) → atoms, types 1-based → 0-based.
    fn atom_lists(
        &self,
        flag: &str,
        (count, why): (usize, &str),
        width: usize,
        ntypes: usize,
        natom: usize,
    ) -> Result<Vec<Vec<i64>>> {
        let v = self.ints(flag, count.saturating_mul(width), why)?;
        let natom = natom as i64;
        let mut out = Vec::with_capacity(count);
        for (e, chunk) in v.chunks_exact(width).enumerate() {
            let base = e * width;
            let mut row = Vec::with_capacity(width);
            for (k, &x) in chunk[..width - 1].iter().enumerate() {
                let a = x.abs();
                // Sign flags are allowed on the 3rd and 4th dihedral atoms only.
                if (x < 0 && !(width == 5 && k >= 2)) || a % 3 != 0 || a / 3 >= natom {
                    return Err(self.index_err(
                        flag,
                        base + k,
                        format!(
                            "atom pointer {x} is not 3·(atom index) for one of the {natom} atoms (entry {e})"
                        ),
                    ));
                }
                row.push(x);
            }
            let t = chunk[width - 1];
            if t < 1 || t as u64 > ntypes as u64 {
                return Err(self.index_err(
                    flag,
                    base + width - 1,
                    format!("parameter type {t} is out of range 1..={ntypes} (entry {e})"),
                ));
            }
            row.push(t - 1);
            out.push(row);
        }
        Ok(out)
    }

    fn typed(&self) -> Result<Parm> {
        let pointers = self.require("POINTERS")?;
        if pointers.values.len() < 30 {
            return Err(Error::parse(
                &self.path,
                pointers.end_line,
                format!(
                    "POINTERS has {} values, at least 30 are required",
                    pointers.values.len()
                ),
            ));
        }
        let pv = self.ints_of(pointers)?;
        // No count can exceed the number of values in the file (this also
        // keeps products like NTYPES² far from overflow).
        let total: usize = self.sections.iter().map(|s| s.values.len()).sum();
        let count = |k: usize, name: &str| -> Result<usize> {
            match usize::try_from(pv[k]) {
                Ok(c) if c <= total => Ok(c),
                _ => Err(Error::parse(
                    &self.path,
                    pointers.value_line(k),
                    format!(
                        "POINTERS {name} = {} is negative or larger than the {total} values in the file",
                        pv[k]
                    ),
                )),
            }
        };
        let p = Pointers {
            natom: count(0, "NATOM")?,
            ntypes: count(1, "NTYPES")?,
            nbonh: count(2, "NBONH")?,
            ntheth: count(4, "NTHETH")?,
            nphih: count(6, "NPHIH")?,
            next: count(10, "NEXT")?,
            nres: count(11, "NRES")?,
            nbona: count(12, "NBONA")?,
            ntheta: count(13, "NTHETA")?,
            nphia: count(14, "NPHIA")?,
            numbnd: count(15, "NUMBND")?,
            numang: count(16, "NUMANG")?,
            nptra: count(17, "NPTRA")?,
            nphb: count(19, "NPHB")?,
            ifpert: pv[20],
            ifbox: pv[27],
            ifcap: pv[29],
        };
        if p.natom == 0 {
            return Err(Error::parse(
                &self.path,
                pointers.line,
                "POINTERS NATOM is 0",
            ));
        }
        let mut parm = Parm {
            p,
            chamber: self.section("CTITLE").is_some(),
            has_lj_c: self.section("LENNARD_JONES_CCOEF").is_some(),
            ..Parm::default()
        };
        let n = p.natom;
        let nt = p.ntypes;
        parm.atom_names = self.strings("ATOM_NAME", n, "NATOM")?;
        parm.charges = self
            .floats("CHARGE", n, "NATOM")?
            .into_iter()
            .map(|q| q / 18.2223)
            .collect();
        if let Some(s) = self.section("ATOMIC_NUMBER") {
            self.check_len(s, n, "NATOM")?;
            parm.atomic_numbers = Some(self.ints_of(s)?);
        }
        parm.masses = self.floats("MASS", n, "NATOM")?;
        let types = self.ints("ATOM_TYPE_INDEX", n, "NATOM")?;
        parm.atom_type = types
            .iter()
            .enumerate()
            .map(|(i, &t)| {
                if t < 1 || t as u64 > nt as u64 {
                    Err(self.index_err(
                        "ATOM_TYPE_INDEX",
                        i,
                        format!("atom type {t} of atom {i} is out of range 1..={nt} (NTYPES)"),
                    ))
                } else {
                    Ok(t as usize - 1)
                }
            })
            .collect::<Result<_>>()?;
        let nexcl = self.ints("NUMBER_EXCLUDED_ATOMS", n, "NATOM")?;
        parm.nb_index = self.ints("NONBONDED_PARM_INDEX", nt.saturating_mul(nt), "NTYPES²")?;
        let nlj = nt.saturating_mul(nt + 1) / 2;
        for (i, &x) in parm.nb_index.iter().enumerate() {
            if x > nlj as i64 || -x > p.nphb as i64 {
                return Err(self.index_err(
                    "NONBONDED_PARM_INDEX",
                    i,
                    format!(
                        "index {x} is out of range (LJ pairs 1..={nlj}, 10-12 pairs -1..=-{})",
                        p.nphb
                    ),
                ));
            }
        }
        parm.res_labels = self.strings("RESIDUE_LABEL", p.nres, "NRES")?;
        let rp = self.ints("RESIDUE_POINTER", p.nres, "NRES")?;
        if p.nres == 0
            || rp[0] != 1
            || rp.windows(2).any(|w| w[1] <= w[0])
            || rp[p.nres - 1] as u64 > n as u64
        {
            let s = self.require("RESIDUE_POINTER")?;
            return Err(Error::parse(
                &self.path,
                s.line,
                "RESIDUE_POINTER must start at 1 and increase strictly, within NATOM",
            ));
        }
        parm.atom_res = Vec::with_capacity(n);
        let mut r = 0;
        for i in 0..n {
            while r + 1 < p.nres && rp[r + 1] as usize - 1 <= i {
                r += 1;
            }
            parm.atom_res.push(r);
        }
        parm.bond_k = self.floats("BOND_FORCE_CONSTANT", p.numbnd, "NUMBND")?;
        parm.bond_eq = self.floats("BOND_EQUIL_VALUE", p.numbnd, "NUMBND")?;
        parm.angle_k = self.floats("ANGLE_FORCE_CONSTANT", p.numang, "NUMANG")?;
        parm.angle_eq = self.floats("ANGLE_EQUIL_VALUE", p.numang, "NUMANG")?;
        parm.dih_k = self.floats("DIHEDRAL_FORCE_CONSTANT", p.nptra, "NPTRA")?;
        parm.dih_per = self.floats("DIHEDRAL_PERIODICITY", p.nptra, "NPTRA")?;
        parm.dih_phase = self.floats("DIHEDRAL_PHASE", p.nptra, "NPTRA")?;
        parm.scee = self.opt_floats("SCEE_SCALE_FACTOR", p.nptra, "NPTRA")?;
        parm.scnb = self.opt_floats("SCNB_SCALE_FACTOR", p.nptra, "NPTRA")?;
        parm.lj_a = self.floats("LENNARD_JONES_ACOEF", nlj, "NTYPES·(NTYPES+1)/2")?;
        parm.lj_b = self.floats("LENNARD_JONES_BCOEF", nlj, "NTYPES·(NTYPES+1)/2")?;

        let lists = |flag: &str, cnt: (usize, &str), w: usize, nty: usize| {
            self.atom_lists(flag, cnt, w, nty, n)
        };
        let bond = |v: Vec<i64>| ((v[0] / 3) as usize, (v[1] / 3) as usize, v[2] as usize);
        parm.bonds_h = lists("BONDS_INC_HYDROGEN", (p.nbonh, "3·NBONH"), 3, p.numbnd)?
            .into_iter()
            .map(bond)
            .collect();
        parm.bonds_noh = lists("BONDS_WITHOUT_HYDROGEN", (p.nbona, "3·NBONA"), 3, p.numbnd)?
            .into_iter()
            .map(bond)
            .collect();
        let angle = |v: Vec<i64>| {
            (
                (v[0] / 3) as usize,
                (v[1] / 3) as usize,
                (v[2] / 3) as usize,
                v[3] as usize,
            )
        };
        parm.angles = lists("ANGLES_INC_HYDROGEN", (p.ntheth, "4·NTHETH"), 4, p.numang)?
            .into_iter()
            .chain(lists(
                "ANGLES_WITHOUT_HYDROGEN",
                (p.ntheta, "4·NTHETA"),
                4,
                p.numang,
            )?)
            .map(angle)
            .collect();
        let dihedral = |v: Vec<i64>| Dihedral {
            atoms: [
                (v[0] / 3) as usize,
                (v[1] / 3) as usize,
                (v[2].abs() / 3) as usize,
                (v[3].abs() / 3) as usize,
            ],
            ty: v[4] as usize,
            pair14: v[2] > 0 && v[3] > 0,
        };
        parm.dihedrals = lists("DIHEDRALS_INC_HYDROGEN", (p.nphih, "5·NPHIH"), 5, p.nptra)?
            .into_iter()
            .chain(lists(
                "DIHEDRALS_WITHOUT_HYDROGEN",
                (p.nphia, "5·NPHIA"),
                5,
                p.nptra,
            )?)
            .map(dihedral)
            .collect();

        let excl = self.ints("EXCLUDED_ATOMS_LIST", p.next, "NEXT")?;
        let mut total = 0usize;
        parm.excluded = Vec::with_capacity(n);
        for (i, &cnt) in nexcl.iter().enumerate() {
            if cnt < 0 || total + cnt as usize > excl.len() {
                return Err(self.index_err(
                    "NUMBER_EXCLUDED_ATOMS",
                    i,
                    format!(
                        "atom {i} claims {cnt} exclusions but EXCLUDED_ATOMS_LIST has only {} values left",
                        excl.len() - total.min(excl.len())
                    ),
                ));
            }
            let mut list = Vec::with_capacity(cnt as usize);
            for (k, &j) in excl.iter().enumerate().skip(total).take(cnt as usize) {
                if j > n as i64 || j < 0 {
                    return Err(self.index_err(
                        "EXCLUDED_ATOMS_LIST",
                        k,
                        format!("atom {j} is out of range 1..={n} (excluded partner of atom {i})"),
                    ));
                }
                if j > 0 {
                    list.push(j as usize - 1);
                }
            }
            total += cnt as usize;
            parm.excluded.push(list);
        }

        parm.hb_a = self.floats("HBOND_ACOEF", p.nphb, "NPHB")?;
        parm.hb_b = self.floats("HBOND_BCOEF", p.nphb, "NPHB")?;
        parm.radii = self.opt_floats("RADII", n, "NATOM")?;
        parm.screen = self.opt_floats("SCREEN", n, "NATOM")?;
        if p.ifbox > 0 {
            let b = self.floats("BOX_DIMENSIONS", 4, "IFBOX > 0")?;
            parm.box_dims = Some([b[0], b[1], b[2], b[3]]);
        }
        if let Some(s) = self
            .section("CMAP_COUNT")
            .or(self.section("CHARMM_CMAP_COUNT"))
        {
            if s.values.len() >= 2 {
                parm.n_cmap = s.values[1]
                    .parse::<usize>()
                    .map_err(|_| self.num_err(s, 1, "a count"))?;
            }
        }
        Ok(parm)
    }
}

/// Element of an atom name when ATOMIC_NUMBER is absent (OpenMM's guess).
fn guess_element(name: &str) -> String {
    let upper = name.to_ascii_uppercase();
    for (prefix, sym) in [("CL", "Cl"), ("NA", "Na"), ("MG", "Mg"), ("ZN", "Zn")] {
        if upper.starts_with(prefix) {
            return sym.to_string();
        }
    }
    let first = upper
        .chars()
        .next()
        .map(|c| c.to_string())
        .unwrap_or_default();
    if [
        "H", "D", "B", "C", "N", "O", "F", "P", "S", "K", "V", "Y", "I", "W", "U",
    ]
    .contains(&first.as_str())
    {
        first
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fortran_widths() {
        assert_eq!(format_width("10I8"), 8);
        assert_eq!(format_width("5E16.8"), 16);
        assert_eq!(format_width("20a4"), 4);
        assert_eq!(format_width("1a80"), 80);
        assert_eq!(format_width("3(E16.8)"), 16);
        assert_eq!(format_width("nonsense"), 80);
    }

    #[test]
    fn element_guess() {
        assert_eq!(guess_element("CL1"), "Cl");
        assert_eq!(guess_element("CA"), "C");
        assert_eq!(guess_element("HG1"), "H");
        assert_eq!(guess_element("EP1"), "");
    }
}
