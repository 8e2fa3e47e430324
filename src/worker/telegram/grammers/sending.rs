//! Posting: a message or a media post (its file uploaded once and reused for a while), with
//! its buttons, and the answer mapped back to the chat and message ids.

use super::*;

impl Grammers {
    /// The media of a post: the file uploaded once (or again after a while), described as
    /// the photo, video or document it is.
    pub(super) async fn upload(
        &mut self,
        file: &crate::worker::telegram::MediaFile,
        bytes: &[u8],
    ) -> Result<tl::enums::InputMedia, PortError> {
        let cached = self
            .uploads
            .get(&file.file)
            .filter(|(_, at)| at.elapsed() < UPLOAD_REUSE)
            .map(|(f, _)| f.clone());
        let input = match cached {
            Some(f) => f,
            None => {
                let mut stream = std::io::Cursor::new(bytes);
                let up = tokio::time::timeout(
                    // A minute, plus a second per MiB.
                    std::time::Duration::from_secs(60 + (bytes.len() as u64 >> 20)),
                    self.client
                        .upload_stream(&mut stream, bytes.len(), file.name.clone()),
                )
                .await
                .map_err(|_| PortError::Network("upload timed out".into()))?
                .map_err(|e| PortError::Network(format!("upload: {e}")))?;
                self.uploads.insert(
                    file.file.clone(),
                    (up.raw.clone(), std::time::Instant::now()),
                );
                up.raw
            }
        };
        let name: tl::enums::DocumentAttribute = tl::types::DocumentAttributeFilename {
            file_name: file.name.clone(),
        }
        .into();
        Ok(match file.kind {
            crate::worker::telegram::MediaKind::Photo => tl::types::InputMediaUploadedPhoto {
                spoiler: false,
                live_photo: false,
                file: input,
                stickers: None,
                ttl_seconds: None,
                video: None,
            }
            .into(),
            crate::worker::telegram::MediaKind::Video => tl::types::InputMediaUploadedDocument {
                nosound_video: false,
                force_file: false,
                spoiler: false,
                file: input,
                thumb: None,
                mime_type: file.mime.clone(),
                attributes: vec![
                    tl::types::DocumentAttributeVideo {
                        round_message: false,
                        supports_streaming: true,
                        nosound: false,
                        duration: 0.0,
                        w: 0,
                        h: 0,
                        preload_prefix_size: None,
                        video_start_ts: None,
                        video_codec: None,
                    }
                    .into(),
                    name,
                ],
                stickers: None,
                video_cover: None,
                video_timestamp: None,
                ttl_seconds: None,
            }
            .into(),
            crate::worker::telegram::MediaKind::Document => tl::types::InputMediaUploadedDocument {
                nosound_video: false,
                force_file: true,
                spoiler: false,
                file: input,
                thumb: None,
                mime_type: file.mime.clone(),
                attributes: vec![name],
                stickers: None,
                video_cover: None,
                video_timestamp: None,
                ttl_seconds: None,
            }
            .into(),
        })
    }

