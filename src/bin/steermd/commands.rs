//! The single-step subcommands: contacts, embed, outliers, rmsd.

use std::path::Path;

use steermd::analysis::contacts::{contact_maps, ContactMapOptions, ContactMaps};
use steermd::io::{dcd, npy, pdb};
use steermd::nn::Encoder;
use steermd::outliers::{self, AdaptiveDbscanOptions};
use steermd::{Device, Error, Frames, Result};

use crate::args::{
    ContactsArgs, EmbedArgs, Method, OutlierParams, OutliersArgs, RmsdArgs, TrajArgs,
};

/// A topology, its trajectory and the selected atom indices.
pub struct Selected {
    pub topology: pdb::Topology,
    pub frames: Frames,
    pub selection: Vec<usize>,
}

/// Read the PDB topology and the trajectory (DCD, Amber NetCDF or XTC), check they agree, select atoms by name.
pub fn load_selected(a: &TrajArgs) -> Result<Selected> {
    let (topology, _) = pdb::read_pdb(&a.top)?;
    let options = dcd::DcdReadOptions {
        drop_partial_frame: a.drop_partial_frame,
    };
    let frames = steermd::io::read_trajectory_with(&a.traj, &options)?;
    if frames.n_atoms != topology.atoms.len() {
        return Err(Error::Shape(format!(
            "{} has {} atoms but topology {} has {}",
            a.traj.display(),
            frames.n_atoms,
            a.top.display(),
            topology.atoms.len()
        )));
    }
    let names: Vec<&str> = a
        .select
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if names.is_empty() {
        return Err(Error::InvalidArgument("--select names no atom".into()));
    }
    let selection = topology.select_names(&names)?;
    Ok(Selected {
        topology,
        frames,
        selection,
    })
}

/// Check, before any work, that an output path names a `.npy` file.
pub fn npy_output(path: &Path) -> Result<()> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("npy") => Ok(()),
        _ => Err(Error::InvalidArgument(format!(
            "{}: output files must end in .npy",
            path.display()
        ))),
    }
}

/// Contact maps of the selection in every frame.
pub fn compute_maps(
    device: &Device,
    s: &Selected,
    cutoff: f32,
    periodic: bool,
) -> Result<ContactMaps> {
    let opts = ContactMapOptions { cutoff, periodic };
    contact_maps(device, &s.frames, &s.selection, &opts)
}

pub fn contacts(device: &Device, a: &ContactsArgs) -> Result<()> {
    let hdf5 = matches!(
        a.out.extension().and_then(|e| e.to_str()),
        Some("h5" | "hdf5")
    );
    if hdf5 && !cfg!(feature = "hdf5") {
        return Err(Error::InvalidArgument(format!(
            "{}: HDF5 output needs steermd built with `--features hdf5`; write .npy instead",
            a.out.display()
        )));
    }
    if !hdf5 {
        npy_output(&a.out)?;
    }
    let s = load_selected(&a.traj)?;
    let maps = compute_maps(device, &s, a.cutoff, a.periodic)?;
    let (nf, n) = (maps.n_frames(), maps.n());
    if let Some(prefix) = &a.coo_out {
        let (data, offsets) = maps.coo_all()?;
        npy::write_npy(with_suffix(prefix, ".data.npy"), &[data.len()], &data)?;
        npy::write_npy(
            with_suffix(prefix, ".offsets.npy"),
            &[offsets.len()],
            &offsets,
        )?;
    }
    if hdf5 {
        steermd::io::write_contact_maps_h5(&a.out, &maps)?;
    } else {
        npy::write_npy(&a.out, &[nf, n, n], maps.dense_u8())?;
    }
    println!(
        "contacts: {nf} frames, {n} atoms, cutoff {} nm -> {}",
        a.cutoff,
        a.out.display()
    );
    Ok(())
}

fn with_suffix(prefix: &Path, suffix: &str) -> std::path::PathBuf {
    let mut s = prefix.as_os_str().to_owned();
    s.push(suffix);
    s.into()
}

