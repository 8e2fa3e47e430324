//! Files a template carries: uploaded through the API into the tenant's media folder (which
//! the tenant's worker may read and nothing else may), their type sniffed from the bytes.

use std::path::{Path, PathBuf};

use botyard_shards::TenantScope;
use botyard_shards::ids::MediaId;
use botyard_shards::records::{MediaKindRec, MediaRec};

use crate::error::{AppError, AppResult};

/// Bytes read before the type is decided.
pub const SNIFF_BYTES: usize = 8 * 1024;
pub const MAX_NAME: usize = 100;

/// The stored file of a media record, inside the tenant's media folder.
pub fn file_name(id: MediaId) -> String {
    format!("m{id}")
}

/// What the first bytes of an upload say it is; executables and unknown binaries are refused.
pub fn sniff(head: &[u8]) -> AppResult<(MediaKindRec, String)> {
    let refused = || {
        AppError::Invalid {
        code: "media.unsupported",
        field: "body".into(),
        message: "send a photo (JPEG, PNG, WebP), a video (MP4) or a document (PDF, office file, archive, audio, GIF or text)".into(),
    }
    };
    let Some(t) = infer::get(head) else {
        // Text has no magic number: accept what is valid UTF-8 (a cut last character aside).
        let text = match std::str::from_utf8(head) {
            Ok(_) => true,
            Err(e) => e.error_len().is_none() && head.len() - e.valid_up_to() < 4,
        };
        return if text && !head.is_empty() && !head.contains(&0) {
            Ok((MediaKindRec::Document, "text/plain".into()))
        } else {
            Err(refused())
        };
    };
    let mime = t.mime_type();
    let kind = match mime {
        "image/jpeg" | "image/png" | "image/webp" => MediaKindRec::Photo,
        "video/mp4" => MediaKindRec::Video,
        "application/pdf"
        | "application/zip"
        | "application/gzip"
        | "application/x-7z-compressed"
        | "application/vnd.rar"
        | "application/msword"
        | "application/vnd.ms-excel"
        | "application/vnd.ms-powerpoint"
        | "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        | "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        | "application/vnd.openxmlformats-officedocument.presentationml.presentation"
        | "application/vnd.oasis.opendocument.text"
        | "application/vnd.oasis.opendocument.spreadsheet"
        | "application/epub+zip"
        | "image/gif"
        | "audio/mpeg"
        | "audio/ogg"
        | "audio/m4a"
        | "video/quicktime"
        | "video/webm" => MediaKindRec::Document,
        _ => return Err(refused()),
    };
    Ok((kind, mime.to_string()))
}

/// Telegram's own limits on a photo: width and height adding up to at most 10,000 pixels, and
/// one side at most 20 times the other.
pub const PHOTO_MAX_SIDES: u32 = 10_000;
pub const PHOTO_MAX_RATIO: u32 = 20;

/// Reads a stored photo's header with its format's decoder and checks its dimensions: a file
/// whose first bytes only look like an image (a PNG signature before an executable) is refused.
pub fn check_photo(path: &Path, mime: &str) -> AppResult<(u32, u32)> {
    let format = match mime {
        "image/jpeg" => image::ImageFormat::Jpeg,
        "image/png" => image::ImageFormat::Png,
        "image/webp" => image::ImageFormat::WebP,
        _ => return Err(AppError::Internal(format!("check_photo on {mime}"))),
    };
    let file = std::fs::File::open(path).map_err(io_error)?;
    let reader = image::ImageReader::with_format(std::io::BufReader::new(file), format);
    let (w, h) = reader.into_dimensions().map_err(|_| AppError::Invalid {
        code: "media.bad_image",
        field: "body".into(),
        message: format!(
            "this file starts like a {} image but its decoder cannot read it; send a real photo",
            &mime["image/".len()..].to_uppercase()
        ),
    })?;
    let (long, short) = (w.max(h), w.min(h));
    if w == 0 || h == 0 || w.saturating_add(h) > PHOTO_MAX_SIDES || long / short > PHOTO_MAX_RATIO {
        return Err(AppError::Invalid {
            code: "media.photo_dimensions",
            field: "body".into(),
            message: format!(
                "a photo is {w}×{h} pixels; Telegram takes photos whose width and height add up to at most {PHOTO_MAX_SIDES} and whose long side is at most {PHOTO_MAX_RATIO} times the short one: resize it"
            ),
        });
    }
    Ok((w, h))
}

