use super::*;

const CHAT: i64 = -1_000_000_000_042;

fn user(id: i64, name: &str) -> UserRef {
    UserRef {
        id,
        first_name: name.into(),
        last_name: None,
        username: None,
    }
}

fn reply(text: &str) -> Reply {
    Reply {
        text: text.into(),
        markup: Markup::Html,
        buttons: Vec::new(),
        media: None,
    }
}

fn rule(id: u64, kind: RuleKind) -> RuleSpec {
    RuleSpec {
        id,
        session: 1,
        chats: vec![CHAT],
        dry_run: false,
        allow_users: Vec::new(),
        kind,
    }
}

fn engine(rules: Vec<RuleSpec>) -> Engine {
    let mut e = Engine::default();
    e.set_rules(
        &RuleSet {
            rules,
            warnings: Vec::new(),
        },
        1,
    );
    e.set_title(CHAT, "Moda Sahil");
    e
}

fn say(e: &mut Engine, from: &UserRef, message: i64, text: &str, at: i64) -> Outcome {
    e.on_event(Seen::Message {
        chat: CHAT,
        message,
        sender: from,
        text,
        link: false,
        channel_forward: false,
        at,
    })
}

fn sends(o: &Outcome) -> Vec<&str> {
    o.acts
        .iter()
        .filter_map(|a| match a {
            Act::Send { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

fn kinds(o: &Outcome) -> Vec<HitKind> {
    o.hits.iter().map(|h| h.kind).collect()
}

#[test]
fn a_burst_of_joins_gets_one_welcome() {
    let text = format!(
        "Hoş geldiniz {}, {} grubuna!",
        fill::FIRST_NAME,
        fill::GROUP_TITLE
    );
    let mut e = engine(vec![rule(
        1,
        RuleKind::Welcome {
            reply: reply(&text),
            delete_after_secs: 600,
            gap_secs: 60,
        },
    )]);
    let (a, b, c) = (user(1, "Ayşe"), user(2, "Işıl"), user(3, "Ömer"));
    let o = e.on_event(Seen::Joined {
        chat: CHAT,
        user: &a,
        at: 1000,
    });
    assert_eq!(sends(&o), ["Hoş geldiniz Ayşe, Moda Sahil grubuna!"]);
    e.sent(CHAT, 500, 1000, 600, None);
    // Two more within the minute wait for one welcome together.
    for (u, at) in [(&b, 1010), (&c, 1020), (&b, 1030)] {
        assert!(
            e.on_event(Seen::Joined {
                chat: CHAT,
                user: u,
                at
            })
            .acts
            .is_empty()
        );
    }
    assert_eq!(e.next_due(), Some(1060));
    assert!(e.tick(1059).acts.is_empty());
    let o = e.tick(1060);
    assert_eq!(sends(&o), ["Hoş geldiniz Işıl, Ömer, Moda Sahil grubuna!"]);
    // The first welcome is deleted after its ten minutes.
    let o = e.tick(1600);
    assert!(
        o.acts
            .iter()
            .any(|a| matches!(a, Act::Delete { messages, .. } if messages == &vec![500]))
    );
}

#[test]
fn a_keyword_gets_its_reply_once_per_cooldown() {
    let mut e = engine(vec![rule(
        7,
        RuleKind::AutoReply {
            matcher: Matcher::Keywords(vec!["kargo ücreti".into(), "İade".into()]),
            reply: reply(&format!("{} kargo 50 TL", fill::MENTION)),
            chat_cooldown_secs: 60,
            user_cooldown_secs: 300,
        },
    )]);
    let a = user(1, "Şule");
    let b = user(2, "Can");
    let o = say(&mut e, &a, 10, "KARGO ÜCRETİ ne kadar?", 100);
    assert_eq!(
        sends(&o),
        ["<a href=\"tg://user?id=1\">Şule</a> kargo 50 TL"]
    );
    assert!(matches!(
        o.acts[0],
        Act::Send {
            reply_to: Some(10),
            ..
        }
    ));
    // Within the chat's cooldown nobody gets it again.
    assert!(say(&mut e, &b, 11, "kargo ücreti?", 130).acts.is_empty());
    // After it, another member does, but the first is still within her own.
    assert_eq!(sends(&say(&mut e, &b, 12, "iade nasıl", 170)).len(), 1);
    assert!(say(&mut e, &a, 13, "iade?", 250).acts.is_empty());
    assert_eq!(sends(&say(&mut e, &a, 14, "iade?", 401)).len(), 1);
    // Part of a word is not the keyword.
    assert!(say(&mut e, &b, 15, "iadeler", 1000).acts.is_empty());
}

#[test]
fn a_regular_expression_reply() {
    let mut e = engine(vec![rule(
        8,
        RuleKind::AutoReply {
            matcher: Matcher::Regex(r"sipariş\s*#?\d{4,}".into()),
            reply: reply("Siparişinize bakıyoruz."),
            chat_cooldown_secs: 0,
            user_cooldown_secs: 0,
        },
    )]);
    let a = user(1, "Ali");
    assert_eq!(
        sends(&say(&mut e, &a, 1, "SİPARİŞ #12345 nerede", 5)).len(),
        1
    );
    assert!(say(&mut e, &a, 2, "sipariş 12", 6).acts.is_empty());
}

#[test]
fn a_flood_is_muted_and_admins_are_left_alone() {
    let mut e = engine(vec![rule(
        3,
        RuleKind::AntiFlood {
            messages: 5,
            window_secs: 10,
            penalty: Penalty::Mute { secs: 600 },
            warn: None,
        },
    )]);
    e.set_admins(CHAT, vec![99]);
    let a = user(1, "Flooder");
    for i in 0..5 {
        assert!(say(&mut e, &a, i, "spam", 100 + i).acts.is_empty());
    }
    let o = say(&mut e, &a, 5, "spam", 105);
    assert!(o.acts.contains(&Act::Delete {
        rule: 3,
        chat: CHAT,
        messages: vec![5]
    }));
    assert!(o.acts.contains(&Act::Restrict {
        rule: 3,
        chat: CHAT,
        user: 1,
        until: 705
    }));
    assert_eq!(kinds(&o), [HitKind::Deleted, HitKind::Muted]);
    // Messages spread over the window are no flood.
    let b = user(2, "Calm");
    for i in 0..20 {
        assert!(
            say(&mut e, &b, 100 + i, "merhaba", 200 + i * 3)
                .acts
                .is_empty()
        );
    }
    let admin = user(99, "Admin");
    for i in 0..20 {
        assert!(say(&mut e, &admin, 300 + i, "duyuru", 400).acts.is_empty());
    }
}

#[test]
fn filters_delete_and_warnings_escalate() {
    let warn = Warning {
        text: format!(
            "{}, link yasak ({}/{})",
            fill::MENTION,
            fill::COUNT,
            fill::LIMIT
        ),
        markup: Markup::Html,
        limit: 3,
        then: Penalty::Mute { secs: 3600 },
    };
    let mut spec = rule(
        4,
        RuleKind::Filter {
            links: true,
            invites: true,
            channel_forwards: true,
            words: vec!["kumar".into()],
            warn: Some(warn),
        },
    );
    spec.allow_users = vec![50];
    let mut e = Engine::default();
    e.set_rules(
        &RuleSet {
            rules: vec![spec],
            warnings: vec![(CHAT, 1, 1)],
        },
        1,
    );
    let a = user(1, "Ayşe");
    // Her second warning (one was counted before the worker started).
    let o = say(&mut e, &a, 20, "bakın https://ucuz.example", 10);
    assert_eq!(kinds(&o), [HitKind::Deleted, HitKind::Warned]);
    assert_eq!(o.hits[1].warnings, Some(2));
    assert_eq!(
        sends(&o),
        ["<a href=\"tg://user?id=1\">Ayşe</a>, link yasak (2/3)"]
    );
    // The third mutes and starts the count again.
    let o = say(&mut e, &a, 21, "KUMAR sitesi", 20);
    assert_eq!(
        kinds(&o),
        [HitKind::Deleted, HitKind::Warned, HitKind::Muted]
    );
    assert_eq!(o.hits[1].warnings, Some(0));
    assert_eq!(o.hits[0].detail, "word \"kumar\"");
    // Invites, forwards from channels; an allowed user may post links.
    let o = e.on_event(Seen::Message {
        chat: CHAT,
        message: 22,
        sender: &a,
        text: "gel",
        link: false,
        channel_forward: true,
        at: 30,
    });
    assert_eq!(o.hits[0].detail, "forward from a channel");
    assert!(
        say(&mut e, &user(50, "Partner"), 23, "https://t.me/+abc", 40)
            .acts
            .is_empty()
    );
    assert!(say(&mut e, &a, 24, "normal bir mesaj", 50).acts.is_empty());
}

#[test]
fn a_dry_run_only_reports() {
    let mut spec = rule(
        5,
        RuleKind::Filter {
            links: true,
            invites: false,
            channel_forwards: false,
            words: Vec::new(),
            warn: None,
        },
    );
    spec.dry_run = true;
    let mut e = engine(vec![spec]);
    let o = say(&mut e, &user(1, "A"), 1, "www.ornek.com", 1);
    assert!(o.acts.is_empty());
    assert_eq!(kinds(&o), [HitKind::Deleted]);
    assert!(o.hits[0].dry_run);
}

fn captcha() -> Engine {
    let mut e = engine(vec![rule(
        6,
        RuleKind::Captcha {
            reply: reply(&format!("{} insan mısın?", fill::MENTION)),
            button: "Evet".into(),
            timeout_secs: 120,
            not_for_you: "Bu düğme senin için değil".into(),
        },
    )]);
    e.set_admins(CHAT, vec![99]);
    e
}

#[test]
fn an_answered_captcha_releases_the_held_messages() {
    let mut e = captcha();
    let a = user(1, "Yeni");
    let o = e.on_event(Seen::Joined {
        chat: CHAT,
        user: &a,
        at: 100,
    });
    assert!(o.acts.contains(&Act::Restrict {
        rule: 6,
        chat: CHAT,
        user: 1,
        until: 0
    }));
    let Some(Act::Send {
        reply, captcha_for, ..
    }) = o.acts.iter().find(|a| matches!(a, Act::Send { .. }))
    else {
        panic!("no captcha message")
    };
    assert_eq!(*captcha_for, Some(1));
    assert_eq!(reply.buttons[0][0].data.as_deref(), Some("cap:1"));
    e.sent(CHAT, 900, 100, 0, Some(1));
    // What she writes meanwhile is held.
    let o = say(&mut e, &a, 901, "selam <herkese>", 110);
    assert_eq!(
        o.acts,
        [Act::Delete {
            rule: 6,
            chat: CHAT,
            messages: vec![901]
        }]
    );
    // Someone else's press is answered and changes nothing.
    let b = user(2, "Başka");
    let o = e.on_event(Seen::Button {
        chat: CHAT,
        message: 900,
        user: &b,
        query_id: 5,
        data: "cap:1",
        at: 111,
    });
    assert_eq!(
        o.acts,
        [Act::AnswerButton {
            query_id: 5,
            text: Some("Bu düğme senin için değil".into())
        }]
    );
    let o = e.on_event(Seen::Button {
        chat: CHAT,
        message: 900,
        user: &a,
        query_id: 6,
        data: "cap:1",
        at: 112,
    });
    assert!(o.acts.contains(&Act::Unrestrict {
        rule: 6,
        chat: CHAT,
        user: 1
    }));
    assert!(o.acts.contains(&Act::Delete {
        rule: 6,
        chat: CHAT,
        messages: vec![900]
    }));
    assert_eq!(
        sends(&o),
        ["<a href=\"tg://user?id=1\">Yeni</a>: selam &lt;herkese&gt;"]
    );
    assert_eq!(kinds(&o), [HitKind::CaptchaPassed]);
    assert_eq!(e.next_due(), None);
}

#[test]
fn an_unanswered_captcha_removes_the_member() {
    let mut e = captcha();
    let a = user(1, "Bot");
    e.on_event(Seen::Joined {
        chat: CHAT,
        user: &a,
        at: 100,
    });
    e.sent(CHAT, 900, 100, 0, Some(1));
    assert_eq!(e.next_due(), Some(220));
    assert!(e.tick(219).acts.is_empty());
    let o = e.tick(220);
    assert!(o.acts.contains(&Act::Kick {
        rule: 6,
        chat: CHAT,
        user: 1
    }));
    assert!(o.acts.contains(&Act::Delete {
        rule: 6,
        chat: CHAT,
        messages: vec![900]
    }));
    assert_eq!(kinds(&o), [HitKind::CaptchaFailed]);
    // Admins join without one.
    assert!(
        e.on_event(Seen::Joined {
            chat: CHAT,
            user: &user(99, "Admin"),
            at: 300
        })
        .acts
        .is_empty()
    );
}

#[test]
fn rules_of_other_sessions_and_chats_do_nothing_and_paused_rules_rest() {
    let mut other = rule(
        9,
        RuleKind::Filter {
            links: true,
            invites: false,
            channel_forwards: false,
            words: Vec::new(),
            warn: None,
        },
    );
    other.session = 2;
    let mut e = engine(vec![
        other,
        rule(
            10,
            RuleKind::Filter {
                links: true,
                invites: false,
                channel_forwards: false,
                words: Vec::new(),
                warn: None,
            },
        ),
    ]);
    let a = user(1, "A");
    let o = say(&mut e, &a, 1, "https://x.example", 1);
    assert_eq!(o.hits.iter().map(|h| h.rule).collect::<Vec<_>>(), [10]);
    let o = e.on_event(Seen::Message {
        chat: -5,
        message: 2,
        sender: &a,
        text: "https://x.example",
        link: true,
        channel_forward: false,
        at: 2,
    });
    assert!(o.hits.is_empty());
    e.pause(10);
    assert!(say(&mut e, &a, 3, "https://x.example", 3).hits.is_empty());
}

#[test]
fn state_stays_bounded_under_a_raid() {
    let mut e = engine(vec![rule(
        3,
        RuleKind::AntiFlood {
            messages: 3,
            window_secs: 5,
            penalty: Penalty::Delete,
            warn: None,
        },
    )]);
    for i in 0..30_000 {
        say(&mut e, &user(i, "x"), i, "a", i / 1000);
    }
    assert!(e.flood.len() <= TRACKED_MAX + 1, "{}", e.flood.len());
}
