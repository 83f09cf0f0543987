//! The C ABI misuse suite (issue 12): NULL in every pointer argument, buffers
//! one element too short, freed / foreign / never-created handles, double
//! frees, and calls from several threads at once on separate handles. Each
//! misuse returns its status with a message naming the argument; nothing
//! crashes.
//!
//! The cases are tables keyed by (function, argument). `coverage_matches_header`
//! parses `include/steermd.h` and fails when a function, a pointer argument, a
//! length argument or a handle argument has no case, so the suite cannot drift
//! from the header.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{c_char, CStr, CString};
use std::path::Path;
use std::ptr;
use std::sync::{Barrier, Mutex, MutexGuard, PoisonError};

use steermd::capi::steermd_status::*;
use steermd::capi::*;

// ---------------------------------------------------------------- helpers

/// The handle-misuse cases rely on a freed address not being reused by a new
/// handle while they run; the tests of this file therefore run one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

fn last_error() -> String {
    // SAFETY: never NULL; valid until the next steermd call on this thread.
    unsafe { CStr::from_ptr(steermd_last_error_message()) }
        .to_string_lossy()
        .into_owned()
}

fn status_name(status: i32) -> String {
    // SAFETY: a static string, never NULL.
    unsafe { CStr::from_ptr(steermd_status_string(status)) }
        .to_string_lossy()
        .into_owned()
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn c_path(p: &Path) -> CString {
    CString::new(p.to_str().unwrap()).unwrap()
}

fn data(name: &str) -> CString {
    c_path(&root().join("tests/data").join(name))
}

fn cs(s: &str) -> CString {
    CString::new(s).unwrap()
}

/// Deterministic coordinates of `n_frames` frames of `n` atoms.
fn chain(n_frames: usize, n: usize) -> Vec<f32> {
    (0..n_frames * n * 3)
        .map(|i| (i as f32 * 0.731).sin() * 1.2)
        .collect()
}

/// Clear this thread's last error with a call that always succeeds.
fn clear_error() {
    let mut o = std::mem::MaybeUninit::<steermd_integrator_options>::uninit();
    // SAFETY: `o` is valid for one write.
    let st = unsafe {
        steermd_integrator_options_default(o.as_mut_ptr(), size_of::<steermd_integrator_options>())
    };
    assert_eq!(st, STEERMD_OK);
    assert_eq!(last_error(), "");
}

fn default_options() -> steermd_integrator_options {
    let mut o = std::mem::MaybeUninit::<steermd_integrator_options>::uninit();
    // SAFETY: `o` is valid for one write, and initialised by the call.
    unsafe {
        assert_eq!(
            steermd_integrator_options_default(
                o.as_mut_ptr(),
                size_of::<steermd_integrator_options>()
            ),
            STEERMD_OK
        );
        o.assume_init()
    }
}

fn xml_case() -> (CString, CString) {
    (
        data("ff/ildn_obc_nocutoff/system.xml"),
        data("ff/ildn_obc_nocutoff/input.pdb"),
    )
}

const SENTINEL_F32: f32 = -12345.5;
const SENTINEL_F64: f64 = -12345.5;

// ---------------------------------------------------------------- fixture

/// One live handle of each type plus valid inputs for every function.
struct Fx {
    top: *mut steermd_topology,
    traj: *mut steermd_trajectory,
    enc: *mut steermd_encoder,
    sim: *mut steermd_simulation,
    /// A steering of 2 simulations after one iteration of villin.dcd frames
    /// (with velocities; copy probability 1).
    steer: *mut steermd_steering,
    steer_atoms: usize,
    /// The next step for a frame handed over by a case.
    steer_step: i64,
    /// Cα indices of the topology.
    ca: Vec<usize>,
    n_frames: usize,
    n_top_atoms: usize,
    sim_atoms: usize,
    input_size: usize,
    latent_dim: usize,
    /// Kernel inputs: 2 frames of 5 atoms; 90 points of dimension 4; 90 scores.
    xyz: Vec<f32>,
    reference: Vec<f32>,
    boxes: Vec<f32>,
    points: Vec<f32>,
    scores: Vec<f64>,
    dir: tempfile::TempDir,
}

impl Fx {
    fn new() -> Fx {
        let mut top = ptr::null_mut();
        let mut traj = ptr::null_mut();
        let mut enc = ptr::null_mut();
        let mut sim = ptr::null_mut();
        let (xml, pdb) = xml_case();
        let opts = default_options();
        let ca_name = cs("CA");
        let mut ca = vec![0usize; 35];
        let (mut n_sel, mut n_frames, mut n_top_atoms, mut sim_atoms) = (0, 0, 0, 0);
        let (mut input_size, mut latent_dim) = (0, 0);
        // SAFETY: valid C strings and out-pointers; buffers sized as passed.
        unsafe {
            assert_eq!(
                steermd_topology_read_pdb(data("villin.pdb").as_ptr(), &mut top),
                STEERMD_OK
            );
            assert_eq!(steermd_topology_n_atoms(top, &mut n_top_atoms), STEERMD_OK);
            let st =
                steermd_topology_select(top, ca_name.as_ptr(), ca.as_mut_ptr(), 35, &mut n_sel);
            assert_eq!((st, n_sel), (STEERMD_OK, 35));
            assert_eq!(
                steermd_trajectory_read_dcd(data("villin.dcd").as_ptr(), &mut traj),
                STEERMD_OK
            );
            assert_eq!(
                steermd_trajectory_shape(traj, &mut n_frames, ptr::null_mut()),
                STEERMD_OK
            );
            assert_eq!(
                steermd_encoder_load(data("cvae_a").as_ptr(), &mut enc),
                STEERMD_OK
            );
            assert_eq!(
                steermd_encoder_shape(enc, &mut input_size, &mut latent_dim),
                STEERMD_OK
            );
            assert_eq!(
                steermd_simulation_create_xml(xml.as_ptr(), pdb.as_ptr(), &opts, &mut sim),
                STEERMD_OK,
                "{}",
                last_error()
            );
            assert_eq!(steermd_simulation_n_atoms(sim, &mut sim_atoms), STEERMD_OK);
        }
        let (steer, steer_atoms) = steering_fixture();
        Fx {
            steer,
            steer_atoms,
            steer_step: 100,
            top,
            traj,
            enc,
            sim,
            ca,
            n_frames,
            n_top_atoms,
            sim_atoms,
            input_size,
            latent_dim,
            xyz: chain(2, 5),
            reference: chain(1, 5).iter().map(|v| v * 0.9).collect(),
            boxes: vec![3.0; 6],
            points: chain(30, 4),
            scores: (0..90)
                .map(|i| -1.0 - ((i * 37) % 90) as f64 / 50.0)
                .collect(),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn tmp(&self, name: &str) -> CString {
        c_path(&self.dir.path().join(name))
    }

    fn positions(&self) -> Vec<f64> {
        let mut p = vec![0.0; 3 * self.sim_atoms];
        // SAFETY: live handle, buffer of the length passed.
        let st = unsafe { steermd_simulation_get_positions(self.sim, p.as_mut_ptr(), p.len()) };
        assert_eq!(st, STEERMD_OK);
        p
    }

    fn velocities(&self) -> Vec<f64> {
        let mut v = vec![0.0; 3 * self.sim_atoms];
        // SAFETY: live handle, buffer of the length passed.
        let st = unsafe { steermd_simulation_get_velocities(self.sim, v.as_mut_ptr(), v.len()) };
        assert_eq!(st, STEERMD_OK);
        v
    }

    /// Free every handle, checking each free succeeds.
    fn free_all(&mut self) {
        // SAFETY: live handles, each freed once.
        unsafe {
            steermd_topology_free(self.top);
            assert_eq!(last_error(), "");
            steermd_trajectory_free(self.traj);
            assert_eq!(last_error(), "");
            steermd_encoder_free(self.enc);
            assert_eq!(last_error(), "");
            steermd_simulation_free(self.sim);
            assert_eq!(last_error(), "");
            steermd_steering_free(self.steer);
            assert_eq!(last_error(), "");
        }
        self.steer = ptr::null_mut();
        self.top = ptr::null_mut();
        self.traj = ptr::null_mut();
        self.enc = ptr::null_mut();
        self.sim = ptr::null_mut();
    }
}

fn steering_toml() -> String {
    format!(
        "[analysis]\nmodel = {:?}\nreference = {:?}\n\n[agent]\nmethod = \"lof\"\n\
         last_n = 12\nn_neighbors = 2\nn_outliers = 2\ncopy_velocities_probability = 1.0\n",
        root().join("tests/data/cvae_trained").display().to_string(),
        root()
            .join("tests/data/villin_ref.pdb")
            .display()
            .to_string(),
    )
}

/// Frame `f` of villin.dcd, nm, as f64.
fn villin_frame(f: usize) -> Vec<f64> {
    let frames = steermd::io::read_dcd(root().join("tests/data/villin.dcd")).unwrap();
    frames.frame(f).iter().map(|&x| f64::from(x)).collect()
}

/// A steering of 2 simulations after one iteration of 3 frames each, and
/// its atom count.
fn steering_fixture() -> (*mut steermd_steering, usize) {
    let cfg = cs(&steering_toml());
    let mut steer = ptr::null_mut();
    // SAFETY: valid C string, out-pointer and buffers of the lengths passed.
    unsafe {
        let st = steermd_steering_create(cfg.as_ptr(), 2, &mut steer);
        assert_eq!(st, STEERMD_OK, "{}", last_error());
        let mut n = 0;
        for sim in 0..2i64 {
            for k in 0..3i64 {
                let p = villin_frame((sim * 50 + k * 7) as usize);
                let v: Vec<f64> = p.iter().map(|x| 0.01 * x).collect();
                n = p.len() / 3;
                let st = steermd_steering_add_frame(
                    steer,
                    sim,
                    k + 1,
                    p.as_ptr(),
                    n,
                    v.as_ptr(),
                    ptr::null(),
                );
                assert_eq!(st, STEERMD_OK, "{}", last_error());
            }
        }
        let mut restarts = 0;
        assert_eq!(
            steermd_steering_iterate(steer, &mut restarts),
            STEERMD_OK,
            "{}",
            last_error()
        );
        assert_eq!(restarts, 2);
        (steer, n)
    }
}

impl Fx {
    /// Hand a frame of simulation 0 over with `velocities` / `box_vectors`
    /// as given (NULL allowed).
    fn steer_add(&mut self, velocities: *const f64, box_vectors: *const f64) -> steermd_status {
        let p = villin_frame(3);
        self.steer_step += 1;
        // SAFETY: live handle, buffer of the length passed.
        unsafe {
            steermd_steering_add_frame(
                self.steer,
                0,
                self.steer_step,
                p.as_ptr(),
                self.steer_atoms,
                velocities,
                box_vectors,
            )
        }
    }
}

impl Fx {
    /// [`Fx::steer_add`] through `steermd_steering_add_frame_f32`.
    fn steer_add_f32(&mut self, velocities: *const f32, box_vectors: *const f32) -> steermd_status {
        let p: Vec<f32> = villin_frame(3).iter().map(|&x| x as f32).collect();
        self.steer_step += 1;
        // SAFETY: live handle, buffer of the length passed.
        unsafe {
            steermd_steering_add_frame_f32(
                self.steer,
                0,
                self.steer_step,
                p.as_ptr(),
                self.steer_atoms,
                velocities,
                box_vectors,
            )
        }
    }
}

impl Drop for Fx {
    fn drop(&mut self) {
        if !std::thread::panicking() && !self.top.is_null() {
            self.free_all();
        }
    }
}

// ---------------------------------------------------------------- NULL cases

/// What passing NULL in an argument must give.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Null {
    /// `STEERMD_ERR_NULL_POINTER`, with a message naming the argument.
    Refused,
    /// Accepted (an optional output, or a null-safe free): success, no message.
    Accepted,
}

type Call = Box<dyn Fn(&mut Fx) -> steermd_status>;

struct NullCase {
    func: &'static str,
    arg: &'static str,
    expect: Null,
    call: Call,
}

fn nc(
    func: &'static str,
    arg: &'static str,
    expect: Null,
    call: impl Fn(&mut Fx) -> steermd_status + 'static,
) -> NullCase {
    NullCase {
        func,
        arg,
        expect,
        call: Box::new(call),
    }
}

/// The status of a void function: OK when it left no message.
fn void_status() -> steermd_status {
    if last_error().is_empty() {
        STEERMD_OK
    } else {
        STEERMD_ERR_INTERNAL
    }
}

#[rustfmt::skip]
fn null_cases() -> Vec<NullCase> {
    use Null::*;
    fn n() -> *const c_char {
        ptr::null()
    }
    // SAFETY (every closure below): each argument is valid for the call except
    // the one NULL on purpose; handles are the fixture's live ones.
    unsafe {
        vec![
            // encoder
            nc("steermd_encoder_load", "dir", Refused, |_| { let mut e = ptr::null_mut(); steermd_encoder_load(n(), &mut e) }),
            nc("steermd_encoder_load", "out", Refused, |_| steermd_encoder_load(data("cvae_a").as_ptr(), ptr::null_mut())),
            nc("steermd_encoder_shape", "enc", Refused, |_| { let (mut s, mut l) = (0, 0); steermd_encoder_shape(ptr::null(), &mut s, &mut l) }),
            nc("steermd_encoder_shape", "input_size", Accepted, |fx| {
                let mut l = 0;
                let st = steermd_encoder_shape(fx.enc, ptr::null_mut(), &mut l);
                assert_eq!(l, fx.latent_dim, "the other output is still written");
                st
            }),
            nc("steermd_encoder_shape", "latent_dim", Accepted, |fx| {
                let mut s = 0;
                let st = steermd_encoder_shape(fx.enc, &mut s, ptr::null_mut());
                assert_eq!(s, fx.input_size, "the other output is still written");
                st
            }),
            nc("steermd_encoder_embed", "enc", Refused, |fx| {
                let x = vec![0f32; fx.input_size];
                let mut z = vec![0f32; fx.latent_dim];
                steermd_encoder_embed(ptr::null(), x.as_ptr(), 1, x.len(), z.as_mut_ptr(), z.len())
            }),
            nc("steermd_encoder_embed", "input", Refused, |fx| {
                let mut z = vec![0f32; fx.latent_dim];
                steermd_encoder_embed(fx.enc, ptr::null(), 1, fx.input_size, z.as_mut_ptr(), z.len())
            }),
            nc("steermd_encoder_embed", "latent", Refused, |fx| {
                let x = vec![0f32; fx.input_size];
                steermd_encoder_embed(fx.enc, x.as_ptr(), 1, x.len(), ptr::null_mut(), fx.latent_dim)
            }),
            nc("steermd_encoder_free", "enc", Accepted, |_| { steermd_encoder_free(ptr::null_mut()); void_status() }),
            // topology
            nc("steermd_topology_read_pdb", "path", Refused, |_| { let mut t = ptr::null_mut(); steermd_topology_read_pdb(n(), &mut t) }),
            nc("steermd_topology_read_pdb", "out", Refused, |_| steermd_topology_read_pdb(data("villin.pdb").as_ptr(), ptr::null_mut())),
            nc("steermd_topology_n_atoms", "top", Refused, |_| { let mut k = 0; steermd_topology_n_atoms(ptr::null(), &mut k) }),
            nc("steermd_topology_n_atoms", "n_atoms", Refused, |fx| steermd_topology_n_atoms(fx.top, ptr::null_mut())),
            nc("steermd_topology_select", "top", Refused, |_| { let mut k = 0; steermd_topology_select(ptr::null(), cs("CA").as_ptr(), ptr::null_mut(), 0, &mut k) }),
            nc("steermd_topology_select", "names", Refused, |fx| { let mut k = 0; steermd_topology_select(fx.top, n(), ptr::null_mut(), 0, &mut k) }),
            nc("steermd_topology_select", "indices", Accepted, |fx| {
                // NULL with capacity 0 is the documented count query.
                let mut k = 0;
                let st = steermd_topology_select(fx.top, cs("CA").as_ptr(), ptr::null_mut(), 0, &mut k);
                assert_eq!(k, fx.ca.len());
                st
            }),
            nc("steermd_topology_select", "indices", Refused, |fx| { let mut k = 0; steermd_topology_select(fx.top, cs("CA").as_ptr(), ptr::null_mut(), 35, &mut k) }),
            nc("steermd_topology_select", "n_selected", Refused, |fx| { let mut i = [0usize; 35]; steermd_topology_select(fx.top, cs("CA").as_ptr(), i.as_mut_ptr(), 35, ptr::null_mut()) }),
            nc("steermd_topology_coordinates", "top", Refused, |fx| { let mut x = vec![0f32; 3 * fx.n_top_atoms]; steermd_topology_coordinates(ptr::null(), x.as_mut_ptr(), x.len()) }),
            nc("steermd_topology_coordinates", "xyz", Refused, |fx| steermd_topology_coordinates(fx.top, ptr::null_mut(), 3 * fx.n_top_atoms)),
            nc("steermd_topology_free", "top", Accepted, |_| { steermd_topology_free(ptr::null_mut()); void_status() }),
            // trajectory
            nc("steermd_trajectory_read", "path", Refused, |_| { let mut t = ptr::null_mut(); steermd_trajectory_read(n(), &mut t) }),
            nc("steermd_trajectory_read", "out", Refused, |_| steermd_trajectory_read(data("traj_formats/villin5.nc").as_ptr(), ptr::null_mut())),
            nc("steermd_trajectory_read_dcd", "path", Refused, |_| { let mut t = ptr::null_mut(); steermd_trajectory_read_dcd(n(), &mut t) }),
            nc("steermd_trajectory_read_dcd", "out", Refused, |_| steermd_trajectory_read_dcd(data("villin.dcd").as_ptr(), ptr::null_mut())),
            nc("steermd_trajectory_shape", "traj", Refused, |_| { let (mut a, mut b) = (0, 0); steermd_trajectory_shape(ptr::null(), &mut a, &mut b) }),
            nc("steermd_trajectory_shape", "n_frames", Accepted, |fx| {
                let mut a = 0;
                let st = steermd_trajectory_shape(fx.traj, ptr::null_mut(), &mut a);
                assert_eq!(a, 582);
                st
            }),
            nc("steermd_trajectory_shape", "n_atoms", Accepted, |fx| {
                let mut f = 0;
                let st = steermd_trajectory_shape(fx.traj, &mut f, ptr::null_mut());
                assert_eq!(f, fx.n_frames);
                st
            }),
            nc("steermd_trajectory_gather", "traj", Refused, |fx| { let mut x = vec![0f32; fx.n_frames * 3]; steermd_trajectory_gather(ptr::null(), fx.ca.as_ptr(), 1, x.as_mut_ptr(), x.len()) }),
            nc("steermd_trajectory_gather", "selection", Refused, |fx| { let mut x = vec![0f32; fx.n_frames * 3]; steermd_trajectory_gather(fx.traj, ptr::null(), 1, x.as_mut_ptr(), x.len()) }),
            nc("steermd_trajectory_gather", "xyz", Refused, |fx| steermd_trajectory_gather(fx.traj, fx.ca.as_ptr(), 1, ptr::null_mut(), fx.n_frames * 3)),
            nc("steermd_trajectory_free", "traj", Accepted, |_| { steermd_trajectory_free(ptr::null_mut()); void_status() }),
            // kernels
            nc("steermd_contact_maps", "xyz", Refused, |fx| { let mut m = [0u8; 50]; steermd_contact_maps(ptr::null(), 2, 5, fx.boxes.as_ptr(), 0.8, m.as_mut_ptr(), 50) }),
            nc("steermd_contact_maps", "boxes", Accepted, |fx| { let mut m = [0u8; 50]; steermd_contact_maps(fx.xyz.as_ptr(), 2, 5, ptr::null(), 0.8, m.as_mut_ptr(), 50) }),
            nc("steermd_contact_maps", "maps", Refused, |fx| steermd_contact_maps(fx.xyz.as_ptr(), 2, 5, fx.boxes.as_ptr(), 0.8, ptr::null_mut(), 50)),
            nc("steermd_rmsd", "reference", Refused, |fx| { let mut o = [0f32; 2]; steermd_rmsd(ptr::null(), fx.xyz.as_ptr(), 2, 5, o.as_mut_ptr(), 2) }),
            nc("steermd_rmsd", "xyz", Refused, |fx| { let mut o = [0f32; 2]; steermd_rmsd(fx.reference.as_ptr(), ptr::null(), 2, 5, o.as_mut_ptr(), 2) }),
            nc("steermd_rmsd", "out", Refused, |fx| steermd_rmsd(fx.reference.as_ptr(), fx.xyz.as_ptr(), 2, 5, ptr::null_mut(), 2)),
            nc("steermd_lof", "points", Refused, |_| { let mut s = [0f64; 90]; steermd_lof(ptr::null(), 90, 4, 20, s.as_mut_ptr(), 90) }),
            nc("steermd_lof", "scores", Refused, |fx| steermd_lof(fx.points.as_ptr(), 90, 4, 20, ptr::null_mut(), 90)),
            nc("steermd_top_outliers", "scores", Refused, |_| { let (mut i, mut w) = ([0i64; 3], 0); steermd_top_outliers(ptr::null(), 90, 3, i.as_mut_ptr(), 3, &mut w) }),
            nc("steermd_top_outliers", "indices", Refused, |fx| { let mut w = 0; steermd_top_outliers(fx.scores.as_ptr(), 90, 3, ptr::null_mut(), 3, &mut w) }),
            nc("steermd_top_outliers", "n_written", Refused, |fx| { let mut i = [0i64; 3]; steermd_top_outliers(fx.scores.as_ptr(), 90, 3, i.as_mut_ptr(), 3, ptr::null_mut()) }),
            nc("steermd_dbscan", "points", Refused, |_| { let (mut l, mut c) = ([0i64; 90], 0); steermd_dbscan(ptr::null(), 90, 4, 0.5, 5, l.as_mut_ptr(), 90, &mut c) }),
            nc("steermd_dbscan", "labels", Refused, |fx| { let mut c = 0; steermd_dbscan(fx.points.as_ptr(), 90, 4, 0.5, 5, ptr::null_mut(), 90, &mut c) }),
            nc("steermd_dbscan", "n_clusters", Accepted, |fx| { let mut l = [0i64; 90]; steermd_dbscan(fx.points.as_ptr(), 90, 4, 0.5, 5, l.as_mut_ptr(), 90, ptr::null_mut()) }),
            // option defaults
            nc("steermd_integrator_options_default", "out", Refused, |_| steermd_integrator_options_default(ptr::null_mut(), size_of::<steermd_integrator_options>())),
            nc("steermd_prmtop_options_default", "out", Refused, |_| steermd_prmtop_options_default(ptr::null_mut(), size_of::<steermd_prmtop_options>())),
            // simulation creation
            nc("steermd_simulation_create_xml", "system_xml", Refused, |_| { let (_, p) = xml_case(); let mut s = ptr::null_mut(); steermd_simulation_create_xml(n(), p.as_ptr(), &default_options(), &mut s) }),
            nc("steermd_simulation_create_xml", "pdb", Refused, |_| { let (x, _) = xml_case(); let mut s = ptr::null_mut(); steermd_simulation_create_xml(x.as_ptr(), n(), &default_options(), &mut s) }),
            nc("steermd_simulation_create_xml", "options", Refused, |_| { let (x, p) = xml_case(); let mut s = ptr::null_mut(); steermd_simulation_create_xml(x.as_ptr(), p.as_ptr(), ptr::null(), &mut s) }),
            nc("steermd_simulation_create_xml", "out", Refused, |_| { let (x, p) = xml_case(); steermd_simulation_create_xml(x.as_ptr(), p.as_ptr(), &default_options(), ptr::null_mut()) }),
            nc("steermd_simulation_create_prmtop", "prmtop", Refused, |_| { let mut s = ptr::null_mut(); steermd_simulation_create_prmtop(n(), data("ff/prmtop_mbondi2/villin.inpcrd").as_ptr(), ptr::null(), &default_options(), &mut s) }),
            nc("steermd_simulation_create_prmtop", "inpcrd", Refused, |_| { let mut s = ptr::null_mut(); steermd_simulation_create_prmtop(data("ff/prmtop_mbondi2/villin.prmtop").as_ptr(), n(), ptr::null(), &default_options(), &mut s) }),
            nc("steermd_simulation_create_prmtop", "prmtop_options", Accepted, |_| {
                let mut s = ptr::null_mut();
                let st = steermd_simulation_create_prmtop(data("ff/prmtop_mbondi2/villin.prmtop").as_ptr(), data("ff/prmtop_mbondi2/villin.inpcrd").as_ptr(), ptr::null(), &default_options(), &mut s);
                assert_eq!(st, STEERMD_OK, "{}", last_error());
                steermd_simulation_free(s);
                void_status()
            }),
            nc("steermd_simulation_create_prmtop", "options", Refused, |_| { let mut s = ptr::null_mut(); steermd_simulation_create_prmtop(data("ff/prmtop_mbondi2/villin.prmtop").as_ptr(), data("ff/prmtop_mbondi2/villin.inpcrd").as_ptr(), ptr::null(), ptr::null(), &mut s) }),
            nc("steermd_simulation_create_prmtop", "out", Refused, |_| steermd_simulation_create_prmtop(data("ff/prmtop_mbondi2/villin.prmtop").as_ptr(), data("ff/prmtop_mbondi2/villin.inpcrd").as_ptr(), ptr::null(), &default_options(), ptr::null_mut())),
            // simulation queries and updates
            nc("steermd_simulation_n_atoms", "sim", Refused, |_| { let mut k = 0; steermd_simulation_n_atoms(ptr::null_mut(), &mut k) }),
            nc("steermd_simulation_n_atoms", "n_atoms", Refused, |fx| steermd_simulation_n_atoms(fx.sim, ptr::null_mut())),
            nc("steermd_simulation_get_positions", "sim", Refused, |fx| { let mut x = vec![0.0; 3 * fx.sim_atoms]; steermd_simulation_get_positions(ptr::null_mut(), x.as_mut_ptr(), x.len()) }),
            nc("steermd_simulation_get_positions", "xyz", Refused, |fx| steermd_simulation_get_positions(fx.sim, ptr::null_mut(), 3 * fx.sim_atoms)),
            nc("steermd_simulation_set_positions", "sim", Refused, |fx| { let x = fx.positions(); steermd_simulation_set_positions(ptr::null_mut(), x.as_ptr(), x.len()) }),
            nc("steermd_simulation_set_positions", "xyz", Refused, |fx| steermd_simulation_set_positions(fx.sim, ptr::null(), 3 * fx.sim_atoms)),
            nc("steermd_simulation_get_velocities", "sim", Refused, |fx| { let mut v = vec![0.0; 3 * fx.sim_atoms]; steermd_simulation_get_velocities(ptr::null_mut(), v.as_mut_ptr(), v.len()) }),
            nc("steermd_simulation_get_velocities", "v", Refused, |fx| steermd_simulation_get_velocities(fx.sim, ptr::null_mut(), 3 * fx.sim_atoms)),
            nc("steermd_simulation_set_velocities", "sim", Refused, |fx| { let v = fx.velocities(); steermd_simulation_set_velocities(ptr::null_mut(), v.as_ptr(), v.len()) }),
            nc("steermd_simulation_set_velocities", "v", Refused, |fx| steermd_simulation_set_velocities(fx.sim, ptr::null(), 3 * fx.sim_atoms)),
            nc("steermd_simulation_set_velocities_to_temperature", "sim", Refused, |_| steermd_simulation_set_velocities_to_temperature(ptr::null_mut(), 300.0, 1)),
            nc("steermd_simulation_energies", "sim", Refused, |_| { let mut e = 0.0; steermd_simulation_energies(ptr::null_mut(), &mut e, &mut 0.0, &mut 0.0) }),
            nc("steermd_simulation_energies", "potential_kj_mol", Accepted, |fx| {
                let (mut k, mut t) = (SENTINEL_F64, SENTINEL_F64);
                let st = steermd_simulation_energies(fx.sim, ptr::null_mut(), &mut k, &mut t);
                assert!(k != SENTINEL_F64 && t != SENTINEL_F64, "the other outputs are still written");
                st
            }),
            nc("steermd_simulation_energies", "kinetic_kj_mol", Accepted, |fx| {
                let (mut p, mut t) = (SENTINEL_F64, SENTINEL_F64);
                let st = steermd_simulation_energies(fx.sim, &mut p, ptr::null_mut(), &mut t);
                assert!(p != SENTINEL_F64 && t != SENTINEL_F64, "the other outputs are still written");
                st
            }),
            nc("steermd_simulation_energies", "temperature_k", Accepted, |fx| {
                let (mut p, mut k) = (SENTINEL_F64, SENTINEL_F64);
                let st = steermd_simulation_energies(fx.sim, &mut p, &mut k, ptr::null_mut());
                assert!(p != SENTINEL_F64 && k != SENTINEL_F64, "the other outputs are still written");
                st
            }),
            nc("steermd_simulation_group_energies", "sim", Refused, |_| { let mut e = [0.0; 32]; steermd_simulation_group_energies(ptr::null_mut(), e.as_mut_ptr(), 32) }),
            nc("steermd_simulation_group_energies", "energies", Refused, |fx| steermd_simulation_group_energies(fx.sim, ptr::null_mut(), 32)),
            nc("steermd_simulation_get_forces", "sim", Refused, |fx| { let mut f = vec![0.0; 3 * fx.sim_atoms]; steermd_simulation_get_forces(ptr::null_mut(), f.as_mut_ptr(), f.len()) }),
            nc("steermd_simulation_get_forces", "forces", Refused, |fx| steermd_simulation_get_forces(fx.sim, ptr::null_mut(), 3 * fx.sim_atoms)),
            nc("steermd_simulation_minimize", "sim", Refused, |_| { let mut e = 0.0; steermd_simulation_minimize(ptr::null_mut(), 10.0, 2, &mut e) }),
            nc("steermd_simulation_minimize", "final_energy", Accepted, |fx| steermd_simulation_minimize(fx.sim, 10.0, 2, ptr::null_mut())),
            nc("steermd_simulation_step", "sim", Refused, |_| steermd_simulation_step(ptr::null_mut(), 1)),
            nc("steermd_simulation_progress", "sim", Refused, |_| { let (mut s, mut t) = (0, 0.0); steermd_simulation_progress(ptr::null_mut(), &mut s, &mut t) }),
            nc("steermd_simulation_progress", "step", Accepted, |fx| {
                let mut t = SENTINEL_F64;
                let st = steermd_simulation_progress(fx.sim, ptr::null_mut(), &mut t);
                assert!(t != SENTINEL_F64, "the other output is still written");
                st
            }),
            nc("steermd_simulation_progress", "time_ps", Accepted, |fx| {
                let mut s = u64::MAX;
                let st = steermd_simulation_progress(fx.sim, &mut s, ptr::null_mut());
                assert!(s != u64::MAX, "the other output is still written");
                st
            }),
            nc("steermd_simulation_add_dcd_reporter", "sim", Refused, |fx| steermd_simulation_add_dcd_reporter(ptr::null_mut(), fx.tmp("a.dcd").as_ptr(), 10)),
            nc("steermd_simulation_add_dcd_reporter", "path", Refused, |fx| steermd_simulation_add_dcd_reporter(fx.sim, n(), 10)),
            nc("steermd_simulation_save_checkpoint", "sim", Refused, |fx| steermd_simulation_save_checkpoint(ptr::null_mut(), fx.tmp("c.chk").as_ptr())),
            nc("steermd_simulation_save_checkpoint", "path", Refused, |fx| steermd_simulation_save_checkpoint(fx.sim, n())),
            nc("steermd_simulation_load_checkpoint", "sim", Refused, |fx| steermd_simulation_load_checkpoint(ptr::null_mut(), fx.tmp("c.chk").as_ptr())),
            nc("steermd_simulation_load_checkpoint", "path", Refused, |fx| steermd_simulation_load_checkpoint(fx.sim, n())),
            nc("steermd_simulation_free", "sim", Accepted, |_| { steermd_simulation_free(ptr::null_mut()); void_status() }),
            // steering (restart cases first: they rely on the fixture's iteration)
            nc("steermd_steering_restart", "steering", Refused, |fx| { let mut i = steermd_restart_info::default(); let mut b = vec![0.0; 3 * fx.steer_atoms]; let mut c = b.clone(); steermd_steering_restart(ptr::null(), 0, &mut i, b.as_mut_ptr(), c.as_mut_ptr(), b.len(), ptr::null_mut()) }),
            nc("steermd_steering_restart", "info", Refused, |fx| { let mut b = vec![0.0; 3 * fx.steer_atoms]; let mut c = b.clone(); steermd_steering_restart(fx.steer, 0, ptr::null_mut(), b.as_mut_ptr(), c.as_mut_ptr(), b.len(), ptr::null_mut()) }),
            nc("steermd_steering_restart", "positions", Refused, |fx| { let mut i = steermd_restart_info::default(); let mut c = vec![0.0; 3 * fx.steer_atoms]; steermd_steering_restart(fx.steer, 0, &mut i, ptr::null_mut(), c.as_mut_ptr(), c.len(), ptr::null_mut()) }),
            nc("steermd_steering_restart", "velocities", Refused, |fx| { let mut i = steermd_restart_info::default(); let mut b = vec![0.0; 3 * fx.steer_atoms]; steermd_steering_restart(fx.steer, 0, &mut i, b.as_mut_ptr(), ptr::null_mut(), b.len(), ptr::null_mut()) }),
            nc("steermd_steering_restart", "box_vectors", Accepted, |fx| { let mut i = steermd_restart_info::default(); let mut b = vec![0.0; 3 * fx.steer_atoms]; let mut c = b.clone(); steermd_steering_restart(fx.steer, 0, &mut i, b.as_mut_ptr(), c.as_mut_ptr(), b.len(), ptr::null_mut()) }),
            nc("steermd_steering_outliers", "steering", Refused, |_| { let mut n = 0; steermd_steering_outliers(ptr::null(), ptr::null_mut(), ptr::null_mut(), ptr::null_mut(), 0, &mut n) }),
            nc("steermd_steering_outliers", "frame_ids", Accepted, |fx| { let mut n = 0; let mut a = vec![0.0; 64]; let mut b = a.clone(); steermd_steering_outliers(fx.steer, ptr::null_mut(), a.as_mut_ptr(), b.as_mut_ptr(), 64, &mut n) }),
            nc("steermd_steering_outliers", "scores", Accepted, |fx| { let mut n = 0; let mut a = vec![0i64; 64]; let mut b = vec![0.0; 64]; steermd_steering_outliers(fx.steer, a.as_mut_ptr(), ptr::null_mut(), b.as_mut_ptr(), 64, &mut n) }),
            nc("steermd_steering_outliers", "rmsd_nm", Accepted, |fx| { let mut n = 0; let mut a = vec![0i64; 64]; let mut b = vec![0.0; 64]; steermd_steering_outliers(fx.steer, a.as_mut_ptr(), b.as_mut_ptr(), ptr::null_mut(), 64, &mut n) }),
            nc("steermd_steering_outliers", "n_outliers", Refused, |fx| steermd_steering_outliers(fx.steer, ptr::null_mut(), ptr::null_mut(), ptr::null_mut(), 0, ptr::null_mut())),
            nc("steermd_steering_write_outputs", "steering", Refused, |fx| steermd_steering_write_outputs(ptr::null(), fx.tmp("out").as_ptr())),
            nc("steermd_steering_write_outputs", "dir", Refused, |fx| steermd_steering_write_outputs(fx.steer, n())),
            nc("steermd_steering_create", "config", Refused, |_| { let mut h = ptr::null_mut(); steermd_steering_create(n(), 2, &mut h) }),
            nc("steermd_steering_create", "out", Refused, |_| { let c = cs(&steering_toml()); steermd_steering_create(c.as_ptr(), 2, ptr::null_mut()) }),
            nc("steermd_steering_create_mpi", "config", Refused, |_| { let mut h = ptr::null_mut(); steermd_steering_create_mpi(n(), 0, 2, &mut h) }),
            nc("steermd_steering_create_mpi", "out", Refused, |_| { let c = cs(&steering_toml()); steermd_steering_create_mpi(c.as_ptr(), 0, 2, ptr::null_mut()) }),
            nc("steermd_steering_add_frame", "steering", Refused, |fx| { let p = villin_frame(3); steermd_steering_add_frame(ptr::null_mut(), 0, 1, p.as_ptr(), fx.steer_atoms, ptr::null(), ptr::null()) }),
            nc("steermd_steering_add_frame", "positions", Refused, |fx| steermd_steering_add_frame(fx.steer, 0, 1, ptr::null(), fx.steer_atoms, ptr::null(), ptr::null())),
            nc("steermd_steering_add_frame", "velocities", Accepted, |fx| fx.steer_add(ptr::null(), ptr::null())),
            nc("steermd_steering_add_frame", "box_vectors", Accepted, |fx| { let v = vec![0.0; 3 * fx.steer_atoms]; let st = fx.steer_add(v.as_ptr(), ptr::null()); drop(v); st }),
            nc("steermd_steering_mark_failed", "steering", Refused, |_| steermd_steering_mark_failed(ptr::null_mut(), 1, ptr::null())),
            nc("steermd_steering_mark_failed", "message", Accepted, |fx| steermd_steering_mark_failed(fx.steer, 1, ptr::null())),
            nc("steermd_steering_iterate", "steering", Refused, |_| { let mut r = 0; steermd_steering_iterate(ptr::null_mut(), &mut r) }),
            nc("steermd_steering_iterate", "n_restarts", Accepted, |fx| steermd_steering_iterate(fx.steer, ptr::null_mut())),
            nc("steermd_steering_add_frame_f32", "steering", Refused, |fx| { let p = vec![0.5f32; 3 * fx.steer_atoms]; steermd_steering_add_frame_f32(ptr::null_mut(), 0, 1, p.as_ptr(), fx.steer_atoms, ptr::null(), ptr::null()) }),
            nc("steermd_steering_add_frame_f32", "positions", Refused, |fx| steermd_steering_add_frame_f32(fx.steer, 0, 1, ptr::null(), fx.steer_atoms, ptr::null(), ptr::null())),
            nc("steermd_steering_add_frame_f32", "velocities", Accepted, |fx| fx.steer_add_f32(ptr::null(), ptr::null())),
            nc("steermd_steering_add_frame_f32", "box_vectors", Accepted, |fx| { let v = vec![0.0f32; 3 * fx.steer_atoms]; fx.steer_add_f32(v.as_ptr(), ptr::null()) }),
            nc("steermd_steering_local_simulations", "steering", Refused, |_| { let (mut a, mut b) = (0, 0); steermd_steering_local_simulations(ptr::null(), &mut a, &mut b) }),
            nc("steermd_steering_local_simulations", "first", Refused, |fx| { let mut b = 0; steermd_steering_local_simulations(fx.steer, ptr::null_mut(), &mut b) }),
            nc("steermd_steering_local_simulations", "count", Refused, |fx| { let mut a = 0; steermd_steering_local_simulations(fx.steer, &mut a, ptr::null_mut()) }),
            nc("steermd_steering_free", "steering", Accepted, |_| { steermd_steering_free(ptr::null_mut()); void_status() }),
            // versions
            nc("steermd_version_numbers", "major", Accepted, |_| { let (mut b, mut c) = (u32::MAX, u32::MAX); steermd_version_numbers(ptr::null_mut(), &mut b, &mut c); assert_eq!(format!("{b}.{c}"), format!("{}.{}", env!("CARGO_PKG_VERSION_MINOR"), env!("CARGO_PKG_VERSION_PATCH"))); STEERMD_OK }),
            nc("steermd_version_numbers", "minor", Accepted, |_| { let (mut a, mut c) = (u32::MAX, u32::MAX); steermd_version_numbers(&mut a, ptr::null_mut(), &mut c); assert_eq!(format!("{a}.{c}"), format!("{}.{}", env!("CARGO_PKG_VERSION_MAJOR"), env!("CARGO_PKG_VERSION_PATCH"))); STEERMD_OK }),
            nc("steermd_version_numbers", "patch", Accepted, |_| { let (mut a, mut b) = (u32::MAX, u32::MAX); steermd_version_numbers(&mut a, &mut b, ptr::null_mut()); assert_eq!(format!("{a}.{b}"), format!("{}.{}", env!("CARGO_PKG_VERSION_MAJOR"), env!("CARGO_PKG_VERSION_MINOR"))); STEERMD_OK }),
        ]
    }
}

// ---------------------------------------------------------------- short buffers

/// The outcome of a call given a buffer one element shorter than needed.
struct ShortRun {
    status: steermd_status,
    needed: usize,
    /// The caller's memory (output buffer, other outputs, or the simulation
    /// state for an input buffer) is as it was before the call.
    untouched: bool,
    /// The last error right after the call.
    message: String,
}

struct ShortCase {
    func: &'static str,
    /// The length argument (as named in the header).
    len_arg: &'static str,
    /// The buffer argument the length belongs to (named in the message).
    buffer: &'static str,
    call: Box<dyn Fn(&mut Fx) -> ShortRun>,
}

fn sc(
    func: &'static str,
    len_arg: &'static str,
    buffer: &'static str,
    call: impl Fn(&mut Fx) -> ShortRun + 'static,
) -> ShortCase {
    ShortCase {
        func,
        len_arg,
        buffer,
        call: Box::new(call),
    }
}

/// Call `f` with an output buffer of `needed - 1` sentinels.
fn short_out<T: Copy + PartialEq>(
    needed: usize,
    sentinel: T,
    f: impl FnOnce(*mut T, usize) -> steermd_status,
) -> ShortRun {
    let mut buf = vec![sentinel; needed - 1];
    let status = f(buf.as_mut_ptr(), buf.len());
    ShortRun {
        status,
        needed,
        untouched: buf.iter().all(|v| *v == sentinel),
        message: last_error(),
    }
}

#[rustfmt::skip]
fn short_cases() -> Vec<ShortCase> {
    // SAFETY (every closure below): each buffer is valid for exactly the
    // length passed; handles are the fixture's live ones.
    unsafe {
        vec![
            sc("steermd_encoder_embed", "input_len", "input", |fx| {
                let x = vec![0f32; fx.input_size - 1];
                let r = short_out(fx.latent_dim + 1, SENTINEL_F32, |z, _| steermd_encoder_embed(fx.enc, x.as_ptr(), 1, x.len(), z, fx.latent_dim));
                ShortRun { needed: fx.input_size, ..r }
            }),
            sc("steermd_encoder_embed", "latent_len", "latent", |fx| {
                let x = vec![0f32; fx.input_size];
                short_out(fx.latent_dim, SENTINEL_F32, |z, len| steermd_encoder_embed(fx.enc, x.as_ptr(), 1, x.len(), z, len))
            }),
            sc("steermd_topology_select", "capacity", "indices", |fx| {
                let mut k = 0;
                let r = short_out(fx.ca.len(), usize::MAX, |i, len| steermd_topology_select(fx.top, cs("CA").as_ptr(), i, len, &mut k));
                assert_eq!(k, fx.ca.len(), "the count is reported even when the buffer is short");
                r
            }),
            sc("steermd_topology_coordinates", "len", "xyz", |fx| short_out(3 * fx.n_top_atoms, SENTINEL_F32, |x, len| steermd_topology_coordinates(fx.top, x, len))),
            sc("steermd_trajectory_gather", "len", "xyz", |fx| short_out(fx.n_frames * fx.ca.len() * 3, SENTINEL_F32, |x, len| steermd_trajectory_gather(fx.traj, fx.ca.as_ptr(), fx.ca.len(), x, len))),
            sc("steermd_contact_maps", "maps_len", "maps", |fx| short_out(50, 0xAB_u8, |m, len| steermd_contact_maps(fx.xyz.as_ptr(), 2, 5, fx.boxes.as_ptr(), 0.8, m, len))),
            sc("steermd_rmsd", "out_len", "out", |fx| short_out(2, SENTINEL_F32, |o, len| steermd_rmsd(fx.reference.as_ptr(), fx.xyz.as_ptr(), 2, 5, o, len))),
            sc("steermd_lof", "scores_len", "scores", |fx| short_out(90, SENTINEL_F64, |s, len| steermd_lof(fx.points.as_ptr(), 90, 4, 20, s, len))),
            sc("steermd_top_outliers", "indices_len", "indices", |fx| {
                let mut w = usize::MAX;
                let r = short_out(3, i64::MIN, |i, len| steermd_top_outliers(fx.scores.as_ptr(), 90, 3, i, len, &mut w));
                ShortRun { untouched: r.untouched && w == usize::MAX, ..r }
            }),
            sc("steermd_dbscan", "labels_len", "labels", |fx| {
                let mut c = usize::MAX;
                let r = short_out(90, i64::MIN, |l, len| steermd_dbscan(fx.points.as_ptr(), 90, 4, 0.5, 5, l, len, &mut c));
                ShortRun { untouched: r.untouched && c == usize::MAX, ..r }
            }),
            sc("steermd_simulation_get_positions", "len", "xyz", |fx| short_out(3 * fx.sim_atoms, SENTINEL_F64, |x, len| steermd_simulation_get_positions(fx.sim, x, len))),
            sc("steermd_steering_restart", "len", "positions", |fx| {
                let mut i = steermd_restart_info::default();
                let mut v = vec![SENTINEL_F64; 3 * fx.steer_atoms];
                let r = short_out(3 * fx.steer_atoms, SENTINEL_F64, |x, len| steermd_steering_restart(fx.steer, 0, &mut i, x, v.as_mut_ptr(), len, ptr::null_mut()));
                ShortRun { untouched: r.untouched && v.iter().all(|x| *x == SENTINEL_F64) && i.restarted == 0, ..r }
            }),
            sc("steermd_steering_outliers", "len", "frame_ids", |fx| {
                let mut n = 0;
                assert_eq!(steermd_steering_outliers(fx.steer, ptr::null_mut(), ptr::null_mut(), ptr::null_mut(), 0, &mut n), STEERMD_OK);
                short_out(n, i64::MIN, |x, len| steermd_steering_outliers(fx.steer, x, ptr::null_mut(), ptr::null_mut(), len, &mut n))
            }),
            sc("steermd_simulation_set_positions", "len", "xyz", |fx| {
                let before = fx.positions();
                let moved: Vec<f64> = before.iter().map(|v| v + 0.01).collect();
                let status = steermd_simulation_set_positions(fx.sim, moved.as_ptr(), moved.len() - 1);
                let message = last_error();
                ShortRun { status, needed: moved.len(), untouched: fx.positions() == before, message }
            }),
            sc("steermd_simulation_get_velocities", "len", "v", |fx| short_out(3 * fx.sim_atoms, SENTINEL_F64, |v, len| steermd_simulation_get_velocities(fx.sim, v, len))),
            sc("steermd_simulation_set_velocities", "len", "v", |fx| {
                let before = fx.velocities();
                let v: Vec<f64> = before.iter().map(|v| v + 0.5).collect();
                let status = steermd_simulation_set_velocities(fx.sim, v.as_ptr(), v.len() - 1);
                let message = last_error();
                ShortRun { status, needed: v.len(), untouched: fx.velocities() == before, message }
            }),
            sc("steermd_simulation_group_energies", "len", "energies", |fx| short_out(32, SENTINEL_F64, |e, len| steermd_simulation_group_energies(fx.sim, e, len))),
            sc("steermd_simulation_get_forces", "len", "forces", |fx| short_out(3 * fx.sim_atoms, SENTINEL_F64, |f, len| steermd_simulation_get_forces(fx.sim, f, len))),
        ]
    }
}

// ---------------------------------------------------------------- handles

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Topology,
    Trajectory,
    Encoder,
    Simulation,
    Steering,
}

impl Kind {
    const ALL: [Kind; 5] = [
        Kind::Topology,
        Kind::Trajectory,
        Kind::Encoder,
        Kind::Simulation,
        Kind::Steering,
    ];

    fn c_name(self) -> &'static str {
        match self {
            Kind::Topology => "steermd_topology",
            Kind::Trajectory => "steermd_trajectory",
            Kind::Encoder => "steermd_encoder",
            Kind::Simulation => "steermd_simulation",
            Kind::Steering => "steermd_steering",
        }
    }

    /// The handle type of a C parameter type such as `const struct steermd_topology *`.
    fn of_param(c_type: &str) -> Option<Kind> {
        let words: Vec<&str> = c_type
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .collect();
        let single_pointer = c_type.matches('*').count() == 1;
        Kind::ALL
            .into_iter()
            .find(|k| single_pointer && words.contains(&"struct") && words.contains(&k.c_name()))
    }

    /// The fixture's live handle of this kind.
    fn live(self, fx: &Fx) -> usize {
        match self {
            Kind::Topology => fx.top as usize,
            Kind::Trajectory => fx.traj as usize,
            Kind::Encoder => fx.enc as usize,
            Kind::Simulation => fx.sim as usize,
            Kind::Steering => fx.steer as usize,
        }
    }

    /// A live handle of another kind.
    fn foreign(self) -> Kind {
        match self {
            Kind::Topology => Kind::Trajectory,
            Kind::Trajectory => Kind::Encoder,
            Kind::Encoder => Kind::Simulation,
            Kind::Simulation => Kind::Steering,
            Kind::Steering => Kind::Topology,
        }
    }
}