/// Follows an upload chunk by chunk: is it UTF-8 without NUL bytes to its very end? The first
/// bytes alone would let text with an executable after it pass as a text document.
#[derive(Default)]
pub struct TextCheck {
    /// The start of a character cut by the chunk's end (at most 3 bytes).
    carry: Vec<u8>,
    failed: bool,
}

impl TextCheck {
    pub fn feed(&mut self, chunk: &[u8]) {
        if self.failed {
            return;
        }
        let joined;
        let data: &[u8] = if self.carry.is_empty() {
            chunk
        } else {
            joined = [self.carry.as_slice(), chunk].concat();
            &joined
        };
        if data.contains(&0) {
            self.failed = true;
            return;
        }
        self.carry = match std::str::from_utf8(data) {
            Ok(_) => Vec::new(),
            // A character cut by the chunk's end: its start waits for the next chunk.
            Err(e) if e.error_len().is_none() => data[e.valid_up_to()..].to_vec(),
            Err(_) => {
                self.failed = true;
                Vec::new()
            }
        };
    }

    /// Whether everything fed was text, ending on a whole character.
    pub fn is_text(&self) -> bool {
        !self.failed && self.carry.is_empty()
    }
}

/// A file name as given by the uploader, checked: shown to recipients, never used as a path.
pub fn clean_name(name: &str) -> AppResult<String> {
    let n = name.trim();
    if n.is_empty()
        || n.chars().count() > MAX_NAME
        || n.chars().any(|c| c.is_control() || c == '/' || c == '\\')
    {
        return Err(AppError::Invalid {
            code: "media.name",
            field: "name".into(),
            message: format!(
                "a file name of 1 to {MAX_NAME} characters, without slashes or control characters"
            ),
        });
    }
    crate::domain::names::check_visible("name", n)?;
    Ok(n.to_string())
}

/// Maps a write error: a full disk says so.
pub fn io_error(e: std::io::Error) -> AppError {
    if e.raw_os_error() == Some(libc::ENOSPC) || e.raw_os_error() == Some(libc::EDQUOT) {
        AppError::StorageFull
    } else {
        AppError::Internal(format!("media file: {e}"))
    }
}

/// Records an upload already written to `tmp` (synced) and moves it into place, in one shard
/// transaction: the record exists only once the file does.
pub fn store(
    scope: &TenantScope,
    dir: &Path,
    tmp: &Path,
    rec: MediaRec,
) -> AppResult<(MediaId, MediaRec)> {
    let res = scope.shard_write(|s| {
        let id = s.insert_media(&rec)?;
        let dest = dir.join(file_name(id));
        std::fs::rename(tmp, &dest).map_err(io_error)?;
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io_error)?;
        Ok::<_, AppError>(id)
    });
    match res {
        Ok(id) => Ok((id, rec)),
        Err(e) => {
            let _ = std::fs::remove_file(tmp);
            Err(e)
        }
    }
}

/// Removes a file that no template's latest version, and no version a campaign pinned, uses.
pub fn delete(scope: &TenantScope, dir: &Path, id: MediaId) -> AppResult<()> {
    scope.shard_write(|s| {
        let in_use = |what: String| AppError::Conflict {
            code: "media.in_use",
            message: format!("{what} uses this file"),
        };
        for (tid, t) in s.templates()? {
            if s.template_version(tid, t.latest)?
                .is_some_and(|v| v.media == Some(id))
            {
                return Err(in_use(format!("template {tid} ({})", t.name)));
            }
        }
        for (cid, c) in s.campaigns()? {
            if let Some(v) = c.version
                && s.template_version(c.template, v)?
                    .is_some_and(|v| v.media == Some(id))
            {
                return Err(in_use(format!(
                    "campaign {cid} ({}), pinned to version {v},",
                    c.name
                )));
            }
        }
        if !s.delete_media(id)? {
            return Err(AppError::NotFound("media"));
        }
        Ok(())
    })?;
    // The record is gone; a file left by a failed removal is only wasted space.
    if let Err(e) = std::fs::remove_file(dir.join(file_name(id))) {
        tracing::warn!(media = id.0, error = %e, "media file not removed");
    }
    Ok(())
}

