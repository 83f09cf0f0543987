//! Encoder inference: the CVAE contact-map encoder and the AAE point-cloud encoder.

pub mod kernels;
