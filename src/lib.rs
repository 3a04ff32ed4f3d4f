//! route-optim: shortest round trips and paths through geographic points.
//!
//! One engine ([`solver::Engine`]) behind thin front ends: requests are
//! decoded and validated ([`request`]), solved in batches, and answered with
//! a prediction or an error record each ([`output`]).

pub mod batch;
pub mod gpu;
pub mod kinesis;
pub mod lambda;
pub mod matrix;
pub mod metric;
pub mod output;
pub mod request;
pub mod solver;
pub mod svg;
pub mod tsplib;
pub mod worker;
