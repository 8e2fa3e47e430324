//! The backup file's bytes: a tar stream, plain (`.tar`, readable with `tar tf`), or sealed
//! with a passphrase (`.tar.sealed`) when it carries the master key. Sealing is the STREAM
//! construction over XChaCha20-Poly1305 in 64 KiB chunks, the key from Argon2id; a truncated,
//! reordered or altered chunk fails to open, and so does the last chunk missing.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use aead_stream::{DecryptorBE32, EncryptorBE32};
use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::XChaCha20Poly1305;
use chacha20poly1305::aead::Payload;
use zeroize::Zeroizing;

use sha2::{Digest, Sha256};

use super::{BackupError, Hashing, io_error};

/// The first bytes of a sealed backup.
pub const MAGIC: &[u8; 16] = b"botyard-sealed\x00\x01";
const CHUNK: usize = 64 * 1024;
const TAG: usize = 16;
const SALT: usize = 16;
const NONCE: usize = 19;
/// Magic, Argon2 memory (KiB), passes, lanes, salt, nonce prefix.
const HEADER: usize = MAGIC.len() + 12 + SALT + NONCE;
/// The shortest passphrase accepted for a backup that carries the master key.
pub const MIN_PASSPHRASE: usize = 12;

/// A passphrase for a sealed backup; wiped when dropped, never printed.
pub struct Passphrase(Zeroizing<String>);

impl Passphrase {
    /// Takes the first line of what was read (a file or the environment), refusing short ones.
    pub fn new(raw: &str) -> Result<Passphrase, BackupError> {
        let line = raw.lines().next().unwrap_or("").trim_end_matches('\r');
        if line.chars().count() < MIN_PASSPHRASE {
            return Err(BackupError::WeakPassphrase);
        }
        Ok(Passphrase(Zeroizing::new(line.to_string())))
    }
}

impl Passphrase {
    /// The passphrase itself, to hand to the server over its local socket.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passphrase(***)")
    }
}

struct KdfParams {
    m_kib: u32,
    t: u32,
    p: u32,
}

const KDF: KdfParams = KdfParams {
    m_kib: 64 * 1024,
    t: 3,
    p: 1,
};

fn derive(
    pass: &Passphrase,
    kdf: &KdfParams,
    salt: &[u8],
) -> Result<Zeroizing<[u8; 32]>, BackupError> {
    // Bounds a hostile header's demands before they cost memory or time.
    if kdf.m_kib > 1024 * 1024 || kdf.t > 64 || kdf.p == 0 || kdf.p > 16 {
        return Err(BackupError::NotABackup(
            "its key derivation settings are out of range",
        ));
    }
    let params = Params::new(kdf.m_kib, kdf.t, kdf.p, Some(32))
        .map_err(|_| BackupError::NotABackup("its key derivation settings are invalid"))?;
    let mut key = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(pass.0.as_bytes(), salt, &mut key[..])
        .map_err(|_| BackupError::NotABackup("its key derivation settings are invalid"))?;
    Ok(key)
}

/// Where the tar stream goes: the file, or the file through the sealer.
pub enum Sink<W: Write> {
    Plain(W),
    Sealed(Box<SealWriter<W>>),
}

impl<W: Write> Sink<W> {
    pub fn plain(w: W) -> Self {
        Sink::Plain(w)
    }

    pub fn sealed(mut w: W, pass: &Passphrase) -> Result<Self, BackupError> {
        let mut salt = [0u8; SALT];
        let mut nonce = [0u8; NONCE];
        rand::fill(&mut salt[..]);
        rand::fill(&mut nonce[..]);
        let key = derive(pass, &KDF, &salt)?;
        let mut header = Vec::with_capacity(HEADER);
        header.extend_from_slice(MAGIC);
        for n in [KDF.m_kib, KDF.t, KDF.p] {
            header.extend_from_slice(&n.to_be_bytes());
        }
        header.extend_from_slice(&salt);
        header.extend_from_slice(&nonce);
        w.write_all(&header)?;
        let enc = EncryptorBE32::<XChaCha20Poly1305>::new(&(*key).into(), &nonce.into());
        Ok(Sink::Sealed(Box::new(SealWriter {
            inner: w,
            enc: Some(enc),
            buf: Vec::with_capacity(CHUNK + 1),
            aad: header,
        })))
    }

