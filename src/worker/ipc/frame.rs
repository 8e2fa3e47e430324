//! Length-prefixed, sequence-numbered frames over the supervisor ↔ worker socket.
//!
//! Wire format: `u32` big-endian body length, then the body: postcard of `(seq, message)`.
//! Each direction numbers its frames from 0; a frame with any other number than the next one
//! is out of order. A peer that sends an oversized, undecodable or out-of-order frame is cut
//! off: the reader returns an error and never panics on what it read.

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Largest frame body, in bytes. Session material and event batches fit well below it.
pub const MAX_FRAME: usize = 1 << 20;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FrameError {
    #[error("peer closed the connection")]
    Closed,
    #[error("frame of {0} bytes is over the limit of {MAX_FRAME}")]
    TooLarge(usize),
    #[error("frame does not decode: {0}")]
    Decode(String),
    #[error("frame {got} out of order, expected {expected}")]
    OutOfOrder { expected: u64, got: u64 },
    #[error("i/o: {0}")]
    Io(String),
}

fn encode<T: Serialize>(seq: u64, msg: &T) -> Result<Vec<u8>, FrameError> {
    let mut buf = vec![0u8; 4];
    let body = postcard::to_extend(&(seq, msg), Vec::new())
        .map_err(|e| FrameError::Decode(format!("encode: {e}")))?;
    if body.len() > MAX_FRAME {
        return Err(FrameError::TooLarge(body.len()));
    }
    buf.extend_from_slice(&body);
    let len = (body.len() as u32).to_be_bytes();
    buf[..4].copy_from_slice(&len);
    Ok(buf)
}

fn decode<T: DeserializeOwned>(body: &[u8], expected: u64) -> Result<T, FrameError> {
    let ((seq, msg), rest): ((u64, T), &[u8]) =
        postcard::take_from_bytes(body).map_err(|e| FrameError::Decode(e.to_string()))?;
    if !rest.is_empty() {
        return Err(FrameError::Decode(format!("{} trailing bytes", rest.len())));
    }
    if seq != expected {
        return Err(FrameError::OutOfOrder { expected, got: seq });
    }
    Ok(msg)
}

fn check_len(header: [u8; 4]) -> Result<usize, FrameError> {
    let len = u32::from_be_bytes(header) as usize;
    if len > MAX_FRAME {
        return Err(FrameError::TooLarge(len));
    }
    Ok(len)
}

fn io(e: std::io::Error) -> FrameError {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        FrameError::Closed
    } else {
        FrameError::Io(e.to_string())
    }
}

/// Reads frames of one direction.
pub struct FrameReader<R> {
    inner: R,
    next_seq: u64,
    buf: Vec<u8>,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    pub fn new(inner: R) -> Self {
        FrameReader {
            inner,
            next_seq: 0,
            buf: Vec::new(),
        }
    }

    /// Continues a stream whose first `next_seq` frames were read elsewhere (the worker reads
    /// its first frame before starting a runtime).
    pub fn resume(inner: R, next_seq: u64) -> Self {
        FrameReader {
            inner,
            next_seq,
            buf: Vec::new(),
        }
    }

    /// The next message; `Err(Closed)` at a clean end of stream.
    pub async fn next<T: DeserializeOwned>(&mut self) -> Result<T, FrameError> {
        let mut header = [0u8; 4];
        self.inner.read_exact(&mut header).await.map_err(io)?;
        let len = check_len(header)?;
        self.buf.resize(len, 0);
        self.inner.read_exact(&mut self.buf).await.map_err(io)?;
        let msg = decode(&self.buf, self.next_seq)?;
        self.next_seq += 1;
        if self.buf.capacity() > 64 * 1024 {
            self.buf = Vec::new();
        }
        Ok(msg)
    }
}

impl<R: AsyncRead + Unpin + Send + 'static> FrameReader<R> {
    /// Reads on a task of its own and hands over whole messages: `next` is not cancel-safe,
    /// so a `select!` must wait on the channel instead. The last item is the error that
    /// ended the stream.
    pub fn spawn<T: DeserializeOwned + Send + 'static>(
        mut self,
    ) -> (
        tokio::sync::mpsc::Receiver<Result<T, FrameError>>,
        tokio::task::JoinHandle<()>,
    ) {
        let (tx, rx) = tokio::sync::mpsc::channel(16);
        let task = tokio::spawn(async move {
            loop {
                let m = self.next::<T>().await;
                let end = m.is_err();
                if tx.send(m).await.is_err() || end {
                    break;
                }
            }
        });
        (rx, task)
    }
}

/// Writes frames of one direction.
pub struct FrameWriter<W> {
    inner: W,
    next_seq: u64,
}

impl<W: AsyncWrite + Unpin> FrameWriter<W> {
    pub fn new(inner: W) -> Self {
        FrameWriter { inner, next_seq: 0 }
    }

    pub fn resume(inner: W, next_seq: u64) -> Self {
        FrameWriter { inner, next_seq }
    }

