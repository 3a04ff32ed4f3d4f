//! Points at the same place ([`Metric::place`]: the same coordinates, a pole
//! at two longitudes, or -180 and 180) are solved as one node and visited
//! together. Without this, a location with more than K copies would fill its
//! copies' candidate lists with zero-length edges and hide every edge that
//! leaves it from the local search. Where a shortest tour may visit a
//! place's copies apart ([`Metric::copies_merge_exactly`]), the merged
//! problem's tour is only a start (`Engine::solve`).

use super::Problem;
use crate::metric::Metric;
use std::collections::HashMap;

pub struct Groups {
    /// Group of each original point.
    of: Vec<u32>,
    /// Original points of each group, in input order.
    members: Vec<Vec<usize>>,
}

impl Groups {
    /// `None` when every point is distinct.
    pub fn find(points: &[[f64; 2]], metric: Metric) -> Option<Groups> {
        let mut index: HashMap<[u64; 2], u32> = HashMap::with_capacity(points.len());
        let mut members: Vec<Vec<usize>> = Vec::new();
        let of: Vec<u32> = points
            .iter()
            .enumerate()
            .map(|(i, &p)| {
                let g = *index.entry(metric.place(p)).or_insert_with(|| {
                    members.push(Vec::new());
                    members.len() as u32 - 1
                });
                members[g as usize].push(i);
                g
            })
            .collect();
        (members.len() < points.len()).then_some(Groups { of, members })
    }

    /// The problem over one point per group. A path whose end shares the
    /// start's location becomes a round trip of the groups.
    pub fn reduce(&self, p: &Problem) -> Problem {
        let start = self.of[p.start] as usize;
        let end = p.end.map(|e| self.of[e] as usize);
        Problem {
            points: self.members.iter().map(|m| p.points[m[0]]).collect(),
            round_trip: p.round_trip || end == Some(start),
            start,
            end: end.filter(|&e| e != start),
            ..p.clone_without_points()
        }
    }

    /// The order over all original points from the order over groups: each
    /// group's members together, the start first and a fixed end last.
    pub fn expand(&self, p: &Problem, groups: &[usize]) -> Vec<usize> {
        let start_group = self.of[p.start] as usize;
        let end = if p.round_trip { None } else { p.end };
        let mut out = Vec::with_capacity(p.points.len());
        let mut end_last = None;
        for &g in groups {
            let first = (g == start_group).then_some(p.start);
            let last = end.filter(|&e| self.of[e] as usize == g);
            out.extend(first);
            out.extend(self.members[g].iter().copied().filter(|&m| Some(m) != first && Some(m) != last));
            if g == start_group {
                end_last = last;
            } else {
                out.extend(last);
            }
        }
        out.extend(end_last);
        out
    }
}
