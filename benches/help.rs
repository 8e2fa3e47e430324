//! The in-product help: rendering every page of both languages (done once, on the first
//! request to `/help`), and a search over one language's sections, with the sizes a reader
//! downloads. In-process, on the release build.
//!
//! `cargo bench --bench help [-- rounds]` (default 15 builds, 2,000 searches each query).

use std::time::{Duration, Instant};

use botyard::help::Library;
use botyard::i18n::Language;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let rounds: usize = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .and_then(|a| a.parse().ok())
        .unwrap_or(15);
    let title = |_: &str, _: Language| "Alert";
    let builds: Vec<Duration> = (0..rounds)
        .map(|_| {
            let t = Instant::now();
            let lib = Library::build(&title);
            let d = t.elapsed();
            assert!(lib.problems().is_empty(), "{:?}", lib.problems());
            d
        })
        .collect();
    let lib = Library::build(&title);
    println!(
        "build both languages: median {:.2} ms (min {:.2}, max {:.2}) over {rounds}",
        median(builds.clone()).as_secs_f64() * 1e3,
        builds
            .iter()
            .min()
            .copied()
            .unwrap_or_default()
            .as_secs_f64()
            * 1e3,
        builds
            .iter()
            .max()
            .copied()
            .unwrap_or_default()
            .as_secs_f64()
            * 1e3,
    );
    for (lang, query) in [
        (Language::En, "cron"),
        (Language::En, "campaign.no_groups"),
        (Language::Tr, "sablon degisken"),
        (Language::Tr, "yıldız ile ödeme"),
        (Language::En, "nothing matches this zzqq"),
    ] {
        let n = 2_000;
        let mut times = Vec::with_capacity(n);
        let mut hits = 0;
        for _ in 0..n {
            let t = Instant::now();
            hits = lib.search(lang, query).len();
            times.push(t.elapsed());
        }
        println!(
            "search {lang:?} {query:?}: median {:.1} µs, p99 {:.1} µs, {hits} hits",
            median(times.clone()).as_secs_f64() * 1e6,
            {
                times.sort();
                times[times.len() * 99 / 100].as_secs_f64() * 1e6
            }
        );
    }
    for lang in [Language::En, Language::Tr] {
        let sizes: Vec<(String, usize)> = lib
            .pages(lang)
            .iter()
            .map(|p| (p.slug.to_string(), p.html.len()))
            .collect();
        let total: usize = sizes.iter().map(|(_, n)| n).sum();
        let largest = sizes
            .iter()
            .max_by_key(|(_, n)| *n)
            .cloned()
            .unwrap_or_default();
        println!(
            "{lang:?}: {} pages, {:.0} KB of HTML, largest {} {:.0} KB",
            sizes.len(),
            total as f64 / 1024.0,
            largest.0,
            largest.1 as f64 / 1024.0
        );
    }
}
