//! File formats: classic pcap and pcapng, read incrementally as packet records with their
//! link type and time. [`FileFormat::next`] takes the unread bytes and says what the first of
//! them are, so a file is read through a small buffer, never whole.

/// One packet as stored: its link type, capture time and captured bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Record<'a> {
    pub linktype: u32,
    /// Nanoseconds since 1970.
    pub time_ns: i128,
    pub data: &'a [u8],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endian {
    Little,
    Big,
}

pub(crate) fn u16_at(b: &[u8], off: usize, e: Endian) -> Option<u16> {
    let s: [u8; 2] = b.get(off..off.checked_add(2)?)?.try_into().ok()?;
    Some(match e {
        Endian::Little => u16::from_le_bytes(s),
        Endian::Big => u16::from_be_bytes(s),
    })
}

pub(crate) fn u32_at(b: &[u8], off: usize, e: Endian) -> Option<u32> {
    let s: [u8; 4] = b.get(off..off.checked_add(4)?)?.try_into().ok()?;
    Some(match e {
        Endian::Little => u32::from_le_bytes(s),
        Endian::Big => u32::from_be_bytes(s),
    })
}

pub(crate) fn be16(b: &[u8], off: usize) -> Option<u16> {
    u16_at(b, off, Endian::Big)
}

pub(crate) fn be32(b: &[u8], off: usize) -> Option<u32> {
    u32_at(b, off, Endian::Big)
}

pub(crate) const PCAPNG_SHB: u32 = 0x0A0D_0D0A;

/// The largest record or block read (pcap's and pcapng's own limits are far lower in
/// practice, 256 KiB a packet): a length beyond it is damage, not a reason to buffer the file.
pub(crate) const MAX_RECORD: usize = 64 << 20;

/// What the unread bytes start with.
#[derive(Debug)]
pub(crate) enum Next<'b> {
    /// A packet record, and how many bytes it took.
    Packet(Record<'b>, usize),
    /// Bytes that hold no packet (a file header, another block type), to pass over.
    Skip(usize),
    /// The next record is not all there yet: more bytes are needed.
    NeedMore,
    /// The end: of the file, or of what can be read of it (a note says why).
    End,
}

#[derive(Debug, Clone, Copy)]
struct Interface {
    linktype: u32,
    snaplen: u32,
    /// Timestamp units per second (`if_tsresol`; 10^6 by default).
    units_per_second: i128,
}

impl Interface {
    fn time_ns(&self, units: u64) -> i128 {
        i128::from(units).saturating_mul(1_000_000_000) / self.units_per_second.max(1)
    }
}

#[derive(Debug)]
enum State {
    /// Before the file header.
    Start,
    /// `frac_ns`: nanoseconds per unit of the records' fraction field (1000 for microseconds).
    Pcap {
        e: Endian,
        frac_ns: i128,
        linktype: u32,
    },
    Pcapng {
        e: Endian,
        interfaces: Vec<Interface>,
    },
    Ended,
}

/// The reading of one file: its format once known, where it is, and the last packet's time
/// (pcapng's simple packets have none of their own).
#[derive(Debug)]
pub(crate) struct FileFormat {
    state: State,
    /// File offset of the next unread byte.
    at: usize,
    last_time_ns: i128,
    packets: usize,
}

impl FileFormat {
    pub(crate) fn new() -> Self {
        Self { state: State::Start, at: 0, last_time_ns: 0, packets: 0 }
    }

    /// Packet records read so far (the last one's number).
    pub(crate) fn packets(&self) -> usize {
        self.packets
    }

