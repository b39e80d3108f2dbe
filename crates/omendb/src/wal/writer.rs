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
        self.file
            .append(&self.buf)
            .map_err(|e| Error::io(&self.name, e))?;
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

    /// Bytes in the file.
    pub fn len(&self) -> u64 {
        self.file.len()
    }

    /// True when the file holds nothing (not even its header).
    pub fn is_empty(&self) -> bool {
        self.file.is_empty()
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
