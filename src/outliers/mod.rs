//! Outlier detection in latent space: k-nearest neighbours, LOF, DBSCAN.

pub mod kernels;
