//! The put-latency workload's measurement: single puts, each timed alone, summarised as
//! nearest-rank percentiles of the per-put times and as throughput over the whole run and
//! per 100 ms window (the slowest and the median window), so stalls show as well as means.

use serde::Serialize;
use std::time::{Duration, Instant};

/// Width of a throughput window.
pub const WINDOW: Duration = Duration::from_millis(100);

/// One run of timed puts, summarised (or, across repetitions, each field's median).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PutLatency {
    pub puts: usize,
    /// Nearest-rank percentiles and maximum of the per-put times, nanoseconds.
    pub p50_ns: f64,
    pub p99_ns: f64,
    pub p999_ns: f64,
    pub max_ns: f64,
    /// Puts over the wall time from the first put's start to the last put's end.
    pub puts_per_sec: f64,
    pub window_ms: u64,
    /// Complete windows in the run (a partial last window is left out).
    pub windows: usize,
    /// Throughput of the slowest and of the median complete window, puts per second;
    /// `None` when the run was shorter than one window.
    pub min_window_puts_per_sec: Option<f64>,
    pub median_window_puts_per_sec: Option<f64>,
}

/// Runs `put` on every pair in order on this thread, timing each call alone with `Instant`
/// (from just before the call to its return). Returns the wall time of the whole loop and
/// its summary.
pub fn time_puts<E>(
    pairs: &[(u64, u64)],
    mut put: impl FnMut(u64, u64) -> Result<(), E>,
) -> Result<(Duration, PutLatency), E> {
    let mut lat_ns = Vec::with_capacity(pairs.len());
    let mut end_ns = Vec::with_capacity(pairs.len());
    let start = Instant::now();
    for &(k, v) in pairs {
        let t = Instant::now();
        put(k, v)?;
        let done = Instant::now();
        lat_ns.push((done - t).as_nanos() as u64);
        end_ns.push((done - start).as_nanos() as u64);
    }
    let total = end_ns
        .last()
        .map_or(Duration::ZERO, |&ns| Duration::from_nanos(ns));
    Ok((total, summarize(&mut lat_ns, &end_ns, WINDOW)))
}

/// Summarises per-put times `lat_ns` (sorted in place) whose puts ended at `end_ns` (from
/// the start of the run, ascending); the run lasted until the last end.
pub fn summarize(lat_ns: &mut [u64], end_ns: &[u64], window: Duration) -> PutLatency {
    lat_ns.sort_unstable();
    let total_ns = end_ns.last().copied().unwrap_or(0);
    let window_ns = window.as_nanos() as u64;
    let per_sec = 1e9 / window_ns as f64;
    let mut counts: Vec<f64> = window_counts(end_ns, total_ns, window_ns)
        .into_iter()
        .map(|c| c as f64 * per_sec)
        .collect();
    let windows = counts.len();
    let rank = |q| nearest_rank(lat_ns, q).map_or(0.0, |v| v as f64);
    PutLatency {
        puts: lat_ns.len(),
        p50_ns: rank(0.50),
        p99_ns: rank(0.99),
        p999_ns: rank(0.999),
        max_ns: lat_ns.last().map_or(0.0, |&v| v as f64),
        puts_per_sec: if total_ns > 0 {
            lat_ns.len() as f64 * 1e9 / total_ns as f64
        } else {
            0.0
        },
        window_ms: window.as_millis() as u64,
        windows,
        min_window_puts_per_sec: counts.iter().copied().reduce(f64::min),
        median_window_puts_per_sec: median(&mut counts),
    }
}