    pub async fn send<T: Serialize>(&mut self, msg: &T) -> Result<(), FrameError> {
        let bytes = encode(self.next_seq, msg)?;
        self.inner.write_all(&bytes).await.map_err(io)?;
        self.inner.flush().await.map_err(io)?;
        self.next_seq += 1;
        Ok(())
    }
}

/// Blocking read of frame number `seq`, for the worker's first frame (read before any thread
/// or runtime exists).
pub fn read_blocking<T: DeserializeOwned>(
    r: &mut impl std::io::Read,
    seq: u64,
) -> Result<T, FrameError> {
    let mut header = [0u8; 4];
    r.read_exact(&mut header).map_err(io)?;
    let len = check_len(header)?;
    let mut buf = vec![0u8; len];
    r.read_exact(&mut buf).map_err(io)?;
    decode(&buf, seq)
}

/// Blocking write of frame number `seq`.
pub fn write_blocking<T: Serialize>(
    w: &mut impl std::io::Write,
    seq: u64,
    msg: &T,
) -> Result<(), FrameError> {
    let bytes = encode(seq, msg)?;
    w.write_all(&bytes).map_err(io)?;
    w.flush().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    enum Msg {
        Hello { version: u16 },
        Data(Vec<u8>),
        Text(String),
    }

    #[tokio::test]
    async fn round_trip_in_order() {
        let (a, b) = tokio::net::UnixStream::pair().unwrap();
        let mut w = FrameWriter::new(a);
        let mut r = FrameReader::new(b);
        w.send(&Msg::Hello { version: 1 }).await.unwrap();
        w.send(&Msg::Text("merhaba dünya".into())).await.unwrap();
        w.send(&Msg::Data(vec![7; 100_000])).await.unwrap();
        assert_eq!(r.next::<Msg>().await.unwrap(), Msg::Hello { version: 1 });
        assert_eq!(
            r.next::<Msg>().await.unwrap(),
            Msg::Text("merhaba dünya".into())
        );
        assert_eq!(r.next::<Msg>().await.unwrap(), Msg::Data(vec![7; 100_000]));
        drop(w);
        assert_eq!(r.next::<Msg>().await.unwrap_err(), FrameError::Closed);
    }

    async fn hostile(bytes: Vec<u8>) -> FrameError {
        let (mut a, b) = tokio::net::UnixStream::pair().unwrap();
        let mut r = FrameReader::new(b);
        let writer = tokio::spawn(async move {
            let _ = a.write_all(&bytes).await;
            drop(a);
        });
        let e = r.next::<Msg>().await.unwrap_err();
        writer.await.unwrap();
        e
    }

    #[tokio::test]
    async fn hostile_frames_are_errors_not_panics() {
        // Oversized length: refused before reading the body.
        assert_eq!(
            hostile(u32::MAX.to_be_bytes().to_vec()).await,
            FrameError::TooLarge(u32::MAX as usize)
        );
        // Garbage body.
        let mut g = 5u32.to_be_bytes().to_vec();
        g.extend([0xff, 0xff, 0xff, 0xff, 0xff]);
        assert!(matches!(hostile(g).await, FrameError::Decode(_)));
        // Truncated: header says 100, stream ends after 3.
        let mut t = 100u32.to_be_bytes().to_vec();
        t.extend([1, 2, 3]);
        assert_eq!(hostile(t).await, FrameError::Closed);
        // Well-formed but out of order (seq 5 as the first frame).
        assert_eq!(
            hostile(encode(5, &Msg::Hello { version: 1 }).unwrap()).await,
            FrameError::OutOfOrder {
                expected: 0,
                got: 5
            }
        );
        // Trailing bytes inside a frame.
        let mut e = encode(0, &Msg::Hello { version: 1 }).unwrap();
        e.push(0);
        let len = (e.len() - 4) as u32;
        e[..4].copy_from_slice(&len.to_be_bytes());
        assert!(matches!(hostile(e).await, FrameError::Decode(_)));
        // A well-formed frame of another message type.
        assert!(matches!(
            hostile(encode(0, &(9u8, 2u8, 3u8)).unwrap()).await,
            FrameError::Decode(_)
        ));
    }

    #[test]
    fn blocking_first_frame_then_async_resume() {
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        let mut a2 = a.try_clone().unwrap();
        write_blocking(&mut a2, 0, &Msg::Hello { version: 1 }).unwrap();
        write_blocking(&mut a2, 1, &Msg::Text("ikinci".into())).unwrap();
        let mut b2 = b.try_clone().unwrap();
        assert_eq!(
            read_blocking::<Msg>(&mut b2, 0).unwrap(),
            Msg::Hello { version: 1 }
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            b.set_nonblocking(true).unwrap();
            let mut r = FrameReader::resume(tokio::net::UnixStream::from_std(b).unwrap(), 1);
            assert_eq!(r.next::<Msg>().await.unwrap(), Msg::Text("ikinci".into()));
        });
        assert!(encode(0, &Msg::Data(vec![0; MAX_FRAME + 1])).is_err());
    }
}
