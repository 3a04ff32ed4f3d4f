//! One batch of decoded records in, exactly one output per record out, in
//! order: the path every front end (CLI, Lambda, worker) shares.

use crate::output::{ErrorBody, ErrorRecord, Output, Prediction, Source};
use crate::request::{Id, Rejected, Request};
use crate::solver::{Budget, Engine};
use rayon::prelude::*;

/// A decoded record and the identity of its output.
pub struct Record {
    pub parsed: Result<Request, Rejected>,
    pub uuid: String,
    pub source: Option<Source>,
}

/// Solves the valid records together (`Engine::solve_batch_isolated`) and
/// answers the rest with error records; a record the solver fails on (a
/// panic, or a route that does not fit its request) gets an `internal_error`
/// record, and the others are still answered.
pub fn answer(engine: &Engine, budget: &Budget, records: Vec<Record>) -> Vec<Output> {
    let mut problems = Vec::new();
    let mut slots: Vec<Slot> = Vec::with_capacity(records.len());
    for r in records {
        match r.parsed {
            Ok(Request { id, names, problem }) => {
                problems.push(problem);
                slots.push(Slot::Solve { id, names, uuid: r.uuid, source: r.source });
            }
            Err(rejected) => slots.push(Slot::Done(Output::Error(ErrorRecord::new(r.uuid, &rejected, r.source)))),
        }
    }
    let solutions = engine.solve_batch_isolated(&problems, budget);
    // Each slot with its problem and solution, then the outputs built in
    // parallel: a prediction's legs, names and coordinates take about a
    // microsecond a record, which one thread after another left the other
    // cores idle for.
    let mut solved = problems.into_iter().zip(solutions);
    let jobs: Vec<_> = slots
        .into_iter()
        .map(|slot| {
            let job = matches!(slot, Slot::Solve { .. }).then(|| solved.next()).flatten();
            (slot, job)
        })
        .collect();
    jobs.into_par_iter()
        .map(|(slot, job)| match (slot, job) {
            (Slot::Done(out), _) => out,
            (Slot::Solve { id, names, uuid, source }, Some((problem, solution))) => {
                let req = Request { id, names, problem };
                match solution.and_then(|sol| Prediction::new(uuid.clone(), &req, &sol, source.clone())) {
                    Ok(p) => Output::Prediction(p),
                    Err(why) => internal_error(uuid, req.id, &why, source),
                }
            }
            // The solver answers every problem; kept an error, not a panic.
            (Slot::Solve { id, uuid, source, .. }, None) => internal_error(uuid, id, "no solution returned", source),
        })
        .collect()
}

fn internal_error(uuid: String, id: Option<Id>, why: &str, source: Option<Source>) -> Output {
    Output::Error(ErrorRecord {
        uuid,
        id,
        error: ErrorBody { code: "internal_error", message: format!("solver failed: {why}") },
        source,
    })
}

enum Slot {
    Done(Output),
    Solve { id: Option<Id>, names: Option<Vec<String>>, uuid: String, source: Option<Source> },
}
