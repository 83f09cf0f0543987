//! The C ABI's option structs: `struct_size` versioning (short structs
//! refused with a message, longer ones read up to the known fields) and the
//! selector enums (out-of-range values refused, never undefined behaviour).

use std::ffi::{CStr, CString};
use std::mem::{size_of, MaybeUninit};
use std::path::Path;
use std::ptr;

use steermd::capi::steermd_status::*;
use steermd::capi::*;

fn last_error() -> String {
    // SAFETY: never NULL; valid until the next steermd call on this thread.
    unsafe { CStr::from_ptr(steermd_last_error_message()) }
        .to_string_lossy()
        .into_owned()
}

fn data(name: &str) -> CString {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    CString::new(p.to_str().unwrap()).unwrap()
}

fn integrator_defaults() -> steermd_integrator_options {
    let mut o = MaybeUninit::<steermd_integrator_options>::uninit();
    // SAFETY: `o` is valid for its size in bytes, and initialised by the call.
    unsafe {
        let st = steermd_integrator_options_default(o.as_mut_ptr(), size_of_val(&o));
        assert_eq!(st, STEERMD_OK, "{}", last_error());
        o.assume_init()
    }
}

fn prmtop_defaults() -> steermd_prmtop_options {
    let mut o = MaybeUninit::<steermd_prmtop_options>::uninit();
    // SAFETY: as in `integrator_defaults`.
    unsafe {
        let st = steermd_prmtop_options_default(o.as_mut_ptr(), size_of_val(&o));
        assert_eq!(st, STEERMD_OK, "{}", last_error());
        o.assume_init()
    }
}

/// Create the XML sample system with `options` and return the status and,
/// on success, the potential energy (kJ/mol) after 10 steps.
fn xml_run(options: *const steermd_integrator_options) -> (steermd_status, Option<f64>) {
    let (xml, pdb) = (
        data("ff/ildn_obc_nocutoff/system.xml"),
        data("ff/ildn_obc_nocutoff/input.pdb"),
    );
    let mut sim = ptr::null_mut();
    // SAFETY: NUL-terminated paths; `options` valid for its struct_size bytes.
    let st =
        unsafe { steermd_simulation_create_xml(xml.as_ptr(), pdb.as_ptr(), options, &mut sim) };
    (st, (st == STEERMD_OK).then(|| energy_after_steps(sim)))
}

/// Create the prmtop sample system and return as [`xml_run`] does.
fn prmtop_run(popts: *const steermd_prmtop_options) -> (steermd_status, Option<f64>) {
    let (top, crd) = (
        data("ff/prmtop_mbondi2/villin.prmtop"),
        data("ff/prmtop_mbondi2/villin.inpcrd"),
    );
    let opts = integrator_defaults();
    let mut sim = ptr::null_mut();
    // SAFETY: NUL-terminated paths; option structs valid for their struct_size bytes.
    let st = unsafe {
        steermd_simulation_create_prmtop(top.as_ptr(), crd.as_ptr(), popts, &opts, &mut sim)
    };
    (st, (st == STEERMD_OK).then(|| energy_after_steps(sim)))
}

fn energy_after_steps(sim: *mut steermd_simulation) -> f64 {
    let mut e = f64::NAN;
    // SAFETY: `sim` is a live handle, freed here once.
    unsafe {
        assert_eq!(
            steermd_simulation_step(sim, 10),
            STEERMD_OK,
            "{}",
            last_error()
        );
        let st = steermd_simulation_energies(sim, &mut e, ptr::null_mut(), ptr::null_mut());
        assert_eq!(st, STEERMD_OK, "{}", last_error());
        steermd_simulation_free(sim);
    }
    e
}

#[test]
fn defaults_record_the_callers_struct_size() {
    assert_eq!(
        integrator_defaults().struct_size,
        size_of::<steermd_integrator_options>()
    );
    assert_eq!(
        prmtop_defaults().struct_size,
        size_of::<steermd_prmtop_options>()
    );
    // The documented prmtop defaults are what NULL options give.
    let defaults = prmtop_defaults();
    let (st, with_defaults) = prmtop_run(&defaults);
    assert_eq!(st, STEERMD_OK, "{}", last_error());
    assert_eq!(prmtop_run(ptr::null()), (STEERMD_OK, with_defaults));
}