/// The nearest-rank `q`-quantile of ascending `sorted`: the smallest value with at least
/// `q` of the values at or below it. `None` when empty.
pub fn nearest_rank(sorted: &[u64], q: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Puts completed in each complete window `[i * w, (i + 1) * w)` of a run lasting
/// `total_ns`, from ascending end times.
pub fn window_counts(end_ns: &[u64], total_ns: u64, window_ns: u64) -> Vec<u64> {
    let full = (total_ns / window_ns.max(1)) as usize;
    let mut counts = vec![0u64; full];
    for &e in end_ns {
        match counts.get_mut((e / window_ns.max(1)) as usize) {
            Some(c) => *c += 1,
            None => break,
        }
    }
    counts
}

/// Median (mean of the middle two for an even count), `None` when empty; sorts in place.
pub fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// Each field's median over repetitions (`None` for no repetition). A window figure is the
/// median of the repetitions that had one.
pub fn median_of(reps: &[PutLatency]) -> Option<PutLatency> {
    let first = reps.first()?;
    let of = |f: fn(&PutLatency) -> f64| {
        median(&mut reps.iter().map(f).collect::<Vec<_>>()).unwrap_or(0.0)
    };
    let of_opt = |f: fn(&PutLatency) -> Option<f64>| {
        median(&mut reps.iter().filter_map(f).collect::<Vec<_>>())
    };
    Some(PutLatency {
        puts: first.puts,
        p50_ns: of(|r| r.p50_ns),
        p99_ns: of(|r| r.p99_ns),
        p999_ns: of(|r| r.p999_ns),
        max_ns: of(|r| r.max_ns),
        puts_per_sec: of(|r| r.puts_per_sec),
        window_ms: first.window_ms,
        windows: of(|r| r.windows as f64) as usize,
        min_window_puts_per_sec: of_opt(|r| r.min_window_puts_per_sec),
        median_window_puts_per_sec: of_opt(|r| r.median_window_puts_per_sec),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u64> = (1..=1000).collect();
        assert_eq!(nearest_rank(&v, 0.50), Some(500));
        assert_eq!(nearest_rank(&v, 0.99), Some(990));
        assert_eq!(nearest_rank(&v, 0.999), Some(999));
        assert_eq!(nearest_rank(&v, 1.0), Some(1000));
        assert_eq!(nearest_rank(&v, 0.0), Some(1));
        // Ten values: p50 is the 5th, p99 and p99.9 the 10th.
        let ten: Vec<u64> = (10..=100).step_by(10).collect();
        assert_eq!(nearest_rank(&ten, 0.5), Some(50));
        assert_eq!(nearest_rank(&ten, 0.99), Some(100));
        assert_eq!(nearest_rank(&[7], 0.999), Some(7));
        assert_eq!(nearest_rank(&[], 0.5), None);
    }

    #[test]
    fn windows_count_complete_windows_only() {
        // Ends at 10, 20, ..., 350 ms: windows [0,100) [100,200) [200,300) are complete
        // (the run lasts 350 ms); the five puts ending in [300,350) are left out.
        let ms = 1_000_000;
        let ends: Vec<u64> = (1..=35).map(|i| i * 10 * ms).collect();
        // The put ending exactly at 100 ms belongs to the second window.
        assert_eq!(window_counts(&ends, 350 * ms, 100 * ms), vec![9, 10, 10]);
        assert_eq!(
            window_counts(&ends[..3], 30 * ms, 100 * ms),
            Vec::<u64>::new()
        );
        assert_eq!(window_counts(&[], 0, 100 * ms), Vec::<u64>::new());
    }

    #[test]
    fn summary_shows_a_stall() {
        // 2,000 puts of 100 µs each, back to back, except the 1,001st, which takes 150 ms.
        let mut lat = Vec::new();
        let mut ends = Vec::new();
        let mut t = 0u64;
        for i in 0..2000 {
            let d = if i == 1000 { 150_000_000 } else { 100_000 };
            t += d;
            lat.push(d);
            ends.push(t);
        }
        let s = summarize(&mut lat, &ends, WINDOW);
        assert_eq!(s.puts, 2000);
        assert_eq!((s.p50_ns, s.p99_ns), (100_000.0, 100_000.0));
        // p99.9 is the 1,998th of 2,000 sorted times: still 100 µs; the max is the stall.
        assert_eq!((s.p999_ns, s.max_ns), (100_000.0, 150_000_000.0));
        // Puts 0..=998 end before 100 ms; put 999 ends at exactly 100 ms, in the second
        // window; the stalled put 1000 ends at 250 ms, then 499 more before 300 ms. The run
        // lasts 349.9 ms: three complete windows, the partial fourth left out.
        assert_eq!(ends[999], 100_000_000);
        assert_eq!(ends[1000], 250_000_000);
        assert_eq!(s.windows, 3);
        let counts = window_counts(&ends, *ends.last().unwrap(), 100_000_000);
        assert_eq!(counts, vec![999, 1, 500]);
        assert_eq!(s.min_window_puts_per_sec, Some(10.0));
        assert_eq!(s.median_window_puts_per_sec, Some(5000.0));
        assert!((s.puts_per_sec - 2000.0 / 0.3499).abs() < 1e-6);
    }

    #[test]
    fn medians_over_repetitions() {
        let one = |p50: f64, min_w: Option<f64>| PutLatency {
            puts: 10,
            p50_ns: p50,
            p99_ns: p50 * 2.0,
            p999_ns: p50 * 3.0,
            max_ns: p50 * 4.0,
            puts_per_sec: 1e9 / p50,
            window_ms: 100,
            windows: 2,
            min_window_puts_per_sec: min_w,
            median_window_puts_per_sec: min_w,
        };
        let m = median_of(&[
            one(100.0, Some(5.0)),
            one(300.0, None),
            one(200.0, Some(7.0)),
        ])
        .unwrap();
        assert_eq!((m.p50_ns, m.max_ns), (200.0, 800.0));
        // Two repetitions had windows: their mean.
        assert_eq!(m.min_window_puts_per_sec, Some(6.0));
        assert_eq!(median_of(&[]), None);
        assert_eq!(median(&mut [3.0, 1.0, 2.0, 10.0]), Some(2.5));
    }

    #[test]
    fn time_puts_times_every_put_and_passes_errors() {
        let pairs: Vec<(u64, u64)> = (0..50).map(|k| (k, k)).collect();
        let mut seen = Vec::new();
        let (total, s) = time_puts(&pairs, |k, _| {
            seen.push(k);
            Ok::<(), ()>(())
        })
        .unwrap();
        assert_eq!(seen.len(), 50);
        assert_eq!(s.puts, 50);
        assert!(s.max_ns >= s.p50_ns && total.as_nanos() as f64 >= s.max_ns);
        assert_eq!(
            time_puts(&pairs, |k, _| if k == 3 { Err(k) } else { Ok(()) }),
            Err(3)
        );
    }
}
