//! The in-memory analysis of frames, shared by the campaign driver and the
//! steering API: atom selection, Cα contact maps, the encoder's embedding
//! and the RMSD to the folded reference, one batch per simulation.

use crate::analysis::contacts::{contact_maps, ContactMapOptions, ContactMaps};
use crate::analysis::rmsd::rmsd;
use crate::backend::Device;
use crate::drive::config::AnalysisSection;
use crate::error::{Error, Result};
use crate::frames::Frames;
use crate::io::pdb::{read_pdb, Topology};
use crate::nn::{point_clouds, Encoder};

type V3 = [f64; 3];

/// Selection, reference and encoder of the `[analysis]` section, loaded and
/// checked once.
pub struct Analyzer {
    /// Atoms of a full frame.
    pub n_atoms: usize,
    /// Selected atom indices (contact maps, point clouds, RMSD).
    pub selection: Vec<usize>,
    /// The reference's selected atoms, nm.
    pub reference: Vec<f32>,
    /// The encoder.
    pub encoder: Encoder,
    /// Latent dimension.
    pub latent_dim: usize,
    /// Contact cutoff, nm.
    pub contact_cutoff: f32,
}

impl Analyzer {
    /// Load the reference and encoder of `a`, selecting atoms by name in
    /// `topology` (the system's; its atom count is the frames'), and check
    /// that they fit together (atom counts, the encoder's input shape
    /// against the selection).
    pub fn load(a: &AnalysisSection, topology: &Topology) -> Result<Analyzer> {
        let n = topology.n_atoms();
        let names: Vec<&str> = a.selection.iter().map(String::as_str).collect();
        let selection = topology.select_names(&names)?;
        let (ref_top, ref_frames) = read_pdb(&a.reference)?;
        if ref_top.n_atoms() != n {
            return Err(Error::Shape(format!(
                "config: analysis.reference {} has {} atoms, the system has {n}",
                a.reference.display(),
                ref_top.n_atoms()
            )));
        }
        let reference = ref_frames.gather(&selection)?;
        let encoder = Encoder::load(&a.model)?;
        let want: Vec<usize> = match &encoder {
            Encoder::Cvae(_) => vec![1, selection.len(), selection.len()],
            Encoder::Aae(_) => vec![3, selection.len()],
        };
        if encoder.input_shape() != want.as_slice() {
            return Err(Error::Shape(format!(
                "config: the model {} expects input shape {:?}, but the selection {:?} has {} atoms (input {:?})",
                a.model.display(),
                encoder.input_shape(),
                a.selection,
                selection.len(),
                want
            )));
        }
        let latent_dim = encoder.latent_dim();
        Ok(Analyzer {
            n_atoms: n,
            selection,
            reference,
            encoder,
            latent_dim,
            contact_cutoff: a.contact_cutoff,
        })
    }

    /// As [`load`](Self::load), selecting atoms in the reference PDB's own
    /// topology (when no system is at hand, as in the steering API).
    pub fn load_from_reference(a: &AnalysisSection) -> Result<Analyzer> {
        let (topology, _) = read_pdb(&a.reference)?;
        Analyzer::load(a, &topology)
    }

    /// Contact maps, embeddings (`[frames][latent]`) and RMSDs (nm) of the
    /// given frames (full positions, nm), as one batch.
    pub fn analyze(
        &self,
        device: &Device,
        positions: &[&[V3]],
    ) -> Result<(ContactMaps, Vec<f32>, Vec<f32>)> {
        let n_sel = self.selection.len();
        let mut xyz = Vec::with_capacity(positions.len() * n_sel * 3);
        for p in positions {
            for &a in &self.selection {
                xyz.extend(p[a].iter().map(|&v| v as f32));
            }
        }
        let frames = Frames::new(n_sel, xyz, None)?;
        let all: Vec<usize> = (0..n_sel).collect();
        let maps = contact_maps(
            device,
            &frames,
            &all,
            &ContactMapOptions {
                cutoff: self.contact_cutoff,
                periodic: false,
            },
        )?;
        let input: Vec<f32> = match &self.encoder {
            Encoder::Cvae(_) => maps.dense_u8().iter().map(|&v| f32::from(v)).collect(),
            Encoder::Aae(_) => point_clouds(&frames, &all)?,
        };
        let latents = self.encoder.embed(device, &input, positions.len())?;
        let r = rmsd(device, &self.reference, &frames, &all)?;
        Ok((maps, latents, r))
    }
}