#[test]
fn a_short_struct_is_refused_and_left_untouched() {
    let size = size_of::<steermd_integrator_options>();
    let mut bytes = vec![0xA5A5_A5A5_A5A5_A5A5u64; size.div_ceil(8)];
    let out = bytes.as_mut_ptr().cast::<steermd_integrator_options>();
    // SAFETY: `out` is valid for `size - 1` (and `size`) bytes.
    let st = unsafe { steermd_integrator_options_default(out, size - 1) };
    assert_eq!(st, STEERMD_ERR_INVALID_ARGUMENT);
    assert!(last_error().contains("struct_size"), "{}", last_error());
    assert!(
        bytes.iter().all(|&b| b == 0xA5A5_A5A5_A5A5_A5A5),
        "a refused call wrote to the struct"
    );
    let mut p = MaybeUninit::<steermd_prmtop_options>::uninit();
    // SAFETY: `p` is valid for more bytes than are claimed.
    let st = unsafe { steermd_prmtop_options_default(p.as_mut_ptr(), 0) };
    assert_eq!(st, STEERMD_ERR_INVALID_ARGUMENT);

    // The creation functions refuse a struct_size below the first sized
    // version of the struct (the fields before the device fields).
    let mut o = integrator_defaults();
    o.struct_size = std::mem::offset_of!(steermd_integrator_options, device_kind) - 8;
    assert_eq!(xml_run(&o), (STEERMD_ERR_INVALID_ARGUMENT, None));
    assert!(
        last_error().contains("steermd_integrator_options.struct_size"),
        "{}",
        last_error()
    );
    let mut p = prmtop_defaults();
    p.struct_size = 0;
    assert_eq!(prmtop_run(&p), (STEERMD_ERR_INVALID_ARGUMENT, None));
    assert!(
        last_error().contains("steermd_prmtop_options.struct_size"),
        "{}",
        last_error()
    );
}

/// A caller compiled against a later header whose struct has more fields.
#[repr(C)]
struct Later {
    known: steermd_integrator_options,
    extra: [u64; 3],
}

#[test]
fn a_longer_struct_is_read_up_to_the_known_fields() {
    let mut later = Later {
        known: integrator_defaults(),
        extra: [u64::MAX; 3],
    };
    let out = ptr::addr_of_mut!(later).cast::<steermd_integrator_options>();
    // SAFETY: `out` is valid for `size_of::<Later>()` bytes.
    let st = unsafe { steermd_integrator_options_default(out, size_of::<Later>()) };
    assert_eq!(st, STEERMD_OK, "{}", last_error());
    assert_eq!(later.known.struct_size, size_of::<Later>());
    assert_eq!(
        later.extra, [0; 3],
        "fields beyond the known ones are zeroed"
    );
    later.extra = [u64::MAX; 3]; // what a later field might hold: ignored
    let exact = integrator_defaults();
    let (st, e_exact) = xml_run(&exact);
    assert_eq!(st, STEERMD_OK, "{}", last_error());
    assert_eq!(xml_run(&later.known), (STEERMD_OK, e_exact));
}

/// A caller compiled against the first sized header, whose struct ends
/// before the device fields: what follows its struct is not read, and the
/// simulation runs on the default CPU device.
#[test]
fn a_first_version_struct_gets_the_default_device() {
    let exact = integrator_defaults();
    let (st, e_exact) = xml_run(&exact);
    assert_eq!(st, STEERMD_OK, "{}", last_error());
    let mut old = integrator_defaults();
    old.struct_size = std::mem::offset_of!(steermd_integrator_options, device_kind);
    old.device_kind = 999; // beyond the caller's struct: must not be read
    old.precision = 999;
    assert_eq!(xml_run(&old), (STEERMD_OK, e_exact));
}