    /// Sends one post; `TelegramPort::send` is this.
    pub(super) async fn send_message(
        &mut self,
        msg: OutgoingMessage,
    ) -> Result<SentMessage, PortError> {
        let peer = match msg.access_hash {
            // A private chat with a user who wrote to the bot (maybe before a restart).
            Some(access_hash) if msg.chat_id > 0 => {
                tl::enums::InputPeer::User(tl::types::InputPeerUser {
                    user_id: msg.chat_id,
                    access_hash,
                })
            }
            _ => self.peer(msg.chat_id)?,
        };
        let (text, entities) = match msg.markup.unwrap_or(self.cfg.markup) {
            Markup::Plain => (msg.text.clone(), Vec::new()),
            Markup::Markdown => grammers_client::parsers::parse_markdown_message(&msg.text),
            Markup::Html => grammers_client::parsers::parse_html_message(&msg.text),
        };
        let entities = (!entities.is_empty()).then_some(entities);
        let chat_id = msg.chat_id;
        let reply_to: Option<tl::enums::InputReplyTo> = msg
            .reply_to
            .and_then(|id| i32::try_from(id).ok())
            .map(|id| {
                tl::types::InputReplyToMessage {
                    reply_to_msg_id: id,
                    top_msg_id: None,
                    reply_to_peer_id: None,
                    quote_text: None,
                    quote_entities: None,
                    quote_offset: None,
                    monoforum_peer_id: None,
                    todo_item_id: None,
                    poll_option: None,
                }
                .into()
            });
        let answer = match &msg.media {
            None => {
                let req = tl::functions::messages::SendMessage {
                    no_webpage: false,
                    silent: msg.silent,
                    background: false,
                    clear_draft: false,
                    noforwards: false,
                    update_stickersets_order: false,
                    invert_media: false,
                    allow_paid_floodskip: false,
                    peer,
                    reply_to: reply_to.clone(),
                    message: text,
                    random_id: msg.random_id,
                    reply_markup: url_keyboard(&msg.buttons),
                    entities,
                    schedule_date: None,
                    schedule_repeat_period: None,
                    send_as: None,
                    quick_reply_shortcut: None,
                    effect: None,
                    allow_paid_stars: None,
                    suggested_post: None,
                    rich_message: None,
                };
                self.call(|| self.client.invoke(&req)).await
            }
            Some((file, bytes)) => {
                let media = self.upload(file, bytes).await?;
                let req = tl::functions::messages::SendMedia {
                    silent: msg.silent,
                    background: false,
                    clear_draft: false,
                    noforwards: false,
                    update_stickersets_order: false,
                    invert_media: false,
                    allow_paid_floodskip: false,
                    peer,
                    reply_to: reply_to.clone(),
                    media,
                    message: text,
                    random_id: msg.random_id,
                    reply_markup: url_keyboard(&msg.buttons),
                    entities,
                    schedule_date: None,
                    schedule_repeat_period: None,
                    send_as: None,
                    quick_reply_shortcut: None,
                    effect: None,
                    allow_paid_stars: None,
                    suggested_post: None,
                };
                self.call(|| self.client.invoke(&req)).await
            }
        };
        let answer = match answer {
            Ok(a) => a,
            // Telegram already has this message (sent before a crash, the answer lost).
            Err(PortError::Other(e)) if e.starts_with("RANDOM_ID_DUPLICATE") => {
                return Ok(SentMessage {
                    chat_id,
                    message_id: 0,
                    at: jiff::Timestamp::now().as_second(),
                });
            }
            Err(PortError::Forbidden(_)) => return Err(PortError::Forbidden(chat_id)),
            Err(PortError::ChatNotFound(_)) => return Err(PortError::ChatNotFound(chat_id)),
            Err(e) => return Err(e),
        };
        let (message_id, at) = match answer {
            tl::enums::Updates::UpdateShortSentMessage(s) => (i64::from(s.id), i64::from(s.date)),
            tl::enums::Updates::Updates(u) => {
                let id = u.updates.iter().find_map(|x| match x {
                    tl::enums::Update::MessageId(m) if m.random_id == msg.random_id => Some(m.id),
                    _ => None,
                });
                (i64::from(id.unwrap_or(0)), i64::from(u.date))
            }
            _ => (0, 0),
        };
        Ok(SentMessage {
            chat_id,
            message_id,
            at,
        })
    }
}

/// Rows of URL buttons as Telegram's inline keyboard.
fn url_keyboard(
    rows: &[Vec<crate::worker::telegram::UrlButton>],
) -> Option<tl::enums::ReplyMarkup> {
    if rows.is_empty() {
        return None;
    }
    Some(
        tl::types::ReplyInlineMarkup {
            force_reply: false,
            rows: rows
                .iter()
                .map(|r| {
                    tl::types::KeyboardInlineButtonRow {
                        buttons: r
                            .iter()
                            .map(|b| {
                                let r#type = if let Some(data) = &b.data {
                                    tl::types::InlineButtonTypeCallback {
                                        requires_password: false,
                                        data: data.as_bytes().to_vec(),
                                    }
                                    .into()
                                } else if b.web_app {
                                    tl::types::InlineButtonTypeWebView { url: b.url.clone() }.into()
                                } else {
                                    tl::types::InlineButtonTypeUrl { url: b.url.clone() }.into()
                                };
                                tl::types::KeyboardInlineButton {
                                    style: None,
                                    text: b.label.clone(),
                                    r#type,
                                }
                                .into()
                            })
                            .collect(),
                    }
                    .into()
                })
                .collect(),
        }
        .into(),
    )
}
