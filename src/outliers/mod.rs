//! Outlier detection in latent space: k-nearest neighbours, LOF, DBSCAN.
//!
//! Each function validates its input once, then runs the neighbour kernels of
//! the backend a [`Device`](crate::Device) names. Results match scikit-learn
//! (`NearestNeighbors`, `LocalOutlierFactor`, `DBSCAN` fit on a float64 copy
//! of the data); see [`kernels`] for the distance and tie conventions.

pub(crate) mod adaptive;
mod dbscan;
pub mod kernels;
mod knn;
mod lof;
pub(crate) mod search;
mod select;
mod validate;

pub use adaptive::{adaptive_dbscan, AdaptiveDbscanOptions, AdaptiveDbscanResult};
pub use dbscan::{dbscan, Dbscan};
pub use knn::{knn, knn_part, Knn};
pub use lof::{lof, lof_from_knn};
pub use select::top_outliers;
