//! Chemical element symbols, shared by the readers that name atoms' elements
//! (PDB, Amber prmtop).

/// Element symbols by atomic number (1..=116, as OpenMM's element table).
pub(crate) const ELEMENTS: [&str; 116] = [
    "H", "He", "Li", "Be", "B", "C", "N", "O", "F", "Ne", "Na", "Mg", "Al", "Si", "P", "S", "Cl",
    "Ar", "K", "Ca", "Sc", "Ti", "V", "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn", "Ga", "Ge", "As",
    "Se", "Br", "Kr", "Rb", "Sr", "Y", "Zr", "Nb", "Mo", "Tc", "Ru", "Rh", "Pd", "Ag", "Cd", "In",
    "Sn", "Sb", "Te", "I", "Xe", "Cs", "Ba", "La", "Ce", "Pr", "Nd", "Pm", "Sm", "Eu", "Gd", "Tb",
    "Dy", "Ho", "Er", "Tm", "Yb", "Lu", "Hf", "Ta", "W", "Re", "Os", "Ir", "Pt", "Au", "Hg", "Tl",
    "Pb", "Bi", "Po", "At", "Rn", "Fr", "Ra", "Ac", "Th", "Pa", "U", "Np", "Pu", "Am", "Cm", "Bk",
    "Cf", "Es", "Fm", "Md", "No", "Lr", "Rf", "Db", "Sg", "Bh", "Hs", "Mt", "Ds", "Rg", "Cn", "Nh",
    "Fl", "Mc", "Lv",
];

/// The symbol of atomic number `z` (1-based), if it is in the table.
pub(crate) fn symbol_of_atomic_number(z: usize) -> Option<&'static str> {
    z.checked_sub(1).and_then(|k| ELEMENTS.get(k)).copied()
}

/// The element whose symbol is `text`, compared without regard to case
/// (`FE`, `Fe` and `fe` are iron), as OpenMM's `Element.getBySymbol`.
/// Deuterium, which OpenMM's table also holds, is `D`.
pub(crate) fn symbol_named(text: &str) -> Option<&'static str> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("D") {
        return Some("D");
    }
    ELEMENTS
        .iter()
        .find(|s| s.eq_ignore_ascii_case(text))
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_by_number_and_by_name() {
        assert_eq!(symbol_of_atomic_number(1), Some("H"));
        assert_eq!(symbol_of_atomic_number(26), Some("Fe"));
        assert_eq!(symbol_of_atomic_number(0), None);
        assert_eq!(symbol_of_atomic_number(117), None);
        assert_eq!(symbol_named("FE"), Some("Fe"));
        assert_eq!(symbol_named(" cl"), Some("Cl"));
        assert_eq!(symbol_named("d"), Some("D"));
        assert_eq!(symbol_named("EP"), None);
        assert_eq!(symbol_named(""), None);
    }
}
