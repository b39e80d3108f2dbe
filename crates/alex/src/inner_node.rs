//! `InnerNode`: a linear model that picks a child slot directly, over a
//! power-of-two array of child references.
//!
//! A child may fill several consecutive slots ("repeated pointers", as in
//! ALEX): every child occupies one aligned block of `2^k` slots. Splitting a
//! child sideways hands each half of its block to a new child; doubling the
//! fan-out doubles every block. The node knows nothing of what its children
//! hold.

use crate::model::{max_index_of, LinearModel};
use crate::tree::NodeRef;

// A node starts a cache line, so routing reads one line of it.
#[derive(Debug, Clone)]
#[repr(C, align(64))]
pub(crate) struct InnerNode {
    pub model: LinearModel,
    /// The child slots. Their number changes only through `new`,
    /// `set_children` and `double`, which keep `max_slot` in step.
    pub children: Box<[NodeRef]>,
    /// The last slot index as `f64` (capped at 2^53, 0 when there are no
    /// slots): the upper clamp of routing, kept so lookups do not convert it.
    max_slot: f64,
}

impl InnerNode {
    pub fn new(model: LinearModel, children: Box<[NodeRef]>) -> InnerNode {
        InnerNode {
            model,
            max_slot: max_index_of(children.len()),
            children,
        }
    }

    /// Replaces the child slots (their number may change).
    pub fn set_children(&mut self, children: Box<[NodeRef]>) {
        self.max_slot = max_index_of(children.len());
        self.children = children;
    }

    /// Whether `max_slot` matches the number of slots (for `check`).
    pub fn max_slot_in_step(&self) -> bool {
        self.max_slot == max_index_of(self.children.len())
    }
    #[inline(always)]
    pub fn fanout(&self) -> usize {
        self.children.len()
    }

    /// The slot a key image routes to.
    #[inline(always)]
    pub fn slot_for(&self, t: u64) -> usize {
        let slot = self.model.predict_clamped(t, self.max_slot);
        debug_assert_eq!(slot, self.model.predict(t, self.children.len()));
        slot
    }

    /// The aligned block `(start, len)` that the child in slot `slot`
    /// occupies. Relies on each child filling one aligned power-of-two
    /// block, so a block is the child's if both its ends are.
    pub fn block_of(&self, slot: usize) -> (usize, usize) {
        let child = self.children[slot];
        let mut len = 1;
        let mut start = slot;
        while len < self.children.len() {
            let wider = len * 2;
            let wider_start = slot & !(wider - 1);
            if self.children[wider_start] == child
                && self.children[wider_start + wider - 1] == child
            {
                len = wider;
                start = wider_start;
            } else {
                break;
            }
        }
        (start, len)
    }

    /// Doubles the fan-out: every block doubles, every key keeps its child.
    pub fn double(&mut self) {
        let doubled: Box<[NodeRef]> = self.children.iter().flat_map(|&c| [c, c]).collect();
        self.set_children(doubled);
        self.model = self.model.scaled(2.0);
    }
}