#[test]
fn device_selectors_are_checked() {
    let mut o = integrator_defaults();
    assert_eq!(
        o.device_kind,
        steermd_device_kind::STEERMD_DEVICE_CPU as i32
    );
    assert_eq!(
        o.precision,
        steermd_precision::STEERMD_PRECISION_MIXED as i32
    );
    o.device_kind = steermd_device_kind::STEERMD_DEVICE_HIP as i32 + 1;
    assert_eq!(xml_run(&o), (STEERMD_ERR_INVALID_ARGUMENT, None));
    assert!(
        last_error().contains("steermd_device_kind"),
        "{}",
        last_error()
    );
    let mut o = integrator_defaults();
    o.precision = 7;
    assert_eq!(xml_run(&o), (STEERMD_ERR_INVALID_ARGUMENT, None));
    assert!(
        last_error().contains("steermd_precision"),
        "{}",
        last_error()
    );
    let mut o = integrator_defaults();
    o.device_kind = steermd_device_kind::STEERMD_DEVICE_CUDA as i32;
    o.device_ordinal = -2;
    assert_eq!(xml_run(&o), (STEERMD_ERR_INVALID_ARGUMENT, None));
    assert!(last_error().contains("device_ordinal"), "{}", last_error());
    // A device kind this build or machine lacks: one clear error.
    o.device_ordinal = 0;
    let (st, _) = xml_run(&o);
    if st != STEERMD_OK {
        assert_eq!(st, STEERMD_ERR_BACKEND);
        assert!(last_error().contains("cuda"), "{}", last_error());
    }
    // The reference device gives the CPU's trajectory to rounding.
    let cpu = xml_run(&integrator_defaults()).1.unwrap();
    let mut r = integrator_defaults();
    r.device_kind = steermd_device_kind::STEERMD_DEVICE_REFERENCE as i32;
    let reference = xml_run(&r).1.unwrap();
    assert!(
        ((reference - cpu) / cpu).abs() < 1e-9,
        "{reference} vs {cpu}"
    );
}

/// A change to prmtop options.
type Tweak = fn(&mut steermd_prmtop_options);

#[test]
fn out_of_range_selectors_are_refused_by_name() {
    let mut o = integrator_defaults();
    o.kind = steermd_integrator_kind::STEERMD_VELOCITY_VERLET as i32 + 1;
    assert_eq!(xml_run(&o), (STEERMD_ERR_INVALID_ARGUMENT, None));
    assert!(
        last_error().contains("STEERMD_VELOCITY_VERLET"),
        "{}",
        last_error()
    );
    let cases: [(&str, Tweak); 3] = [
        ("steermd_nonbonded_method", |p| {
            p.nonbonded_method = steermd_nonbonded_method::STEERMD_CUTOFF_PERIODIC as i32 + 1
        }),
        ("steermd_constraints", |p| p.constraints = -1),
        ("steermd_implicit_solvent", |p| {
            p.implicit_solvent = steermd_implicit_solvent::STEERMD_IMPLICIT_SOLVENT_OBC2 as i32 + 1
        }),
    ];
    for (name, tweak) in cases {
        let mut p = prmtop_defaults();
        tweak(&mut p);
        assert_eq!(
            prmtop_run(&p),
            (STEERMD_ERR_INVALID_ARGUMENT, None),
            "{name}"
        );
        assert!(last_error().contains(name), "{name}: {}", last_error());
    }
}

#[test]
fn velocity_verlet_selector_changes_the_dynamics() {
    let langevin = integrator_defaults();
    let mut verlet = integrator_defaults();
    verlet.kind = steermd_integrator_kind::STEERMD_VELOCITY_VERLET as i32;
    let (a, b) = (xml_run(&langevin), xml_run(&verlet));
    assert_eq!((a.0, b.0), (STEERMD_OK, STEERMD_OK), "{}", last_error());
    assert_ne!(a.1, b.1, "the kind selector was ignored");
}
