//! Point-cloud inputs for the AAE encoder (DeepDriveMD's `point_cloud` convention).

use crate::error::{check_finite, Result};
use crate::frames::Frames;

/// Ångström per nanometre.
const ANGSTROM_PER_NM: f64 = 10.0;

/// Point clouds of the selected atoms: for every frame a `[3][N]` block (x, y, z
/// rows; atoms in selection order along the columns) in **Å**, centred on the
/// unweighted centroid of the selection — the input convention of the
/// reference AAE models (`tests/data/aae_a/config.json`, `input_convention`).
/// Input coordinates are in nm; output is `[frame][3][N]`, f32.
pub fn point_clouds(frames: &Frames, selection: &[usize]) -> Result<Vec<f32>> {
    let sel = frames.gather(selection)?;
    check_finite("coordinates", &sel, 3)?;
    let n = selection.len();
    let mut out = vec![0f32; sel.len()];
    for (src, dst) in sel.chunks_exact(3 * n).zip(out.chunks_exact_mut(3 * n)) {
        for axis in 0..3 {
            let mean = (0..n).map(|a| src[3 * a + axis] as f64).sum::<f64>() / n as f64;
            for a in 0..n {
                dst[axis * n + a] = ((src[3 * a + axis] as f64 - mean) * ANGSTROM_PER_NM) as f32;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::{dcd, npy, pdb};

    /// The committed AAE input was built by MDAnalysis from the same trajectory.
    #[test]
    fn matches_the_reference_aae_input() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
        let (top, _) = pdb::read_pdb(dir.join("villin.pdb")).unwrap();
        let ca = top.select_names(&["CA"]).unwrap();
        let frames = dcd::read_dcd(dir.join("villin.dcd")).unwrap();
        let clouds = point_clouds(&frames, &ca).unwrap();
        let (shape, want) = npy::read_npy::<f32>(dir.join("aae_a/input.npy")).unwrap();
        assert_eq!(shape, vec![frames.n_frames(), 3, ca.len()]);
        // DCD stores f32 Å; the nm round trip costs at most a few f32 ulps of ~20 Å.
        let err = clouds
            .iter()
            .zip(&want)
            .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(err <= 2e-5, "max |ours - MDAnalysis| = {err} Å");
    }
}