/// Embed `input` (row-major [frames, ...model input shape]) in batches.
pub fn embed_all(device: &Device, enc: &Encoder, input: &[f32], batch: usize) -> Result<Vec<f32>> {
    let per = enc.input_shape().iter().product::<usize>();
    let mut z = Vec::with_capacity(input.len() / per * enc.latent_dim());
    for chunk in input.chunks(per * batch.max(1)) {
        z.extend(enc.embed(device, chunk, chunk.len() / per)?);
    }
    Ok(z)
}

/// Check that a `[frames, ...]` array matches the model's per-sample input shape.
pub fn check_model_input(enc: &Encoder, shape: &[usize], what: &Path) -> Result<usize> {
    let want = enc.input_shape();
    let per: usize = want.iter().product();
    let frames = shape.first().copied().unwrap_or(0);
    let got: usize = shape.iter().skip(1).product();
    if shape.len() < 2 || got != per {
        return Err(Error::Shape(format!(
            "{}: shape {shape:?} does not match the model's input shape [frames, {}]",
            what.display(),
            want.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(frames)
}

pub fn embed(device: &Device, a: &EmbedArgs) -> Result<()> {
    if a.batch == 0 {
        return Err(Error::InvalidArgument("--batch must be at least 1".into()));
    }
    npy_output(&a.out)?;
    let enc = Encoder::load(&a.model)?;
    let (shape, input) = npy::read_npy_f32_lossless(&a.maps)?;
    let frames = check_model_input(&enc, &shape, &a.maps)?;
    let z = embed_all(device, &enc, &input, a.batch)?;
    npy::write_npy(&a.out, &[frames, enc.latent_dim()], &z)?;
    println!(
        "embed: {frames} frames -> latent dim {} -> {}",
        enc.latent_dim(),
        a.out.display()
    );
    Ok(())
}

/// Default LOF neighbours and outlier count, and DBSCAN radius.
const DEFAULT_K: usize = 20;
const DEFAULT_N: usize = 10;
const DEFAULT_EPS: f64 = 1.3;
const DEFAULT_MIN_SAMPLES: usize = 10;

/// Reject flags that the chosen method would ignore.
pub fn check_outlier_flags(p: &OutlierParams) -> Result<()> {
    let given = |set: bool, flag: &str| set.then(|| flag.to_string());
    let stray: Vec<String> = match p.method {
        Method::Lof => [
            given(p.eps.is_some(), "--eps"),
            given(p.min_samples.is_some(), "--min-samples"),
            given(p.min_outliers.is_some(), "--min-outliers"),
            given(p.max_outliers.is_some(), "--max-outliers"),
            given(p.accept_closest, "--accept-closest"),
        ]
        .into_iter()
        .flatten()
        .collect(),
        Method::Dbscan => {
            let adaptive = p.min_outliers.is_some() || p.max_outliers.is_some();
            [
                given(p.k.is_some(), "--k"),
                given(
                    p.n.is_some(),
                    "--n (DBSCAN returns every noise point; bound the count with --max-outliers)",
                ),
                given(
                    p.accept_closest && !adaptive,
                    "--accept-closest (without --min-outliers/--max-outliers)",
                ),
            ]
            .into_iter()
            .flatten()
            .collect()
        }
    };
    if stray.is_empty() {
        return Ok(());
    }
    let method = match p.method {
        Method::Lof => "lof",
        Method::Dbscan => "dbscan",
    };
    Err(Error::InvalidArgument(format!(
        "--method {method} does not use {}",
        stray.join(", ")
    )))
}

/// Outliers of `points` ([n][dim]); returns indices (and LOF scores) and a description.
///
/// LOF: the `--n` most negative scores. DBSCAN: every noise point, at
/// `--eps` (plain), or at the radius the adaptive search settled on when a
/// range is given; a range not reached is an error naming the closest run,
/// unless `--accept-closest`.
pub fn find_outliers(
    device: &Device,
    points: &[f32],
    dim: usize,
    p: &OutlierParams,
) -> Result<(Vec<usize>, Option<Vec<f64>>, String)> {
    check_outlier_flags(p)?;
    let eps = p.eps.unwrap_or(DEFAULT_EPS);
    let min_samples = p.min_samples.unwrap_or(DEFAULT_MIN_SAMPLES);
    match p.method {
        Method::Lof => {
            let k = p.k.unwrap_or(DEFAULT_K);
            let scores = outliers::lof(device, points, dim, k)?;
            let idx = outliers::top_outliers(&scores, p.n.unwrap_or(DEFAULT_N));
            Ok((idx, Some(scores), format!("LOF k={k}")))
        }
        Method::Dbscan if p.min_outliers.is_none() && p.max_outliers.is_none() => {
            let r = outliers::dbscan(device, points, dim, eps, min_samples)?;
            let how = format!(
                "DBSCAN eps={eps} min_samples={}, {} cluster(s)",
                min_samples, r.n_clusters
            );
            Ok((r.noise(), None, how))
        }
        Method::Dbscan => {
            let (lo, hi) = (
                p.min_outliers.unwrap_or(0),
                p.max_outliers.unwrap_or(usize::MAX),
            );
            let opts = AdaptiveDbscanOptions {
                eps,
                min_samples,
                min_outliers: lo,
                max_outliers: hi,
                ..AdaptiveDbscanOptions::default()
            };
            let r = outliers::adaptive_dbscan(device, points, dim, &opts)?;
            let range = if hi == usize::MAX {
                format!("[{lo}, unbounded]")
            } else {
                format!("[{lo}, {hi}]")
            };
            if !r.reached {
                let msg = format!(
                    "adaptive DBSCAN did not reach the outlier range {range} in {} attempt(s) from eps {eps}: closest was eps {} with {} outlier(s)",
                    r.attempts,
                    r.eps,
                    r.outliers.len()
                );
                if !p.accept_closest {
                    return Err(Error::InvalidArgument(format!(
                        "{msg} (pass --accept-closest to use it)"
                    )));
                }
                eprintln!("warning: {msg}; using it (--accept-closest)");
            }
            let how = format!(
                "adaptive DBSCAN settled on eps={} min_samples={} after {} attempt(s), range {range} {}",
                r.eps,
                min_samples,
                r.attempts,
                if r.reached { "reached" } else { "not reached" }
            );
            Ok((r.outliers, None, how))
        }
    }
}

pub fn outliers(device: &Device, a: &OutliersArgs) -> Result<()> {
    check_outlier_flags(&a.params)?;
    npy_output(&a.out)?;
    if let Some(p) = &a.scores_out {
        npy_output(p)?;
    }
    let (shape, z) = npy::read_npy_f32_lossless(&a.latent)?;
    if shape.len() != 2 {
        return Err(Error::Shape(format!(
            "{}: latent vectors must be 2-D [points, dim], got shape {shape:?}",
            a.latent.display()
        )));
    }
    let (idx, scores, how) = find_outliers(device, &z, shape[1], &a.params)?;
    let idx64: Vec<i64> = idx.iter().map(|&i| i as i64).collect();
    if let (Some(path), Some(s)) = (&a.scores_out, &scores) {
        npy::write_npy(path, &[s.len()], s)?;
    } else if a.scores_out.is_some() {
        return Err(Error::InvalidArgument(
            "--scores-out is only available with --method lof".into(),
        ));
    }
    npy::write_npy(&a.out, &[idx64.len()], &idx64)?;
    println!(
        "outliers: {} of {} points ({how}) -> {}",
        idx.len(),
        shape[0],
        a.out.display()
    );
    Ok(())
}

/// Reference coordinates (nm) of the selected atoms, checked against the topology.
pub fn reference_coords(path: &Path, s: &Selected) -> Result<Vec<f32>> {
    let (ref_top, ref_frames) = pdb::read_pdb(path)?;
    if ref_top.atoms.len() != s.topology.atoms.len() {
        return Err(Error::Shape(format!(
            "reference {} has {} atoms but the topology has {}",
            path.display(),
            ref_top.atoms.len(),
            s.topology.atoms.len()
        )));
    }
    ref_frames.gather(&s.selection)
}

pub fn rmsd(device: &Device, a: &RmsdArgs) -> Result<()> {
    npy_output(&a.out)?;
    let s = load_selected(&a.traj)?;
    let reference = reference_coords(&a.reference, &s)?;
    let r = steermd::analysis::rmsd::rmsd(device, &reference, &s.frames, &s.selection)?;
    npy::write_npy(&a.out, &[r.len()], &r)?;
    println!(
        "rmsd: {} frames, {} atoms -> {}",
        r.len(),
        s.selection.len(),
        a.out.display()
    );
    Ok(())
}