/// A call given `handle` (an address, possibly not a live handle) in `arg`;
/// `None` for the void free functions.
type HandleCall = Box<dyn Fn(&mut Fx, usize) -> Option<steermd_status>>;

struct HandleCase {
    func: &'static str,
    arg: &'static str,
    kind: Kind,
    call: HandleCall,
}

fn hc(
    func: &'static str,
    arg: &'static str,
    kind: Kind,
    call: impl Fn(&mut Fx, usize) -> Option<steermd_status> + 'static,
) -> HandleCase {
    HandleCase {
        func,
        arg,
        kind,
        call: Box::new(call),
    }
}

#[rustfmt::skip]
fn handle_cases() -> Vec<HandleCase> {
    use Kind::*;
    // SAFETY (every closure below): the library checks the handle argument
    // against its registry before touching it; every other argument is valid.
    unsafe {
        vec![
            hc("steermd_encoder_shape", "enc", Encoder, |_, h| { let (mut a, mut b) = (0, 0); Some(steermd_encoder_shape(h as *const _, &mut a, &mut b)) }),
            hc("steermd_encoder_embed", "enc", Encoder, |fx, h| {
                let x = vec![0f32; fx.input_size];
                let mut z = vec![0f32; fx.latent_dim];
                Some(steermd_encoder_embed(h as *const _, x.as_ptr(), 1, x.len(), z.as_mut_ptr(), z.len()))
            }),
            hc("steermd_encoder_free", "enc", Encoder, |_, h| { steermd_encoder_free(h as *mut _); None }),
            hc("steermd_topology_n_atoms", "top", Topology, |_, h| { let mut k = 0; Some(steermd_topology_n_atoms(h as *const _, &mut k)) }),
            hc("steermd_topology_select", "top", Topology, |_, h| { let mut k = 0; Some(steermd_topology_select(h as *const _, cs("CA").as_ptr(), ptr::null_mut(), 0, &mut k)) }),
            hc("steermd_topology_coordinates", "top", Topology, |fx, h| { let mut x = vec![0f32; 3 * fx.n_top_atoms]; Some(steermd_topology_coordinates(h as *const _, x.as_mut_ptr(), x.len())) }),
            hc("steermd_topology_free", "top", Topology, |_, h| { steermd_topology_free(h as *mut _); None }),
            hc("steermd_trajectory_shape", "traj", Trajectory, |_, h| { let (mut a, mut b) = (0, 0); Some(steermd_trajectory_shape(h as *const _, &mut a, &mut b)) }),
            hc("steermd_trajectory_gather", "traj", Trajectory, |fx, h| { let mut x = vec![0f32; fx.n_frames * 3]; Some(steermd_trajectory_gather(h as *const _, fx.ca.as_ptr(), 1, x.as_mut_ptr(), x.len())) }),
            hc("steermd_trajectory_free", "traj", Trajectory, |_, h| { steermd_trajectory_free(h as *mut _); None }),
            hc("steermd_simulation_n_atoms", "sim", Simulation, |_, h| { let mut k = 0; Some(steermd_simulation_n_atoms(h as *mut _, &mut k)) }),
            hc("steermd_simulation_get_positions", "sim", Simulation, |fx, h| { let mut x = vec![0.0; 3 * fx.sim_atoms]; Some(steermd_simulation_get_positions(h as *mut _, x.as_mut_ptr(), x.len())) }),
            hc("steermd_simulation_set_positions", "sim", Simulation, |fx, h| { let x = vec![0.5; 3 * fx.sim_atoms]; Some(steermd_simulation_set_positions(h as *mut _, x.as_ptr(), x.len())) }),
            hc("steermd_simulation_get_velocities", "sim", Simulation, |fx, h| { let mut v = vec![0.0; 3 * fx.sim_atoms]; Some(steermd_simulation_get_velocities(h as *mut _, v.as_mut_ptr(), v.len())) }),
            hc("steermd_simulation_set_velocities", "sim", Simulation, |fx, h| { let v = vec![0.5; 3 * fx.sim_atoms]; Some(steermd_simulation_set_velocities(h as *mut _, v.as_ptr(), v.len())) }),
            hc("steermd_simulation_set_velocities_to_temperature", "sim", Simulation, |_, h| Some(steermd_simulation_set_velocities_to_temperature(h as *mut _, 300.0, 1))),
            hc("steermd_simulation_energies", "sim", Simulation, |_, h| { let mut e = 0.0; Some(steermd_simulation_energies(h as *mut _, &mut e, ptr::null_mut(), ptr::null_mut())) }),
            hc("steermd_simulation_group_energies", "sim", Simulation, |_, h| { let mut e = [0.0; 32]; Some(steermd_simulation_group_energies(h as *mut _, e.as_mut_ptr(), 32)) }),
            hc("steermd_simulation_get_forces", "sim", Simulation, |fx, h| { let mut f = vec![0.0; 3 * fx.sim_atoms]; Some(steermd_simulation_get_forces(h as *mut _, f.as_mut_ptr(), f.len())) }),
            hc("steermd_simulation_minimize", "sim", Simulation, |_, h| Some(steermd_simulation_minimize(h as *mut _, 10.0, 2, ptr::null_mut()))),
            hc("steermd_simulation_step", "sim", Simulation, |_, h| Some(steermd_simulation_step(h as *mut _, 1))),
            hc("steermd_simulation_progress", "sim", Simulation, |_, h| { let mut s = 0; Some(steermd_simulation_progress(h as *mut _, &mut s, ptr::null_mut())) }),
            hc("steermd_simulation_add_dcd_reporter", "sim", Simulation, |fx, h| Some(steermd_simulation_add_dcd_reporter(h as *mut _, fx.tmp("h.dcd").as_ptr(), 10))),
            hc("steermd_simulation_save_checkpoint", "sim", Simulation, |fx, h| Some(steermd_simulation_save_checkpoint(h as *mut _, fx.tmp("h.chk").as_ptr()))),
            hc("steermd_simulation_load_checkpoint", "sim", Simulation, |fx, h| Some(steermd_simulation_load_checkpoint(h as *mut _, fx.tmp("h.chk").as_ptr()))),
            hc("steermd_simulation_free", "sim", Simulation, |_, h| { steermd_simulation_free(h as *mut _); None }),
            hc("steermd_steering_add_frame", "steering", Steering, |fx, h| { let p = villin_frame(3); Some(steermd_steering_add_frame(h as *mut _, 0, 1, p.as_ptr(), fx.steer_atoms, ptr::null(), ptr::null())) }),
            hc("steermd_steering_mark_failed", "steering", Steering, |_, h| Some(steermd_steering_mark_failed(h as *mut _, 0, ptr::null()))),
            hc("steermd_steering_iterate", "steering", Steering, |_, h| Some(steermd_steering_iterate(h as *mut _, ptr::null_mut()))),
            hc("steermd_steering_restart", "steering", Steering, |fx, h| { let mut i = steermd_restart_info::default(); let mut b = vec![0.0; 3 * fx.steer_atoms]; let mut c = b.clone(); Some(steermd_steering_restart(h as *const _, 0, &mut i, b.as_mut_ptr(), c.as_mut_ptr(), b.len(), ptr::null_mut())) }),
            hc("steermd_steering_add_frame_f32", "steering", Steering, |fx, h| { let p = vec![0.5f32; 3 * fx.steer_atoms]; Some(steermd_steering_add_frame_f32(h as *mut _, 0, 1, p.as_ptr(), fx.steer_atoms, ptr::null(), ptr::null())) }),
            hc("steermd_steering_outliers", "steering", Steering, |_, h| { let mut n = 0; Some(steermd_steering_outliers(h as *const _, ptr::null_mut(), ptr::null_mut(), ptr::null_mut(), 0, &mut n)) }),
            hc("steermd_steering_write_outputs", "steering", Steering, |fx, h| Some(steermd_steering_write_outputs(h as *const _, fx.tmp("h-out").as_ptr()))),
            hc("steermd_steering_local_simulations", "steering", Steering, |_, h| { let (mut a, mut b) = (0, 0); Some(steermd_steering_local_simulations(h as *const _, &mut a, &mut b)) }),
            hc("steermd_steering_free", "steering", Steering, |_, h| { steermd_steering_free(h as *mut _); None }),
        ]
    }
}

