//! Reader for Amber `prmtop` topologies and `inpcrd`/`rst7` coordinates.