/// An upload's temporary file, removed when dropped (once stored, it has been renamed away).
pub struct TempFile(pub PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A fresh temporary name in the media folder for an upload in progress.
pub fn temp_path(dir: &Path) -> PathBuf {
    dir.join(format!(".upload-{:016x}", rand::random::<u64>()))
}

/// A media file as the worker reads it from the tenant's folder and sends it.
pub fn worker_file(id: MediaId, m: MediaRec) -> crate::worker::telegram::MediaFile {
    use crate::worker::telegram::MediaKind;
    crate::worker::telegram::MediaFile {
        file: file_name(id),
        kind: match m.kind {
            MediaKindRec::Photo => MediaKind::Photo,
            MediaKindRec::Video => MediaKind::Video,
            MediaKindRec::Document => MediaKind::Document,
        },
        mime: m.mime,
        name: m.name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_checked_to_the_end_across_chunks() {
        let text = "Çay 20₺, kahve 60₺ ".repeat(1000);
        let bytes = text.as_bytes();
        // Cut in the middle of multi-byte characters, anywhere.
        for cut in [1, 2, 3, 7, 4096, bytes.len() - 1] {
            let mut t = TextCheck::default();
            t.feed(&bytes[..cut]);
            t.feed(&bytes[cut..]);
            assert!(t.is_text(), "cut at {cut}");
        }
        let mut elf = bytes.to_vec();
        elf.extend_from_slice(b"\x7fELF\x02\x01\x01\0\0\0");
        let mut t = TextCheck::default();
        t.feed(&elf[..8192]);
        t.feed(&elf[8192..]);
        assert!(!t.is_text());
        let mut t = TextCheck::default();
        t.feed("yarım ₺".as_bytes().split_last().unwrap().1);
        assert!(!t.is_text(), "a cut last character");
    }

    #[test]
    fn types_come_from_the_bytes() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        assert_eq!(
            sniff(png).unwrap(),
            (MediaKindRec::Photo, "image/png".into())
        );
        assert_eq!(
            sniff(b"%PDF-1.7\n").unwrap(),
            (MediaKindRec::Document, "application/pdf".into())
        );
        assert_eq!(
            sniff("Fiyat listesi: çay 20₺".as_bytes()).unwrap().1,
            "text/plain"
        );
        // An ELF executable and random binary are refused.
        assert!(sniff(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0").is_err());
        assert!(sniff(&[0xff, 0x00, 0x13, 0x37, 0x00]).is_err());
        assert!(clean_name("../etc/passwd").is_err());
        assert_eq!(clean_name(" menü.pdf ").unwrap(), "menü.pdf");
    }

    fn code(r: AppResult<(u32, u32)>) -> &'static str {
        match r {
            Err(AppError::Invalid { code, .. }) => code,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn photos_are_read_by_their_decoder() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, img: image::RgbImage, format| {
            let p = dir.path().join(name);
            img.save_with_format(&p, format).unwrap();
            p
        };
        let px = image::Rgb([10, 120, 200]);
        for (name, format, mime) in [
            ("a.png", image::ImageFormat::Png, "image/png"),
            ("a.jpg", image::ImageFormat::Jpeg, "image/jpeg"),
            ("a.webp", image::ImageFormat::WebP, "image/webp"),
        ] {
            let p = write(name, image::RgbImage::from_pixel(640, 480, px), format);
            assert_eq!(check_photo(&p, mime).unwrap(), (640, 480), "{name}");
        }
        // Telegram's limits: sides adding up past 10,000, or one 20 times the other.
        let wide = write(
            "w.png",
            image::RgbImage::from_pixel(9000, 1001, px),
            image::ImageFormat::Png,
        );
        assert_eq!(
            code(check_photo(&wide, "image/png")),
            "media.photo_dimensions"
        );
        let thin = write(
            "t.png",
            image::RgbImage::from_pixel(210, 10, px),
            image::ImageFormat::Png,
        );
        assert_eq!(
            code(check_photo(&thin, "image/png")),
            "media.photo_dimensions"
        );
        let ok = write(
            "o.png",
            image::RgbImage::from_pixel(200, 10, px),
            image::ImageFormat::Png,
        );
        assert!(check_photo(&ok, "image/png").is_ok());
        // A signature before an executable, or a JPEG named PNG, is refused.
        let fake = dir.path().join("fake.png");
        let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0".to_vec();
        bytes.extend_from_slice(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0");
        std::fs::write(&fake, bytes).unwrap();
        assert_eq!(code(check_photo(&fake, "image/png")), "media.bad_image");
        let jpg = dir.path().join("a.jpg");
        assert_eq!(code(check_photo(&jpg, "image/png")), "media.bad_image");
    }
}