/// Run `case` with `handle` and check it is refused with
/// `STEERMD_ERR_INVALID_HANDLE` and a message holding each of `words`.
fn expect_invalid_handle(
    fx: &mut Fx,
    case: &HandleCase,
    handle: usize,
    what: &str,
    words: &[String],
) {
    clear_error();
    let status = (case.call)(fx, handle);
    let message = last_error();
    let label = format!("{}({}: {what})", case.func, case.arg);
    if let Some(status) = status {
        assert_eq!(status, STEERMD_ERR_INVALID_HANDLE, "{label}: {message}");
    }
    assert!(!message.is_empty(), "{label}: no message");
    for w in words {
        assert!(
            message.contains(w.as_str()),
            "{label}: message {message:?} lacks {w:?}"
        );
    }
}

// ---------------------------------------------------------------- header

/// A function declared in `include/steermd.h`: its name and its parameters
/// as (C type, name).
#[derive(Debug)]
struct Decl {
    name: String,
    params: Vec<(String, String)>,
}

impl Decl {
    fn pointer_params(&self) -> impl Iterator<Item = &str> {
        self.params
            .iter()
            .filter(|(t, _)| t.contains('*'))
            .map(|(_, n)| n.as_str())
    }

    /// `size_t` parameters that are the capacity of a caller buffer.
    fn length_params(&self) -> impl Iterator<Item = &str> {
        self.params
            .iter()
            .filter(|(t, n)| {
                t == "size_t" && (n == "len" || n.ends_with("_len") || n == "capacity")
            })
            .map(|(_, n)| n.as_str())
    }