    /// Ends the stream (the sealed one with its last chunk) and hands the file back.
    pub fn finish(self) -> io::Result<W> {
        match self {
            Sink::Plain(w) => Ok(w),
            Sink::Sealed(s) => s.finish(),
        }
    }
}

impl<W: Write> Write for Sink<W> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Plain(w) => w.write(b),
            Sink::Sealed(s) => s.write(b),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Plain(w) => w.flush(),
            Sink::Sealed(s) => s.flush(),
        }
    }
}

pub struct SealWriter<W: Write> {
    inner: W,
    enc: Option<EncryptorBE32<XChaCha20Poly1305>>,
    buf: Vec<u8>,
    aad: Vec<u8>,
}

fn sealing_failed() -> io::Error {
    io::Error::other("sealing the backup failed")
}

impl<W: Write> SealWriter<W> {
    fn finish(mut self) -> io::Result<W> {
        let enc = self.enc.take().ok_or_else(sealing_failed)?;
        let ct = enc
            .encrypt_last(Payload {
                msg: &self.buf,
                aad: &self.aad,
            })
            .map_err(|_| sealing_failed())?;
        self.inner.write_all(&ct)?;
        self.inner.flush()?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for SealWriter<W> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        // A chunk is sealed as "not last" only once a byte after it exists.
        let room = CHUNK + 1 - self.buf.len();
        let n = b.len().min(room);
        self.buf.extend_from_slice(&b[..n]);
        if self.buf.len() > CHUNK {
            let enc = self.enc.as_mut().ok_or_else(sealing_failed)?;
            let ct = enc
                .encrypt_next(Payload {
                    msg: &self.buf[..CHUNK],
                    aad: &self.aad,
                })
                .map_err(|_| sealing_failed())?;
            self.inner.write_all(&ct)?;
            self.buf.drain(..CHUNK);
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Reads a backup file's tar stream, opening a sealed one with the passphrase.
pub enum Source<R: Read> {
    /// The bytes read to look for the magic, put back in front.
    Plain(io::Chain<io::Cursor<Vec<u8>>, R>),
    Sealed(Box<OpenReader<R>>),
}

impl<R: Read> Read for Source<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        match self {
            Source::Plain(r) => r.read(out),
            Source::Sealed(r) => r.read(out),
        }
    }
}

impl<R: Read> Source<R> {
    /// Looks at the first bytes: a sealed backup needs `pass`, a plain one ignores it.
    pub fn open(mut r: R, pass: Option<&Passphrase>) -> Result<(Source<R>, bool), BackupError> {
        let mut head = [0u8; HEADER];
        let got = read_full(&mut r, &mut head)?;
        if got < MAGIC.len() || &head[..MAGIC.len()] != MAGIC {
            let prefix = io::Cursor::new(head[..got].to_vec());
            return Ok((Source::Plain(prefix.chain(r)), false));
        }
        if got < HEADER {
            return Err(BackupError::NotABackup("its header is cut short"));
        }
        let pass = pass.ok_or(BackupError::NeedsPassphrase)?;
        let num = |i: usize| {
            let o = MAGIC.len() + 4 * i;
            u32::from_be_bytes([head[o], head[o + 1], head[o + 2], head[o + 3]])
        };
        let kdf = KdfParams {
            m_kib: num(0),
            t: num(1),
            p: num(2),
        };
        let salt = &head[MAGIC.len() + 12..MAGIC.len() + 12 + SALT];
        let mut nonce = [0u8; NONCE];
        nonce.copy_from_slice(&head[HEADER - NONCE..]);
        let key = derive(pass, &kdf, salt)?;
        let dec = DecryptorBE32::<XChaCha20Poly1305>::new(&(*key).into(), &nonce.into());
        Ok((
            Source::Sealed(Box::new(OpenReader {
                inner: r,
                dec: Some(dec),
                ct: Vec::with_capacity(CHUNK + TAG + 1),
                plain: Vec::new(),
                at: 0,
                aad: head.to_vec(),
            })),
            true,
        ))
    }
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

pub struct OpenReader<R: Read> {
    inner: R,
    dec: Option<DecryptorBE32<XChaCha20Poly1305>>,
    ct: Vec<u8>,
    plain: Vec<u8>,
    at: usize,
    aad: Vec<u8>,
}

fn open_failed() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        "the sealed backup does not open: wrong passphrase, or the file is damaged or cut short",
    )
}