    /// What `buf` (the unread bytes; `eof` when no more will come) starts with. Damage ends
    /// the reading with a note.
    ///
    /// # Errors
    /// Only for a file whose header says it is no capture this reader understands.
    pub(crate) fn next<'b>(&mut self, buf: &'b [u8], eof: bool, notes: &mut Vec<String>) -> Result<Next<'b>, String> {
        let next = match &self.state {
            State::Start => self.header(buf, eof)?,
            State::Pcap { .. } => self.pcap_record(buf, eof, notes),
            State::Pcapng { .. } => self.pcapng_block(buf, eof, notes)?,
            State::Ended => Next::End,
        };
        match &next {
            Next::Packet(r, n) => {
                self.at += n;
                self.packets += 1;
                self.last_time_ns = r.time_ns;
            }
            Next::Skip(n) => self.at += n,
            Next::End => self.state = State::Ended,
            Next::NeedMore => {}
        }
        Ok(next)
    }

    fn header<'b>(&mut self, buf: &'b [u8], eof: bool) -> Result<Next<'b>, String> {
        let Some(magic) = be32(buf, 0) else {
            return if eof { Err("shorter than a capture file header".into()) } else { Ok(Next::NeedMore) };
        };
        let (e, frac_ns) = match magic {
            0xA1B2_C3D4 => (Endian::Big, 1000),
            0xA1B2_3C4D => (Endian::Big, 1),
            0xD4C3_B2A1 => (Endian::Little, 1000),
            0x4D3C_B2A1 => (Endian::Little, 1),
            PCAPNG_SHB => {
                self.state = State::Pcapng { e: Endian::Little, interfaces: Vec::new() };
                return Ok(Next::Skip(0));
            }
            _ => return Err(format!("not a pcap or pcapng file (magic {magic:08x})")),
        };
        let Some(network) = u32_at(buf, 20, e) else {
            return if eof { Err("pcap file header truncated".into()) } else { Ok(Next::NeedMore) };
        };
        // The upper bits may carry FCS information (pcap-savefile); the link type is the low 16.
        let linktype = network & 0xFFFF;
        if !crate::layers::linktype_supported(linktype) {
            return Err(format!("unsupported pcap link type {linktype}"));
        }
        self.state = State::Pcap { e, frac_ns, linktype };
        Ok(Next::Skip(24))
    }

    fn pcap_record<'b>(&self, buf: &'b [u8], eof: bool, notes: &mut Vec<String>) -> Next<'b> {
        let State::Pcap { e, frac_ns, linktype } = self.state else { return Next::End };
        if buf.is_empty() && eof {
            return Next::End;
        }
        let incl = u32_at(buf, 8, e).map(|n| n as usize);
        let data = incl.filter(|&n| n <= MAX_RECORD).and_then(|n| buf.get(16..16 + n));
        let Some(data) = data else {
            if !eof && incl.is_none_or(|n| n <= MAX_RECORD) {
                return Next::NeedMore;
            }
            notes.push(format!("pcap record {} truncated at byte {}: reading stopped", self.packets + 1, self.at));
            return Next::End;
        };
        let secs = u32_at(buf, 0, e).map_or(0, i128::from);
        let frac = u32_at(buf, 4, e).map_or(0, i128::from);
        Next::Packet(Record { linktype, time_ns: secs * 1_000_000_000 + frac * frac_ns, data }, 16 + data.len())
    }

    fn pcapng_block<'b>(&mut self, buf: &'b [u8], eof: bool, notes: &mut Vec<String>) -> Result<Next<'b>, String> {
        let off = self.at;
        let first = off == 0;
        let State::Pcapng { e, interfaces } = &mut self.state else { return Ok(Next::End) };
        if buf.is_empty() && eof {
            if let Some(i) = interfaces.iter().find(|i| !crate::layers::linktype_supported(i.linktype)) {
                notes.push(format!("pcapng interface with unsupported link type {}: its packets skipped", i.linktype));
            }
            return Ok(Next::End);
        }
        // The block type reads the same in both byte orders only for the SHB, which sets the order.
        let Some(raw_type) = be32(buf, 0) else {
            return Ok(if eof {
                notes.push(format!("pcapng: {} stray byte(s) at the end", buf.len()));
                Next::End
            } else {
                Next::NeedMore
            });
        };
        if raw_type == PCAPNG_SHB {
            match be32(buf, 8) {
                Some(0x1A2B_3C4D) => *e = Endian::Big,
                Some(0x4D3C_2B1A) => *e = Endian::Little,
                None if !eof => return Ok(Next::NeedMore),
                _ if first => return Err("pcapng section header: bad byte-order magic".into()),
                _ => {
                    notes.push(format!("pcapng section header at byte {off}: bad byte-order magic: reading stopped"));
                    return Ok(Next::End);
                }
            }
            interfaces.clear();
        }
        let e = *e;
        let (Some(btype), Some(len)) = (u32_at(buf, 0, e), u32_at(buf, 4, e)) else {
            return Ok(if eof {
                notes.push(format!("pcapng block at byte {off} truncated: reading stopped"));
                Next::End
            } else {
                Next::NeedMore
            });
        };
        let len = len as usize;
        let sane = (12..=MAX_RECORD).contains(&len) && len & 3 == 0;
        let Some(block) = buf.get(..len).filter(|_| sane) else {
            if sane && !eof {
                return Ok(Next::NeedMore);
            }
            if first {
                return Err(format!("pcapng section header has a bad length {len}"));
            }
            notes.push(format!(
                "pcapng block at byte {off} (type {btype:#x}, length {len}) is damaged: reading stopped"
            ));
            return Ok(Next::End);
        };
        if u32_at(block, len - 4, e) != Some(len as u32) {
            notes.push(format!("pcapng block at byte {off}: trailing length differs: reading stopped"));
            return Ok(Next::End);
        }
        let body = &block[8..len - 4];
        let State::Pcapng { interfaces, .. } = &mut self.state else { return Ok(Next::End) };
        Ok(match btype {
            1 => {
                let (Some(lt), Some(snaplen)) = (u16_at(body, 0, e), u32_at(body, 4, e)) else {
                    notes.push(format!("pcapng interface block at byte {off} truncated: reading stopped"));
                    return Ok(Next::End);
                };
                let units_per_second = units_per_second(body.get(8..).unwrap_or_default(), e);
                interfaces.push(Interface { linktype: u32::from(lt), snaplen, units_per_second });
                Next::Skip(len)
            }
            // Enhanced packet block, and the obsolete packet block (16-bit interface id).
            6 | 2 => {
                let ifid = if btype == 6 { u32_at(body, 0, e) } else { u16_at(body, 0, e).map(u32::from) };
                let caplen = u32_at(body, 12, e).map(|n| n as usize);
                let data = caplen.and_then(|n| body.get(20..20usize.checked_add(n)?));
                match (ifid.and_then(|i| interfaces.get(i as usize)), data) {
                    (Some(iface), Some(data)) => {
                        let high = u32_at(body, 4, e).map_or(0, u64::from);
                        let low = u32_at(body, 8, e).map_or(0, u64::from);
                        let time_ns = iface.time_ns(high << 32 | low);
                        Next::Packet(Record { linktype: iface.linktype, time_ns, data }, len)
                    }
                    (None, _) => {
                        notes.push(format!(
                            "pcapng packet at byte {off} names an undeclared interface: reading stopped"
                        ));
                        Next::End
                    }
                    (_, None) => {
                        notes.push(format!("pcapng packet at byte {off} is shorter than its length: skipped"));
                        Next::Skip(len)
                    }
                }
            }
            // Simple packet block: interface 0, captured length = min(original, snaplen, room).
            3 => {
                let Some(iface) = interfaces.first() else {
                    notes.push(format!("pcapng simple packet at byte {off} before any interface: reading stopped"));
                    return Ok(Next::End);
                };
                let orig = u32_at(body, 0, e).map_or(0, |n| n as usize);
                let mut caplen = orig.min(body.len().saturating_sub(4));
                if iface.snaplen != 0 {
                    caplen = caplen.min(iface.snaplen as usize);
                }
                // No timestamp in a simple packet block: it counts as the one before it.
                match body.get(4..4 + caplen) {
                    Some(data) => {
                        Next::Packet(Record { linktype: iface.linktype, time_ns: self.last_time_ns, data }, len)
                    }
                    None => Next::Skip(len),
                }
            }
            _ => Next::Skip(len),
        })
    }
}

/// The `if_tsresol` option (code 9) of an interface block's options, as units per second:
/// 10^n, or 2^n when the top bit is set (pcapng 4.2).
fn units_per_second(options: &[u8], e: Endian) -> i128 {
    let mut off = 0usize;
    while let (Some(code), Some(len)) = (u16_at(options, off, e), u16_at(options, off + 2, e)) {
        let len = usize::from(len);
        if code == 0 {
            break;
        }
        if code == 9 && len == 1 {
            return match options.get(off + 4) {
                Some(&r) if r & 0x80 != 0 => 1i128.checked_shl(u32::from(r & 0x7F)).filter(|&v| v > 0),
                Some(&r) => 10i128.checked_pow(u32::from(r)),
                None => None,
            }
            .unwrap_or(1_000_000);
        }
        off += 4 + len.div_ceil(4) * 4;
    }
    1_000_000
}
