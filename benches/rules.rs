//! Group rules: evaluating one incoming message against 100 rules in one group, the way the
//! worker does for every message (fold the text once, then each rule). Side by side in one
//! run: the same message against 10 rules, against 100 rules that all match nothing, and
//! against 100 rules whose 20 patterns are regular expressions.
//!
//! `cargo bench --bench rules [-- samples]` (default 201 samples of 1,000 messages each).

use std::time::Instant;

use botyard::worker::rules::{
    Engine, Matcher, Penalty, Reply, RuleKind, RuleSet, RuleSpec, Seen, Warning,
};
use botyard::worker::telegram::{Markup, UserRef};

const CHAT: i64 = -1_000_000_000_001;

fn reply(text: &str) -> Reply {
    Reply {
        text: text.into(),
        markup: Markup::Html,
        buttons: Vec::new(),
        media: None,
    }
}

/// `n` rules on one chat: 60% keyword replies (three keywords each), 20% regular
/// expressions, 10% filters, 10% flood limits (with `regex` false, the patterns are keywords).
pub fn rules(n: usize, regex: bool) -> Vec<RuleSpec> {
    (0..n)
        .map(|i| {
            let kind = match i % 10 {
                0..=5 => RuleKind::AutoReply {
                    matcher: Matcher::Keywords(vec![
                        format!("ürün{i}"),
                        format!("fiyat listesi {i}"),
                        format!("KARGO{i}"),
                    ]),
                    reply: reply("Merhaba!"),
                    chat_cooldown_secs: 60,
                    user_cooldown_secs: 300,
                },
                6 | 7 if regex => RuleKind::AutoReply {
                    matcher: Matcher::Regex(format!(r"sipariş\s*#?{i}\d{{3,}}")),
                    reply: reply("Bakıyoruz"),
                    chat_cooldown_secs: 0,
                    user_cooldown_secs: 0,
                },
                6 | 7 => RuleKind::AutoReply {
                    matcher: Matcher::Keywords(vec![format!("sipariş{i}")]),
                    reply: reply("Bakıyoruz"),
                    chat_cooldown_secs: 0,
                    user_cooldown_secs: 0,
                },
                8 => RuleKind::Filter {
                    links: true,
                    invites: true,
                    channel_forwards: true,
                    words: vec![format!("kumar{i}"), format!("bahis{i}")],
                    warn: Some(Warning {
                        text: "Uyarı".into(),
                        markup: Markup::Html,
                        limit: 3,
                        then: Penalty::Mute { secs: 600 },
                    }),
                },
                _ => RuleKind::AntiFlood {
                    // High enough that the benchmark's one sender never trips it.
                    messages: 1_000_000,
                    window_secs: 10,
                    penalty: Penalty::Mute { secs: 60 },
                    warn: None,
                },
            };
            RuleSpec {
                id: i as u64 + 1,
                session: 1,
                chats: vec![CHAT],
                dry_run: false,
                allow_users: Vec::new(),
                kind,
            }
        })
        .collect()
}

fn measure(label: &str, rules: Vec<RuleSpec>, samples: usize) {
    let mut e = Engine::default();
    e.set_rules(
        &RuleSet {
            rules,
            warnings: Vec::new(),
        },
        1,
    );
    let sender = UserRef {
        id: 42,
        first_name: "Ayşe".into(),
        last_name: None,
        username: None,
    };
    // A typical group message: matches none of the rules, so every rule is looked at.
    let text = "Merhaba arkadaşlar, bu akşamki İSTANBUL buluşmasına kimler geliyor? Saat 19.30'da Kadıköy'de olalım.";
    const PER_SAMPLE: usize = 1_000;
    let mut at = 1_000_000;
    let mut ns: Vec<f64> = (0..samples)
        .map(|_| {
            let t = Instant::now();
            for m in 0..PER_SAMPLE {
                at += 1;
                let o = e.on_event(Seen::Message {
                    chat: CHAT,
                    message: m as i64,
                    sender: &sender,
                    text,
                    link: false,
                    channel_forward: false,
                    at: at / 100,
                });
                assert!(o.acts.is_empty());
            }
            t.elapsed().as_nanos() as f64 / PER_SAMPLE as f64
        })
        .collect();
    ns.sort_by(f64::total_cmp);
    println!(
        "{label}: median {:.2} µs per message (p10 {:.2}, p90 {:.2}) over {samples} samples",
        ns[ns.len() / 2] / 1e3,
        ns[ns.len() / 10] / 1e3,
        ns[ns.len() * 9 / 10] / 1e3
    );
}

fn main() {
    let samples: usize = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .and_then(|a| a.parse().ok())
        .unwrap_or(201);
    measure(
        "100 rules, 20 of them regular expressions",
        rules(100, true),
        samples,
    );
    measure("100 rules, keywords only", rules(100, false), samples);
    measure(" 10 rules, 2 regular expressions", rules(10, true), samples);
}