impl<R: Read> Read for OpenReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.at == self.plain.len() {
            let Some(dec) = self.dec.as_mut() else {
                return Ok(0);
            };
            let want = CHUNK + TAG + 1;
            let have = self.ct.len();
            self.ct.resize(want, 0);
            let got = read_full(&mut self.inner, &mut self.ct[have..])?;
            self.ct.truncate(have + got);
            if self.ct.len() > CHUNK + TAG {
                self.plain = dec
                    .decrypt_next(Payload {
                        msg: &self.ct[..CHUNK + TAG],
                        aad: &self.aad,
                    })
                    .map_err(|_| open_failed())?;
                self.ct.drain(..CHUNK + TAG);
            } else {
                let dec = self.dec.take().ok_or_else(open_failed)?;
                self.plain = dec
                    .decrypt_last(Payload {
                        msg: &self.ct,
                        aad: &self.aad,
                    })
                    .map_err(|_| open_failed())?;
                self.ct.clear();
            }
            self.at = 0;
        }
        let n = out.len().min(self.plain.len() - self.at);
        out[..n].copy_from_slice(&self.plain[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// A tar stream being written to a file (through the sealer when there is one).
pub struct TarWriter {
    tar: tar::Builder<Sink<BufWriter<File>>>,
    now: i64,
    at: PathBuf,
}

impl TarWriter {
    pub fn new(sink: Sink<BufWriter<File>>, now: i64, at: &Path) -> Self {
        TarWriter {
            tar: tar::Builder::new(sink),
            now,
            at: at.to_path_buf(),
        }
    }

    /// A tenant's media folder as `media/TENANT/NAME` entries, in name order; a file removed
    /// meanwhile is skipped.
    pub fn append_media_dir(
        &mut self,
        dir: &Path,
        tenant: u64,
    ) -> Result<Vec<super::manifest::Entry>, BackupError> {
        let mut out = Vec::new();
        let Ok(rd) = std::fs::read_dir(dir) else {
            return Ok(out);
        };
        let mut names: Vec<String> = rd
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        for name in names {
            let path = format!("media/{tenant}/{name}");
            if super::manifest::Place::parse(&path).is_none() {
                continue;
            }
            let Ok(f) = File::open(dir.join(&name)) else {
                continue;
            };
            let (bytes, sha256) = self.append(&path, f)?;
            out.push(super::manifest::Entry {
                path,
                bytes,
                sha256,
            });
        }
        Ok(out)
    }

    /// Ends the archive, flushes it to disk and returns the file's size.
    pub fn finish(self) -> Result<u64, BackupError> {
        let at = self.at;
        let sink = self.tar.into_inner().map_err(|e| io_error(&at, e))?;
        let out = sink.finish().map_err(|e| io_error(&at, e))?;
        let file = out
            .into_inner()
            .map_err(|e| io_error(&at, e.into_error()))?;
        file.sync_all().map_err(|e| io_error(&at, e))?;
        Ok(file.metadata().map_err(|e| io_error(&at, e))?.len())
    }

    /// Appends a file under `name`, returning its size and SHA-256.
    pub fn append(&mut self, name: &str, file: File) -> Result<(u64, String), BackupError> {
        let size = file.metadata().map_err(|e| io_error(&self.at, e))?.len();
        let mut h = tar::Header::new_gnu();
        h.set_size(size);
        h.set_mode(0o600);
        h.set_mtime(u64::try_from(self.now).unwrap_or(0));
        h.set_entry_type(tar::EntryType::Regular);
        let mut r = Hashing {
            inner: file.take(size),
            hash: Sha256::new(),
            bytes: 0,
        };
        self.tar
            .append_data(&mut h, name, &mut r)
            .map_err(|e| io_error(&self.at, e))?;
        if r.bytes != size {
            return Err(BackupError::Io {
                path: name.to_string(),
                source: io::Error::other("the file shrank while it was read"),
            });
        }
        Ok((size, hex::encode(r.hash.finalize())))
    }

    pub fn append_bytes(&mut self, name: &str, data: &[u8]) -> Result<(), BackupError> {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o600);
        h.set_mtime(u64::try_from(self.now).unwrap_or(0));
        h.set_entry_type(tar::EntryType::Regular);
        self.tar
            .append_data(&mut h, name, data)
            .map_err(|e| io_error(&self.at, e))
    }
}
