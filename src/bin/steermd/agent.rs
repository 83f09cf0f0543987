//! `steermd agent`: one DeepDriveMD agent step on existing data, in memory:
//! contact maps -> encoder embedding -> outliers -> (RMSD ranking), printed.

use std::time::Instant;

use steermd::nn::Encoder;
use steermd::{Device, Error, Result};

use crate::args::AgentArgs;
use crate::commands::{
    check_outlier_flags, compute_maps, embed_all, find_outliers, load_selected, reference_coords,
};

pub fn run(device: &Device, a: &AgentArgs) -> Result<()> {
    check_outlier_flags(&a.params)?;
    let t0 = Instant::now();
    let s = load_selected(&a.traj)?;
    let enc = Encoder::load(&a.model)?;
    let n_frames = s.frames.n_frames();
    let n_sel = s.selection.len();
    println!(
        "agent: {n_frames} frames of {} atoms from {}, {n_sel} selected ({}), model {} (input {:?}, latent {})",
        s.frames.n_atoms,
        a.traj.traj.display(),
        a.traj.select,
        a.model.display(),
        enc.input_shape(),
        enc.latent_dim()
    );
    let reference = a
        .reference
        .as_ref()
        .map(|p| reference_coords(p, &s))
        .transpose()?;

    let t = Instant::now();
    let input = match &enc {
        Encoder::Cvae(_) => {
            let maps = compute_maps(device, &s, a.cutoff, false)?;
            let density = maps.dense_u8().iter().map(|&v| v as f64).sum::<f64>()
                / (n_frames * n_sel * n_sel).max(1) as f64;
            println!(
                "  contact maps   {:>8.3} s  ({n_sel}x{n_sel}, cutoff {} nm, {:.1}% in contact)",
                t.elapsed().as_secs_f64(),
                a.cutoff,
                100.0 * density
            );
            maps.dense_u8()
                .iter()
                .map(|&v| v as f32)
                .collect::<Vec<f32>>()
        }
        Encoder::Aae(_) => {
            let clouds = steermd::nn::point_clouds(&s.frames, &s.selection)?;
            println!("  point clouds   {:>8.3} s", t.elapsed().as_secs_f64());
            clouds
        }
    };
    let per: usize = enc.input_shape().iter().product();
    if input.len() != n_frames * per {
        return Err(Error::Shape(format!(
            "the model {} expects inputs of shape {:?} but {n_sel} atoms were selected",
            a.model.display(),
            enc.input_shape()
        )));
    }

    let t = Instant::now();
    let z = embed_all(device, &enc, &input, 256)?;
    println!("  embedding      {:>8.3} s", t.elapsed().as_secs_f64());

    let t = Instant::now();
    let (mut picked, scores, how) = find_outliers(device, &z, enc.latent_dim(), &a.params)?;
    println!(
        "  outliers       {:>8.3} s  ({how})",
        t.elapsed().as_secs_f64()
    );

    let rmsd = match &reference {
        Some(r) => {
            let t = Instant::now();
            let v = steermd::analysis::rmsd::rmsd(device, r, &s.frames, &s.selection)?;
            println!("  RMSD           {:>8.3} s", t.elapsed().as_secs_f64());
            // DeepDriveMD's extrinsic score: restart from the outliers closest to the folded state.
            picked.sort_by(|&i, &j| v[i].total_cmp(&v[j]).then(i.cmp(&j)));
            Some(v)
        }
        None => None,
    };

    println!(
        "picked {} restart frame(s){}:",
        picked.len(),
        if rmsd.is_some() {
            ", lowest RMSD first"
        } else {
            ""
        }
    );
    println!(
        "  {:>5}  {:>7}  {:>12}  {:>10}",
        "rank", "frame", "LOF score", "RMSD (nm)"
    );
    for (rank, &f) in picked.iter().enumerate() {
        let score = scores
            .as_ref()
            .map_or("-".into(), |s| format!("{:.4}", s[f]));
        let r = rmsd.as_ref().map_or("-".into(), |r| format!("{:.4}", r[f]));
        println!("  {:>5}  {:>7}  {:>12}  {:>10}", rank + 1, f, score, r);
    }
    println!("agent step done in {:.3} s", t0.elapsed().as_secs_f64());
    Ok(())
}
