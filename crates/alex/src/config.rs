//! Tuning knobs of the index, with their ranges checked in one place.

use crate::AlexError;

/// How the tree may be shaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// The ALEX design: every inner node's fan-out comes from the cost model,
    /// the tree has whatever height the data needs, and full data nodes
    /// expand, split sideways or split down as the cost model decides.
    Adaptive,
    /// The earlier prototype's shape, kept for comparison tables: one root
    /// inner node routes to every data node (height 2). Full data nodes split
    /// sideways, doubling the root's fan-out when needed; they never split
    /// down, so a root at its maximum fan-out makes data nodes grow instead.
    SingleLevel,
}

/// Configuration of an [`crate::AlexMap`].
///
/// `Config::default()` is the adaptive multi-level design. The presets
/// [`Config::read_mostly`], [`Config::prototype_single_level`] and
/// [`Config::prototype_fixed_leaves`] cover the other documented uses.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Tree shape.
    pub layout: Layout,
    /// Fraction of occupied slots in a data node right after a bulk load,
    /// an expansion or a split. In `(0, 1]`.
    pub init_density: f64,
    /// A data node whose density would pass this on an insert expands or
    /// splits first. In `[init_density, 1]`.
    pub max_density: f64,
    /// A data node whose density falls below this after a delete shrinks.
    /// In `[0, init_density)`.
    pub min_density: f64,
    /// Largest number of slots in one data node. At least 64.
    pub max_data_node_slots: usize,
    /// When set, a data node splits rather than hold more than this many
    /// keys (the prototype's fixed 64-key leaves). At least 2. The one
    /// exception is the single-level layout, where a node can split only by
    /// doubling the root's fan-out: a node whose keys the root cannot tell
    /// apart (keys beyond the root's domain, or the root at its maximum
    /// fan-out) grows past the limit instead.
    pub max_keys_per_data_node: Option<usize>,
    /// log2 of the largest fan-out of an inner node. In `1..=24`.
    pub max_fanout_log2: u32,
    /// Fraction of operations the cost model expects to be inserts, which
    /// weighs the cost of shifting keys against the cost of searching. In
    /// `[0, 1]`.
    pub expected_insert_fraction: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            layout: Layout::Adaptive,
            init_density: 0.75,
            max_density: 0.85,
            min_density: 0.45,
            max_data_node_slots: 1 << 16,
            max_keys_per_data_node: None,
            max_fanout_log2: 21,
            expected_insert_fraction: 1.0,
        }
    }
}

impl Config {
    /// Compact data nodes for maps that are mostly read: slots 90% full
    /// after a bulk load (75% by default), at the cost of more key shifting
    /// on inserts. Denser packing saves little more memory and puts keys
    /// further from their predicted slots, which costs lookups much more
    /// (docs/design.md, "Presets").
    pub fn read_mostly() -> Self {
        Config {
            init_density: 0.9,
            max_density: 0.95,
            min_density: 0.6,
            expected_insert_fraction: 0.0,
            ..Config::default()
        }
    }

    /// The earlier prototype's single-level shape: one root model over all
    /// data nodes.
    pub fn prototype_single_level() -> Self {
        Config {
            layout: Layout::SingleLevel,
            ..Config::default()
        }
    }

    /// The earlier prototype's fixed-size leaves: a single-level layout whose
    /// data nodes hold at most `keys_per_leaf` keys.
    pub fn prototype_fixed_leaves(keys_per_leaf: usize) -> Self {
        Config {
            layout: Layout::SingleLevel,
            max_keys_per_data_node: Some(keys_per_leaf),
            ..Config::default()
        }
    }

    /// Checks every field against its documented range.
    pub fn validate(&self) -> Result<(), AlexError> {
        let in_unit = |x: f64| x > 0.0 && x <= 1.0;
        if !in_unit(self.init_density) {
            return Err(AlexError::InvalidConfig("init_density must be in (0, 1]"));
        }
        if !(self.max_density >= self.init_density && self.max_density <= 1.0) {
            return Err(AlexError::InvalidConfig(
                "max_density must be in [init_density, 1]",
            ));
        }
        if !(self.min_density >= 0.0 && self.min_density < self.init_density) {
            return Err(AlexError::InvalidConfig(
                "min_density must be in [0, init_density)",
            ));
        }
        if self.max_data_node_slots < 64 || self.max_data_node_slots > (1 << 30) {
            return Err(AlexError::InvalidConfig(
                "max_data_node_slots must be in [64, 2^30]",
            ));
        }
        if let Some(keys) = self.max_keys_per_data_node {
            if keys < 2 {
                return Err(AlexError::InvalidConfig(
                    "max_keys_per_data_node must be at least 2",
                ));
            }
        }
        if !(1..=24).contains(&self.max_fanout_log2) {
            return Err(AlexError::InvalidConfig(
                "max_fanout_log2 must be in 1..=24",
            ));
        }
        if !(0.0..=1.0).contains(&self.expected_insert_fraction) {
            return Err(AlexError::InvalidConfig(
                "expected_insert_fraction must be in [0, 1]",
            ));
        }
        Ok(())
    }
}
