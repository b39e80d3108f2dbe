//! Appending records to the newest log.

use super::format::{encode_payload, LogHeader, RecordHeader, MAX_PAYLOAD_LEN, RECORD_HEADER_LEN};
use crate::batch::BatchOp;
use crate::error::{Error, Result};
use crate::storage::{Storage, StorageFile};
use alex::Key;

/// The open, newest log file.
#[derive(Debug)]
pub struct LogWriter {
    file: Box<dyn StorageFile>,
    name: String,
    log_number: u64,
    next_seq: u64,
    /// Bytes of header and records; the file may run on in zeros past it.
    end: u64,
    /// Bytes of zeros the file is extended by ahead of its records (0: none). Records
    /// are then written over blocks the file already has, so a commit's fdatasync
    /// flushes the record's pages and no change of the file's size or allocation;
    /// recovery drops a zero tail as torn.
    preallocate: u64,
    buf: Vec<u8>,
}

impl LogWriter {
    /// Creates log `header.log_number` with its header, syncs it and the directory.
    pub fn create(storage: &dyn Storage, header: LogHeader) -> Result<Self> {
        let name = super::log_name(header.log_number);
        let mut file = storage.create(&name).map_err(|e| Error::io(&name, e))?;
        file.append(&header.encode())
            .map_err(|e| Error::io(&name, e))?;
        file.sync().map_err(|e| Error::io(&name, e))?;
        storage.sync_dir().map_err(|e| Error::io("directory", e))?;
        Ok(Self {
            file,
            name,
            log_number: header.log_number,
            next_seq: header.start_seq,
            end: super::format::LOG_HEADER_LEN as u64,
            preallocate: 0,
            buf: Vec::new(),
        })
    }

    /// Reopens a log whose first `valid_len` bytes were validated, cutting off (and
    /// syncing away) any torn tail beyond them.
    pub fn reopen(
        storage: &dyn Storage,
        log_number: u64,
        valid_len: u64,
        next_seq: u64,
    ) -> Result<Self> {
        let name = super::log_name(log_number);
        let mut file = storage.open(&name).map_err(|e| Error::io(&name, e))?;
        if file.len() != valid_len {
            file.set_len(valid_len).map_err(|e| Error::io(&name, e))?;
            file.sync().map_err(|e| Error::io(&name, e))?;
        }
        Ok(Self {
            file,
            name,
            log_number,
            next_seq,
            end: valid_len,
            preallocate: 0,
            buf: Vec::new(),
        })
    }

    /// Appends one record holding `batches` (not synced). Returns the sequence number of
    /// the first batch.
    pub fn append<'a, K: Key>(
        &mut self,
        batches: impl ExactSizeIterator<Item = &'a [BatchOp<K>]>,
    ) -> Result<u64> {
        let count = batches.len() as u64;
        self.buf.clear();
        self.buf.resize(RECORD_HEADER_LEN, 0);
        encode_payload(batches, &mut self.buf);
        let payload_len = self.buf.len() - RECORD_HEADER_LEN;
        if payload_len > MAX_PAYLOAD_LEN as usize {
            return Err(Error::TooLarge(format!(
                "a commit of {payload_len} bytes exceeds the log record limit of {MAX_PAYLOAD_LEN}"
            )));
        }
        let header = RecordHeader {
            payload_len: payload_len as u32,
            seq: self.next_seq,
            payload_crc: crc32c::crc32c(&self.buf[RECORD_HEADER_LEN..]),
        };
        self.buf[..RECORD_HEADER_LEN].copy_from_slice(&header.encode());
        let len = self.buf.len() as u64;
        if self.preallocate > 0 && self.end + len > self.file.len() {
            // Zeros ahead of the records, written once (see `preallocate`).
            let grow = (self.end + len - self.file.len()).max(self.preallocate);
            let zeros = vec![0u8; grow as usize];
            let at = self.file.len();
            self.file
                .write_at(at, &zeros)
                .map_err(|e| Error::io(&self.name, e))?;
        }
        self.file
            .write_at(self.end, &self.buf)
            .map_err(|e| Error::io(&self.name, e))?;
        self.end += len;
        let seq = self.next_seq;
        self.next_seq += count;
        if self.buf.capacity() > 16 << 20 {
            self.buf = Vec::new();
        }
        Ok(seq)
    }

    /// Makes every appended record durable.
    pub fn sync(&mut self) -> Result<()> {
        self.file.sync().map_err(|e| Error::io(&self.name, e))
    }

    /// Extends the file by `bytes` of zeros at a time ahead of its records (0: never).
    pub fn preallocating(mut self, bytes: u64) -> Self {
        self.preallocate = bytes;
        self
    }

    /// Bytes of header and records (the zeros written ahead of them not counted).
    pub fn len(&self) -> u64 {
        self.end
    }

    /// True when the file holds nothing (not even its header).
    pub fn is_empty(&self) -> bool {
        self.end == 0
    }

    /// Cuts the zeros ahead of the records off and syncs: a log that a newer one
    /// follows must end at its last record (only the newest log may have a torn tail).
    pub fn seal(&mut self) -> Result<()> {
        if self.file.len() != self.end {
            self.file
                .set_len(self.end)
                .map_err(|e| Error::io(&self.name, e))?;
        }
        self.sync()
    }

    /// Number of this log.
    pub fn log_number(&self) -> u64 {
        self.log_number
    }

    /// Sequence number the next batch gets.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// File name.
    pub fn name(&self) -> &str {
        &self.name
    }
}