    fn handle_params(&self) -> impl Iterator<Item = (&str, Kind)> {
        self.params
            .iter()
            .filter_map(|(t, n)| Kind::of_param(t).map(|k| (n.as_str(), k)))
    }
}

fn header_text() -> String {
    let raw = std::fs::read_to_string(root().join("include/steermd.h")).expect("include/steermd.h");
    // Drop comments and preprocessor lines.
    let mut out = String::new();
    let mut rest = raw.as_str();
    while let Some(start) = rest.find("/*") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("*/").expect("comment is closed");
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    out.lines()
        .filter(|l| !l.trim_start().starts_with('#') && !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn header_functions() -> Vec<Decl> {
    let text = header_text();
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut decls = Vec::new();
    let mut i = 0;
    while let Some(off) = text[i..].find("steermd_") {
        let start = i + off;
        let end = start
            + text[start..]
                .find(|c: char| !is_ident(c))
                .unwrap_or(text.len() - start);
        i = end;
        if text[..start].chars().next_back().is_some_and(is_ident) {
            continue;
        }
        let after = text[end..].trim_start();
        if !after.starts_with('(') {
            continue;
        }
        let close = after.find(')').expect("parameter list is closed");
        let list = after[1..close]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let params = if list == "void" || list.is_empty() {
            Vec::new()
        } else {
            list.split(',')
                .map(|p| {
                    let p = p.trim();
                    let split = p
                        .rfind(|c: char| !is_ident(c))
                        .expect("parameter has a type");
                    (p[..=split].trim().to_string(), p[split + 1..].to_string())
                })
                .collect()
        };
        decls.push(Decl {
            name: text[start..end].to_string(),
            params,
        });
    }
    decls
}

/// The `steermd_status` enumerators of the header, name → value.
fn header_statuses() -> BTreeMap<String, i32> {
    let text = header_text();
    let start = text.find("enum steermd_status {").expect("the status enum")
        + "enum steermd_status {".len();
    let body = &text[start..start + text[start..].find('}').unwrap()];
    body.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|e| {
            let (name, value) = e.split_once('=').expect("explicit values");
            (
                name.trim().to_string(),
                value.trim().parse().expect("an integer value"),
            )
        })
        .collect()
}

// ---------------------------------------------------------------- coverage

/// Every function of the header: exercised by the tables above, or exempt
/// (no pointer arguments) with the reason.
const COVERAGE: &[(&str, Option<&str>)] = &[
    ("steermd_encoder_load", None),
    ("steermd_encoder_shape", None),
    ("steermd_encoder_embed", None),
    ("steermd_encoder_free", None),
    ("steermd_topology_read_pdb", None),
    ("steermd_topology_n_atoms", None),
    ("steermd_topology_select", None),
    ("steermd_topology_coordinates", None),
    ("steermd_topology_free", None),
    ("steermd_trajectory_read", None),
    ("steermd_trajectory_read_dcd", None),
    ("steermd_trajectory_shape", None),
    ("steermd_trajectory_gather", None),
    ("steermd_trajectory_free", None),
    ("steermd_contact_maps", None),
    ("steermd_rmsd", None),
    ("steermd_lof", None),
    ("steermd_top_outliers", None),
    ("steermd_dbscan", None),
    ("steermd_integrator_options_default", None),
    ("steermd_prmtop_options_default", None),
    ("steermd_simulation_create_xml", None),
    ("steermd_simulation_create_prmtop", None),
    ("steermd_simulation_n_atoms", None),
    ("steermd_simulation_get_positions", None),
    ("steermd_simulation_set_positions", None),
    ("steermd_simulation_get_velocities", None),
    ("steermd_simulation_set_velocities", None),
    ("steermd_simulation_set_velocities_to_temperature", None),
    ("steermd_simulation_energies", None),
    ("steermd_simulation_group_energies", None),
    ("steermd_simulation_get_forces", None),
    ("steermd_simulation_minimize", None),
    ("steermd_simulation_step", None),
    ("steermd_simulation_progress", None),
    ("steermd_simulation_add_dcd_reporter", None),
    ("steermd_simulation_save_checkpoint", None),
    ("steermd_simulation_load_checkpoint", None),
    ("steermd_simulation_free", None),
    ("steermd_steering_create", None),
    ("steermd_steering_create_mpi", None),
    ("steermd_steering_add_frame", None),
    ("steermd_steering_mark_failed", None),
    ("steermd_steering_iterate", None),
    ("steermd_steering_restart", None),
    ("steermd_steering_local_simulations", None),
    ("steermd_steering_add_frame_f32", None),
    ("steermd_steering_outliers", None),
    ("steermd_steering_write_outputs", None),
    ("steermd_drive_seed", Some("no pointer arguments; an unknown stream gives 0 (src/capi/seeds.rs tests)")),
    ("steermd_steering_free", None),
    ("steermd_version_numbers", None),
    ("steermd_last_error_message", Some("no arguments; read after every case here, per thread in threads_keep_their_own_errors")),
    ("steermd_status_string", Some("an int argument; every header status and an unknown code are checked by status_strings_cover_every_status")),
    ("steermd_version", Some("no arguments; returns a static string")),
    ("steermd_abi_version", Some("no arguments; returns a number")),
    ("steermd_warning_count", Some("no arguments")),
    ("steermd_warning_message", Some("an int argument; out-of-range indices give \"\" (tests/capi.rs)")),
    ("steermd_clear_warnings", Some("no arguments")),
];

#[test]
fn coverage_matches_header() {
    let decls = header_functions();
    assert!(
        decls.len() >= 40,
        "parsed only {} functions from the header",
        decls.len()
    );
    let header: BTreeMap<&str, &Decl> = decls.iter().map(|d| (d.name.as_str(), d)).collect();
    assert_eq!(header.len(), decls.len(), "a function is declared twice");
    let table: BTreeMap<&str, Option<&str>> = COVERAGE.iter().copied().collect();
    assert_eq!(
        table.len(),
        COVERAGE.len(),
        "a function is listed twice in COVERAGE"
    );

    let missing: Vec<_> = header.keys().filter(|n| !table.contains_key(*n)).collect();
    assert!(
        missing.is_empty(),
        "functions of include/steermd.h missing from COVERAGE: {missing:?}"
    );
    let stale: Vec<_> = table.keys().filter(|n| !header.contains_key(*n)).collect();
    assert!(
        stale.is_empty(),
        "COVERAGE lists functions the header lacks: {stale:?}"
    );

    let nulls: BTreeSet<(&str, &str)> = null_cases().iter().map(|c| (c.func, c.arg)).collect();
    let shorts: BTreeSet<(&str, &str)> =
        short_cases().iter().map(|c| (c.func, c.len_arg)).collect();
    let handles: BTreeSet<(&str, &str)> = handle_cases().iter().map(|c| (c.func, c.arg)).collect();
    let mut problems = Vec::new();
    for (name, decl) in &header {
        let exempt = table[name];
        let pointers: Vec<&str> = decl.pointer_params().collect();
        if let Some(reason) = exempt {
            assert!(!reason.is_empty());
            if !pointers.is_empty() {
                problems.push(format!("{name} is exempt but takes pointers {pointers:?}"));
            }
            continue;
        }
        if pointers.is_empty() {
            problems.push(format!(
                "{name} takes no pointers: mark it exempt with a reason"
            ));
        }
        for p in pointers {
            if !nulls.contains(&(*name, p)) {
                problems.push(format!("{name}: no NULL case for '{p}'"));
            }
        }
        for l in decl.length_params() {
            if !shorts.contains(&(*name, l)) {
                problems.push(format!("{name}: no short-buffer case for '{l}'"));
            }
        }
        for (h, _) in decl.handle_params() {
            if !handles.contains(&(*name, h)) {
                problems.push(format!("{name}: no invalid-handle case for '{h}'"));
            }
        }
    }
    // Every case names a real parameter of a real function, of the right kind.
    for (func, arg) in &nulls {
        let ok = header
            .get(func)
            .is_some_and(|d| d.pointer_params().any(|p| p == *arg));
        if !ok {
            problems.push(format!(
                "NULL case {func}({arg}) is not a pointer parameter of the header"
            ));
        }
    }
    for (func, arg) in &shorts {
        let ok = header
            .get(func)
            .is_some_and(|d| d.length_params().any(|p| p == *arg));
        if !ok {
            problems.push(format!(
                "short case {func}({arg}) is not a length parameter of the header"
            ));
        }
    }
    for c in handle_cases() {
        let ok = header
            .get(c.func)
            .is_some_and(|d| d.handle_params().any(|(p, k)| p == c.arg && k == c.kind));
        if !ok {
            problems.push(format!(
                "handle case {}({}) is not a {} parameter of the header",
                c.func,
                c.arg,
                c.kind.c_name()
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "coverage problems:\n{}",
        problems.join("\n")
    );
}

#[test]
fn status_strings_cover_every_status() {
    let statuses = header_statuses();
    assert!(statuses.len() >= 12, "{statuses:?}");
    let mut seen = BTreeSet::new();
    for (name, value) in &statuses {
        let s = status_name(*value);
        assert_eq!(&s, name, "steermd_status_string({value})");
        assert!(seen.insert(s), "two statuses share a string");
    }
    assert_eq!(
        statuses["STEERMD_ERR_UNSTABLE"],
        STEERMD_ERR_UNSTABLE as i32
    );
    assert_eq!(
        statuses["STEERMD_ERR_INVALID_HANDLE"],
        STEERMD_ERR_INVALID_HANDLE as i32
    );
    let unused = (-200..=200)
        .find(|v| !statuses.values().any(|s| s == v))
        .unwrap();
    assert_eq!(status_name(unused), "STEERMD_UNKNOWN_STATUS");
}

/// The Fortran module's named constants are the header's status values.
#[test]
fn fortran_status_constants_match_header() {
    let f90 = std::fs::read_to_string(root().join("include/steermd.f90")).unwrap();
    let constants: BTreeMap<String, i32> = f90
        .lines()
        .filter_map(|l| l.split_once("parameter ::"))
        .filter_map(|(_, rest)| rest.split_once('='))
        .map(|(name, value)| {
            (
                name.trim().to_string(),
                value.trim().parse().unwrap_or(i32::MIN),
            )
        })
        .filter(|(name, _)| name.starts_with("STEERMD_ERR_") || name == "STEERMD_OK")
        .collect();
    assert_eq!(constants, header_statuses());
}

// ---------------------------------------------------------------- the cases

#[test]
fn null_in_every_pointer_argument() {
    let _serial = serial();
    let mut fx = Fx::new();
    let mut failures = Vec::new();
    for case in null_cases() {
        clear_error();
        let status = (case.call)(&mut fx);
        let message = last_error();
        let label = format!("{}({} = NULL)", case.func, case.arg);
        match case.expect {
            Null::Refused => {
                if status != STEERMD_ERR_NULL_POINTER
                    || !message.contains(&format!("'{}'", case.arg))
                {
                    failures.push(format!(
                        "{label}: {} {message:?}",
                        status_name(status as i32)
                    ));
                }
            }
            Null::Accepted => {
                if status != STEERMD_OK || !message.is_empty() {
                    failures.push(format!(
                        "{label} should be accepted: {} {message:?}",
                        status_name(status as i32)
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn buffers_one_element_short() {
    let _serial = serial();
    let mut fx = Fx::new();
    let mut failures = Vec::new();
    for case in short_cases() {
        clear_error();
        let r = (case.call)(&mut fx);
        let message = &r.message;
        let label = format!("{}({} = needed - 1)", case.func, case.len_arg);
        let names = message.contains(&format!("'{}'", case.buffer))
            && message.contains(&r.needed.to_string());
        if r.status != STEERMD_ERR_SHAPE || !names || !r.untouched {
            failures.push(format!(
                "{label}: {} {message:?} (needs {}, untouched {})",
                status_name(r.status as i32),
                r.needed,
                r.untouched
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn freed_foreign_and_unknown_handles_are_refused() {
    let _serial = serial();
    let mut fx = Fx::new();
    // Never created by steermd: a live Rust allocation, and an address that
    // would fault if it were read.
    let junk = vec![0u64; 64];
    let unknown = [junk.as_ptr() as usize, 0x10];
    for case in handle_cases() {
        let not_live = vec![
            format!("'{}'", case.arg),
            format!("not a live {}", case.kind.c_name()),
        ];
        for &h in &unknown {
            expect_invalid_handle(&mut fx, &case, h, "never created", &not_live);
        }
        let other = case.kind.foreign();
        let words = vec![
            format!("'{}'", case.arg),
            format!("a {} handle", other.c_name()),
            format!("not a {}", case.kind.c_name()),
        ];
        let h = other.live(&fx);
        expect_invalid_handle(&mut fx, &case, h, "another type", &words);
    }
    // The refused frees of foreign handles freed nothing: every handle still works.
    let (mut a, mut f) = (0, 0);
    // SAFETY: live handles and valid outputs.
    unsafe {
        assert_eq!(steermd_topology_n_atoms(fx.top, &mut a), STEERMD_OK);
        assert_eq!(
            steermd_trajectory_shape(fx.traj, &mut f, ptr::null_mut()),
            STEERMD_OK
        );
        assert_eq!(
            steermd_encoder_shape(fx.enc, &mut a, ptr::null_mut()),
            STEERMD_OK
        );
        assert_eq!(steermd_simulation_step(fx.sim, 1), STEERMD_OK);
    }
    // Use after free, then double free (the free cases run last for each kind).
    let freed: BTreeMap<Kind, usize> = Kind::ALL.iter().map(|k| (*k, k.live(&fx))).collect();
    fx.free_all();
    for case in handle_cases() {
        let words = vec![
            format!("'{}'", case.arg),
            format!("not a live {}", case.kind.c_name()),
        ];
        expect_invalid_handle(&mut fx, &case, freed[&case.kind], "freed", &words);
    }
    drop(junk);
}

#[test]
fn racing_frees_of_one_handle_free_it_once() {
    let _serial = serial();
    let mut top: *mut steermd_topology = ptr::null_mut();
    // SAFETY: valid path and out-pointer.
    assert_eq!(
        unsafe { steermd_topology_read_pdb(data("villin.pdb").as_ptr(), &mut top) },
        STEERMD_OK
    );
    let addr = top as usize;
    let barrier = Barrier::new(4);
    let messages: Vec<String> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    // SAFETY: the registry lets exactly one of the racing frees through.
                    unsafe { steermd_topology_free(addr as *mut steermd_topology) };
                    last_error()
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    assert_eq!(
        messages.iter().filter(|m| m.is_empty()).count(),
        1,
        "{messages:?}"
    );
    for m in messages.iter().filter(|m| !m.is_empty()) {
        assert!(m.contains("not a live steermd_topology"), "{m}");
    }
}

// ---------------------------------------------------------------- threads

/// What one thread's workload computed and the statuses it saw, compared
/// bitwise between the threaded and the single-threaded runs.
#[derive(Debug, PartialEq)]
struct Outcome {
    statuses: Vec<i32>,
    messages: Vec<String>,
    maps: Vec<u8>,
    latent_bits: Vec<u32>,
    lof_bits: Vec<u64>,
    top: Vec<i64>,
    rmsd_bits: Vec<u32>,
    energy_bits: Vec<u64>,
    position_bits: Vec<u64>,
}

/// Create one handle of each type and use them, with failing calls between
/// which (when `barrier` is given) every thread waits for the others, so each
/// thread's error is checked after the others set theirs.
fn workload(i: usize, barrier: Option<&Barrier>) -> Outcome {
    let wait = || {
        if let Some(b) = barrier {
            b.wait();
        }
    };
    let mut st = Vec::new();
    let mut messages = Vec::new();
    let (mut top, mut traj, mut enc, mut sim) = (
        ptr::null_mut(),
        ptr::null_mut(),
        ptr::null_mut(),
        ptr::null_mut(),
    );
    let (xml, pdb) = xml_case();
    let mut opts = default_options();
    opts.seed = 11 + i as u64;
    let n_frames_used = 24;
    let mut out = Outcome {
        statuses: Vec::new(),
        messages: Vec::new(),
        maps: Vec::new(),
        latent_bits: Vec::new(),
        lof_bits: Vec::new(),
        top: vec![-1; 3],
        rmsd_bits: Vec::new(),
        energy_bits: Vec::new(),
        position_bits: Vec::new(),
    };
    // SAFETY: valid strings, out-pointers and buffers of the lengths passed;
    // each handle is used by this thread only and freed once at the end.
    unsafe {
        st.push(steermd_topology_read_pdb(data("villin.pdb").as_ptr(), &mut top) as i32);
        st.push(steermd_trajectory_read_dcd(data("villin.dcd").as_ptr(), &mut traj) as i32);
        st.push(steermd_encoder_load(data("cvae_a").as_ptr(), &mut enc) as i32);
        st.push(steermd_simulation_create_xml(xml.as_ptr(), pdb.as_ptr(), &opts, &mut sim) as i32);
        let mut ca = vec![0usize; 35];
        let mut n_ca = 0;
        st.push(steermd_topology_select(
            top,
            cs("CA").as_ptr(),
            ca.as_mut_ptr(),
            ca.len(),
            &mut n_ca,
        ) as i32);

        // First failing call: an atom name only this thread asks for.
        let bogus = cs(&format!("ZZ{i}"));
        st.push(steermd_topology_select(top, bogus.as_ptr(), ptr::null_mut(), 0, &mut n_ca) as i32);
        wait();
        messages.push(last_error());

        let (mut nf, mut na) = (0, 0);
        st.push(steermd_trajectory_shape(traj, &mut nf, &mut na) as i32);
        let mut xyz = vec![0f32; nf * 35 * 3];
        st.push(
            steermd_trajectory_gather(traj, ca.as_ptr(), 35, xyz.as_mut_ptr(), xyz.len()) as i32,
        );
        let frames = &xyz[..n_frames_used * 35 * 3];
        out.maps = vec![0u8; n_frames_used * 35 * 35];
        st.push(steermd_contact_maps(
            frames.as_ptr(),
            n_frames_used,
            35,
            ptr::null(),
            0.8,
            out.maps.as_mut_ptr(),
            out.maps.len(),
        ) as i32);
        let input: Vec<f32> = out.maps.iter().map(|&v| v as f32).collect();
        let mut z = vec![0f32; n_frames_used * 10];
        st.push(steermd_encoder_embed(
            enc,
            input.as_ptr(),
            n_frames_used,
            input.len(),
            z.as_mut_ptr(),
            z.len(),
        ) as i32);
        let mut scores = vec![0f64; n_frames_used];
        st.push(steermd_lof(
            z.as_ptr(),
            n_frames_used,
            10,
            5,
            scores.as_mut_ptr(),
            scores.len(),
        ) as i32);
        let mut written = 0;
        st.push(steermd_top_outliers(
            scores.as_ptr(),
            n_frames_used,
            3,
            out.top.as_mut_ptr(),
            3,
            &mut written,
        ) as i32);
        let mut r = vec![0f32; n_frames_used];
        st.push(steermd_rmsd(
            frames.as_ptr(),
            frames.as_ptr(),
            n_frames_used,
            35,
            r.as_mut_ptr(),
            r.len(),
        ) as i32);

        // Second failing call, of another kind: a short buffer whose needed
        // length depends on the thread (an encoder batch of i + 1).
        let x = vec![0f32; (i + 1) * 35 * 35];
        let mut zz = vec![0f32; (i + 1) * 10];
        st.push(steermd_encoder_embed(
            enc,
            x.as_ptr(),
            i + 1,
            x.len(),
            zz.as_mut_ptr(),
            zz.len() - 1,
        ) as i32);
        wait();
        messages.push(last_error());

        st.push(steermd_simulation_set_velocities_to_temperature(sim, 300.0, 5 + i as u64) as i32);
        st.push(steermd_simulation_step(sim, 5) as i32);
        let (mut pe, mut ke, mut t) = (0.0, 0.0, 0.0);
        st.push(steermd_simulation_energies(sim, &mut pe, &mut ke, &mut t) as i32);
        let mut n_atoms = 0;
        st.push(steermd_simulation_n_atoms(sim, &mut n_atoms) as i32);
        let mut pos = vec![0f64; 3 * n_atoms];
        st.push(steermd_simulation_get_positions(sim, pos.as_mut_ptr(), pos.len()) as i32);

        // Third failing call: a freed handle, while the other threads' live.
        let mut scratch = ptr::null_mut();
        st.push(steermd_topology_read_pdb(data("villin.pdb").as_ptr(), &mut scratch) as i32);
        steermd_topology_free(scratch);
        st.push(steermd_topology_n_atoms(scratch, &mut n_atoms) as i32);
        messages.push(last_error());

        steermd_encoder_free(enc);
        steermd_trajectory_free(traj);
        steermd_topology_free(top);
        steermd_simulation_free(sim);
        messages.push(last_error());

        out.latent_bits = z.iter().map(|v| v.to_bits()).collect();
        out.lof_bits = scores.iter().map(|v| v.to_bits()).collect();
        out.rmsd_bits = r.iter().map(|v| v.to_bits()).collect();
        out.energy_bits = [pe, ke, t].iter().map(|v| v.to_bits()).collect();
        out.position_bits = pos.iter().map(|v| v.to_bits()).collect();
    }
    out.statuses = st;
    out.messages = messages;
    out
}

#[test]
fn threads_keep_their_own_errors() {
    let _serial = serial();
    const THREADS: usize = 4;
    let single: Vec<Outcome> = (0..THREADS).map(|i| workload(i, None)).collect();
    for (i, o) in single.iter().enumerate() {
        let failing = [5usize, 13, 20];
        for (k, &s) in o.statuses.iter().enumerate() {
            if !failing.contains(&k) {
                assert_eq!(
                    s,
                    0,
                    "thread {i}, call {k}: {} {:?}",
                    status_name(s),
                    o.messages
                );
            }
        }
        assert_eq!(o.statuses[5], STEERMD_ERR_INVALID_ARGUMENT as i32);
        assert!(
            o.messages[0].contains(&format!("ZZ{i}")),
            "{:?}",
            o.messages
        );
        assert_eq!(o.statuses[13], STEERMD_ERR_SHAPE as i32);
        assert!(
            o.messages[1].contains(&format!("{} are needed", (i + 1) * 10)),
            "{:?}",
            o.messages
        );
        assert_eq!(o.statuses[20], STEERMD_ERR_INVALID_HANDLE as i32);
        assert!(
            o.messages[2].contains("not a live steermd_topology"),
            "{:?}",
            o.messages
        );
        assert_eq!(o.messages[3], "", "the frees succeed");
    }
    let barrier = Barrier::new(THREADS);
    let threaded: Vec<Outcome> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..THREADS)
            .map(|i| {
                s.spawn({
                    let barrier = &barrier;
                    move || workload(i, Some(barrier))
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    for (i, (t, s)) in threaded.iter().zip(&single).enumerate() {
        assert!(t == s, "thread {i} differs from the single-threaded run: statuses {:?} vs {:?}, messages {:?} vs {:?}", t.statuses, s.statuses, t.messages, s.messages);
    }
}

/// Zero and degenerate sizes give a status (never a caught panic, which
/// would be `STEERMD_ERR_INTERNAL`).
#[test]
fn degenerate_sizes_give_a_status_not_a_panic() {
    let _serial = serial();
    let fx = Fx::new();
    let mut results = Vec::new();
    let x = vec![0f32; fx.input_size];
    let mut z = vec![0f32; fx.latent_dim];
    let mut f32s = vec![0f32; 1000];
    let mut f64s = vec![0f64; 100];
    let mut i64s = vec![0i64; 100];
    let mut k = 0usize;
    // SAFETY: every buffer is valid for the length passed; handles are live.
    unsafe {
        results.push((
            "embed batch 0",
            steermd_encoder_embed(fx.enc, x.as_ptr(), 0, 0, z.as_mut_ptr(), 0),
        ));
        results.push((
            "gather n_sel 0",
            steermd_trajectory_gather(fx.traj, fx.ca.as_ptr(), 0, f32s.as_mut_ptr(), 0),
        ));
        results.push((
            "select empty names",
            steermd_topology_select(fx.top, cs(" , ").as_ptr(), ptr::null_mut(), 0, &mut k),
        ));
        results.push((
            "lof n_neighbors = n",
            steermd_lof(fx.points.as_ptr(), 5, 4, 5, f64s.as_mut_ptr(), 5),
        ));
        results.push((
            "lof n 1",
            steermd_lof(fx.points.as_ptr(), 1, 4, 1, f64s.as_mut_ptr(), 1),
        ));
        results.push((
            "top_outliers count 0",
            steermd_top_outliers(fx.scores.as_ptr(), 90, 0, i64s.as_mut_ptr(), 0, &mut k),
        ));
        results.push((
            "top_outliers n 0",
            steermd_top_outliers(fx.scores.as_ptr(), 0, 3, i64s.as_mut_ptr(), 3, &mut k),
        ));
        results.push((
            "dbscan min_samples 0",
            steermd_dbscan(
                fx.points.as_ptr(),
                90,
                4,
                0.5,
                0,
                i64s.as_mut_ptr(),
                90,
                ptr::null_mut(),
            ),
        ));
        results.push((
            "dbscan eps NaN",
            steermd_dbscan(
                fx.points.as_ptr(),
                90,
                4,
                f64::NAN,
                5,
                i64s.as_mut_ptr(),
                90,
                ptr::null_mut(),
            ),
        ));
        results.push((
            "contact cutoff -1",
            steermd_contact_maps(
                fx.xyz.as_ptr(),
                2,
                5,
                ptr::null(),
                -1.0,
                f32s.as_mut_ptr().cast(),
                50,
            ),
        ));
        results.push((
            "contact boxes 0",
            steermd_contact_maps(
                fx.xyz.as_ptr(),
                2,
                5,
                [0f32; 6].as_ptr(),
                0.8,
                f32s.as_mut_ptr().cast(),
                50,
            ),
        ));
        results.push((
            "rmsd 1 atom",
            steermd_rmsd(
                fx.reference.as_ptr(),
                fx.xyz.as_ptr(),
                1,
                1,
                f32s.as_mut_ptr(),
                1,
            ),
        ));
        results.push((
            "temperature NaN",
            steermd_simulation_set_velocities_to_temperature(fx.sim, f64::NAN, 1),
        ));
        results.push((
            "temperature -1",
            steermd_simulation_set_velocities_to_temperature(fx.sim, -1.0, 1),
        ));
        results.push((
            "minimize tol NaN",
            steermd_simulation_minimize(fx.sim, f64::NAN, 2, ptr::null_mut()),
        ));
        results.push((
            "minimize tol -1",
            steermd_simulation_minimize(fx.sim, -1.0, 2, ptr::null_mut()),
        ));
        results.push(("step 0", steermd_simulation_step(fx.sim, 0)));
        results.push((
            "dcd interval 0",
            steermd_simulation_add_dcd_reporter(fx.sim, fx.tmp("z.dcd").as_ptr(), 0),
        ));
        results.push((
            "load missing checkpoint",
            steermd_simulation_load_checkpoint(fx.sim, fx.tmp("none.chk").as_ptr()),
        ));
        let (xml, pdb) = xml_case();
        for (what, tweak) in [
            (
                "dt NaN",
                (|o: &mut steermd_integrator_options| o.dt_ps = f64::NAN) as fn(&mut _),
            ),
            ("dt -1", |o| o.dt_ps = -1.0),
            ("dt 0", |o| o.dt_ps = 0.0),
            ("temperature -5", |o| o.temperature_k = -5.0),
            ("friction NaN", |o| o.friction_per_ps = f64::NAN),
            ("tolerance 0", |o| o.constraint_tolerance = 0.0),
            ("kind 7", |o| o.kind = 7),
            ("struct_size 0", |o| o.struct_size = 0),
            ("struct_size 1", |o| o.struct_size = 1),
        ] {
            let mut o = default_options();
            tweak(&mut o);
            let mut s = ptr::null_mut();
            let st = steermd_simulation_create_xml(xml.as_ptr(), pdb.as_ptr(), &o, &mut s);
            results.push((what, st));
            steermd_simulation_free(s);
        }
    }
    let panics: Vec<_> = results
        .iter()
        .filter(|(_, s)| *s == STEERMD_ERR_INTERNAL)
        .collect();
    assert!(panics.is_empty(), "caught panics: {panics:?}");
}
