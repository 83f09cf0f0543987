//! The campaign plot: a valid PNG of the documented size, with clear errors.

use std::path::Path;

use steermd::drive::plot::{write_campaign_plot, Series, PLOT_HEIGHT, PLOT_WIDTH};

/// Width and height from the IHDR chunk, after checking the PNG signature.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(bytes.len() > 33, "PNG too short ({} bytes)", bytes.len());
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG signature");
    assert_eq!(&bytes[12..16], b"IHDR", "first chunk is not IHDR");
    let be = |o: usize| u32::from_be_bytes(bytes[o..o + 4].try_into().unwrap());
    (be(16), be(20))
}

fn series() -> (Vec<Series>, Vec<Series>) {
    // 0..2000 ps: a steered run exploring faster than the control.
    let steered: Vec<(f64, f64)> = (0..=40)
        .map(|i| (50.0 * i as f64, (i as f64 / 50.0).sqrt()))
        .collect();
    let control: Vec<(f64, f64)> = (0..=40)
        .map(|i| (50.0 * i as f64, i as f64 / 100.0))
        .collect();
    let visited = vec![
        Series {
            label: "steered".into(),
            points: steered,
        },
        Series {
            label: "plain MD".into(),
            points: control,
        },
    ];
    let rmsd = vec![
        Series {
            label: "steered".into(),
            // A NaN value (no frame yet) is skipped.
            points: (0..=40)
                .map(|i| {
                    (
                        50.0 * i as f64,
                        if i == 0 {
                            f64::NAN
                        } else {
                            1.0 / (1.0 + 0.1 * i as f64)
                        },
                    )
                })
                .collect(),
        },
        Series {
            label: "plain MD".into(),
            points: vec![],
        },
    ];
    (visited, rmsd)
}

#[test]
fn writes_a_png_of_the_documented_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("campaign.png");
    let (visited, rmsd) = series();
    let info = write_campaign_plot(&path, &visited, &rmsd).unwrap();
    // To look at it: STEERMD_TEST_PLOT_DIR=/some/dir cargo test --test drive_plot
    if let Some(keep) = std::env::var_os("STEERMD_TEST_PLOT_DIR") {
        std::fs::copy(&path, Path::new(&keep).join("campaign.png")).unwrap();
    }
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(png_size(&bytes), (PLOT_WIDTH, PLOT_HEIGHT));
    assert_eq!((PLOT_WIDTH, PLOT_HEIGHT), (1200, 500));
    assert_eq!(info.labelled, info.font.is_some());
    // Debian with fonts-dejavu-core (as on the test machines) labels the plot.
    if Path::new("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf").exists()
        && std::env::var_os("STEERMD_PLOT_FONT").is_none()
    {
        assert!(info.labelled, "DejaVu Sans is installed but was not used");
    }
}

#[test]
fn empty_input_still_gives_a_plot() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.png");
    write_campaign_plot(&path, &[], &[]).unwrap();
    let nan_only = [Series {
        label: "nan".into(),
        points: vec![(f64::NAN, 0.5), (1.0, f64::INFINITY)],
    }];
    let path2 = dir.path().join("nan.png");
    write_campaign_plot(&path2, &nan_only, &nan_only).unwrap();
    for p in [path, path2] {
        assert_eq!(
            png_size(&std::fs::read(&p).unwrap()),
            (PLOT_WIDTH, PLOT_HEIGHT)
        );
    }
}

#[test]
fn unwritable_path_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-such-dir").join("campaign.png");
    let (visited, rmsd) = series();
    let err = write_campaign_plot(&path, &visited, &rmsd).unwrap_err();
    assert!(matches!(err, steermd::Error::Io { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains(&path.display().to_string()), "{msg}");
}
