//! A tour as an array plus a position index, changed only by 2-opt moves.
//!
//! Every change (2-opt, Or-opt, the double-bridge kick) is a sequence of
//! [`Tour::move2`] calls described by the cities at the ends of the edges, not
//! by positions or orientation, so a sequence stays valid whichever side each
//! reversal chose, and undoing it is replaying inverse moves backwards.

pub struct Tour {
    order: Vec<u32>,
    pos: Vec<u32>,
}

impl Tour {
    pub fn new(order: Vec<u32>) -> Tour {
        let mut pos = vec![0; order.len()];
        for (i, &c) in order.iter().enumerate() {
            pos[c as usize] = i as u32;
        }
        Tour { order, pos }
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn order(&self) -> &[u32] {
        &self.order
    }

    #[inline(always)]
    pub fn pos(&self, c: u32) -> usize {
        self.pos[c as usize] as usize
    }

    #[inline(always)]
    pub fn next(&self, c: u32) -> u32 {
        let p = self.pos[c as usize] as usize + 1;
        self.order[if p == self.order.len() { 0 } else { p }]
    }

    #[inline(always)]
    pub fn prev(&self, c: u32) -> u32 {
        let p = self.pos[c as usize] as usize;
        self.order[if p == 0 { self.order.len() - 1 } else { p - 1 }]
    }

    /// The neighbour of `c` in direction `fwd`.
    #[inline(always)]
    pub fn succ(&self, c: u32, fwd: bool) -> u32 {
        if fwd {
            self.next(c)
        } else {
            self.prev(c)
        }
    }

    /// Whether `c` lies on the path that runs from `from` to `to` in
    /// direction `fwd` (ends included).
    pub fn on_path(&self, from: u32, c: u32, to: u32, fwd: bool) -> bool {
        let n = self.order.len();
        let (f, c, t) = (self.pos(from), self.pos(c), self.pos(to));
        // Steps from `from` to x along the direction, without a division.
        let steps = |x: usize| {
            let d = if fwd { x + n - f } else { f + n - x };
            if d >= n {
                d - n
            } else {
                d
            }
        };
        steps(c) <= steps(t)
    }

    /// Replaces edges (a,b) and (c,d) by (a,c) and (b,d), where b follows a
    /// and d follows c in the same direction (either one).
    pub fn move2(&mut self, a: u32, b: u32, c: u32, d: u32) {
        debug_assert!(
            (self.next(a) == b && self.next(c) == d) || (self.prev(a) == b && self.prev(c) == d),
            "move2({a},{b},{c},{d}) on edges that are not both oriented the same way"
        );
        if self.next(a) == b {
            self.reverse(self.pos[b as usize] as usize, self.pos[c as usize] as usize);
        } else {
            self.reverse(self.pos[c as usize] as usize, self.pos[b as usize] as usize);
        }
    }

    /// Reverses the cyclic stretch of positions `i..=j` (going forward), or
    /// its complement when that is shorter: the same cycle either way.
    fn reverse(&mut self, i: usize, j: usize) {
        let n = self.order.len();
        let mut len = (j + n - i) % n + 1;
        let (mut i, mut j) = (i, j);
        if 2 * len > n {
            (i, j) = ((j + 1) % n, (i + n - 1) % n);
            len = n - len;
        }
        for _ in 0..len / 2 {
            let (ci, cj) = (self.order[i], self.order[j]);
            self.order[i] = cj;
            self.pos[cj as usize] = i as u32;
            self.order[j] = ci;
            self.pos[ci as usize] = j as u32;
            i = if i + 1 == n { 0 } else { i + 1 };
            j = if j == 0 { n - 1 } else { j - 1 };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edges(t: &Tour) -> Vec<(u32, u32)> {
        let mut e: Vec<(u32, u32)> = t.order().iter().map(|&c| (c.min(t.next(c)), c.max(t.next(c)))).collect();
        e.sort();
        e
    }

    #[test]
    fn move2_replaces_exactly_two_edges_both_orientations() {
        let mut rng = fastrand::Rng::with_seed(9);
        for _ in 0..500 {
            let n = rng.usize(5..40);
            let mut order: Vec<u32> = (0..n as u32).collect();
            rng.shuffle(&mut order);
            let mut t = Tour::new(order);
            let a = rng.u32(..n as u32);
            let fwd = rng.bool();
            let b = t.succ(a, fwd);
            let c = loop {
                let c = rng.u32(..n as u32);
                if c != a && c != b && t.succ(c, fwd) != a {
                    break c;
                }
            };
            let d = t.succ(c, fwd);
            let mut expect: Vec<(u32, u32)> =
                edges(&t).into_iter().filter(|&e| e != (a.min(b), a.max(b)) && e != (c.min(d), c.max(d))).collect();
            expect.push((a.min(c), a.max(c)));
            expect.push((b.min(d), b.max(d)));
            expect.sort();
            t.move2(a, b, c, d);
            assert_eq!(edges(&t), expect);
            // Positions stay an exact inverse of the order.
            for (i, &city) in t.order().iter().enumerate() {
                assert_eq!(t.pos[city as usize] as usize, i);
            }
            // And the inverse move restores the edge set.
            t.move2(a, c, b, d);
            let mut back = edges(&t);
            back.sort();
            assert!(back.contains(&(a.min(b), a.max(b))) && back.contains(&(c.min(d), c.max(d))));
        }
    }
}
