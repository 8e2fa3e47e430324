#!/usr/bin/env python3
"""Writes a legacy bot database as a typical single-tenant aiogram bot keeps it.

The layout is the one such bots grow into: a key/value settings table holding the token, the
chats the bot was added to, the users it counted, message templates with a parse mode, and
schedules by interval or cron with a time zone. A few rows are wrong the way real ones are
(a schedule whose template was deleted, an interval too short for Telegram's limits, a cron
with six fields, a private chat, an empty template), so an import has something to refuse.

    python3 make_legacy_db.py OUT.db [--users N]
"""

import argparse
import random
import sqlite3

SCHEMA = """
CREATE TABLE bot_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE chats (
    chat_id INTEGER PRIMARY KEY,
    title TEXT,
    type TEXT NOT NULL,             -- private | group | supergroup | channel
    is_active INTEGER NOT NULL DEFAULT 1,
    added_at TEXT NOT NULL
);
CREATE TABLE users (
    user_id INTEGER PRIMARY KEY,
    first_name TEXT NOT NULL,
    last_name TEXT,
    username TEXT,
    message_count INTEGER NOT NULL DEFAULT 0,
    joined_at TEXT NOT NULL
);
CREATE TABLE templates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    content TEXT NOT NULL,
    parse_mode TEXT                  -- HTML | Markdown | MarkdownV2 | NULL (plain)
);
CREATE TABLE schedules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    template_id INTEGER NOT NULL,
    chat_id INTEGER,                 -- NULL: every active chat
    interval_minutes INTEGER,
    cron_expr TEXT,
    timezone TEXT NOT NULL DEFAULT 'Europe/Istanbul',
    is_enabled INTEGER NOT NULL DEFAULT 1
);
"""

FIRST = ["Ayşe", "Mehmet", "Zeynep", "İbrahim", "Elif", "Ömer", "Şule", "Çağrı", "Gül", "Işıl"]
LAST = ["Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Öztürk", None]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--users", type=int, default=200)
    args = ap.parse_args()
    rnd = random.Random(1923)
    db = sqlite3.connect(args.out)
    db.executescript(SCHEMA)
    db.execute(
        "INSERT INTO bot_settings VALUES ('bot_token', ?), ('admin_id', '5550001')",
        ("123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0",),
    )
    chats = [
        (-1001000000001, "Kadıköy Esnafı", "supergroup", 1),
        (-1001000000002, "Moda Kahve Severler", "supergroup", 1),
        (-1001000000003, "Bahariye Duyuru", "channel", 1),
        (-4000000004, "Aile Grubu", "group", 0),
        (5550001, "Bot sahibi", "private", 1),  # refused: a private chat is not a group
        (-1001000000006, None, "supergroup", 1),  # refused: no title
    ]
    for chat_id, title, kind, active in chats:
        db.execute(
            "INSERT INTO chats VALUES (?, ?, ?, ?, '2025-03-01 10:00:00')",
            (chat_id, title, kind, active),
        )
    for i in range(args.users):
        db.execute(
            "INSERT INTO users VALUES (?, ?, ?, ?, ?, ?)",
            (
                7000000 + i,
                rnd.choice(FIRST),
                rnd.choice(LAST),
                f"kullanici{i}" if i % 3 else None,
                rnd.randint(0, 5000),
                f"2025-0{1 + i % 9}-1{i % 10} 12:00:00",
            ),
        )
    db.execute("INSERT INTO users VALUES (0, 'Hayalet', NULL, NULL, 3, '2025-01-01 00:00:00')")
    templates = [
        ("Günaydın", "<b>Günaydın Kadıköy!</b> Bugün taze simit var.", "HTML"),
        ("Kampanya", "*Hafta sonu* indirimi: tüm kahveler %20 ucuz", "Markdown"),
        ("Hatırlatma", "Pazar günü kapalıyız. İyi hafta sonları & görüşmek üzere <3", None),
        ("Boş", "", "HTML"),  # refused: empty text
    ]
    for name, content, mode in templates:
        db.execute(
            "INSERT INTO templates (name, content, parse_mode) VALUES (?, ?, ?)",
            (name, content, mode),
        )
    schedules = [
        (1, None, 60 * 24, None, "Europe/Istanbul", 1),
        (2, -1001000000002, None, "0 9 * * sat", "Europe/Istanbul", 1),
        (3, -1001000000001, 180, None, "Europe/Istanbul", 0),
        (9, None, 60, None, "Europe/Istanbul", 1),  # refused: template 9 was deleted
        (1, None, 2, None, "Europe/Istanbul", 1),  # refused: every 2 minutes
        (2, None, None, "0 0 9 * * *", "Europe/Istanbul", 1),  # refused: six cron fields
        (3, None, 120, None, "Mars/Olympus", 1),  # refused: no such zone
    ]
    for t, chat, every, cron, tz, on in schedules:
        db.execute(
            "INSERT INTO schedules (template_id, chat_id, interval_minutes, cron_expr, timezone,"
            " is_enabled) VALUES (?, ?, ?, ?, ?, ?)",
            (t, chat, every, cron, tz, on),
        )
    db.commit()
    db.close()


if __name__ == "__main__":
    main()
