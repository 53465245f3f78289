//! File formats: classic pcap and pcapng, as packet records with their link type and time.

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

pub(crate) fn packet_records<'a>(bytes: &'a [u8], notes: &mut Vec<String>) -> Result<Vec<Record<'a>>, String> {
    let magic = be32(bytes, 0).ok_or("shorter than a capture file header")?;
    match magic {
        0xA1B2_C3D4 => pcap_records(bytes, Endian::Big, 1000, notes),
        0xA1B2_3C4D => pcap_records(bytes, Endian::Big, 1, notes),
        0xD4C3_B2A1 => pcap_records(bytes, Endian::Little, 1000, notes),
        0x4D3C_B2A1 => pcap_records(bytes, Endian::Little, 1, notes),
        PCAPNG_SHB => pcapng_records(bytes, notes),
        _ => Err(format!("not a pcap or pcapng file (magic {magic:08x})")),
    }
}

/// `frac_ns`: nanoseconds per unit of the records' fraction field (1000 for microseconds).
fn pcap_records<'a>(
    bytes: &'a [u8],
    e: Endian,
    frac_ns: i128,
    notes: &mut Vec<String>,
) -> Result<Vec<Record<'a>>, String> {
    let network = u32_at(bytes, 20, e).ok_or("pcap file header truncated")?;
    // The upper bits may carry FCS information (pcap-savefile); the link type is the low 16.
    let linktype = network & 0xFFFF;
    if !crate::layers::linktype_supported(linktype) {
        return Err(format!("unsupported pcap link type {linktype}"));
    }
    let mut out = Vec::new();
    let mut off = 24usize;
    while off < bytes.len() {
        let incl = u32_at(bytes, off + 8, e).map(|n| n as usize);
        let data = incl.and_then(|n| bytes.get(off + 16..(off + 16).checked_add(n)?));
        let Some(data) = data else {
            notes.push(format!("pcap record {} truncated at byte {off}: reading stopped", out.len() + 1));
            break;
        };
        let secs = u32_at(bytes, off, e).map_or(0, i128::from);
        let frac = u32_at(bytes, off + 4, e).map_or(0, i128::from);
        out.push(Record { linktype, time_ns: secs * 1_000_000_000 + frac * frac_ns, data });
        off += 16 + data.len();
    }
    Ok(out)
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

fn pcapng_records<'a>(bytes: &'a [u8], notes: &mut Vec<String>) -> Result<Vec<Record<'a>>, String> {
    let mut out = Vec::new();
    let mut e = Endian::Little;
    let mut interfaces: Vec<Interface> = Vec::new();
    let mut off = 0usize;
    while off < bytes.len() {
        // The block type reads the same in both byte orders only for the SHB, which sets the order.
        let Some(raw_type) = be32(bytes, off) else {
            notes.push(format!("pcapng: {} stray byte(s) at the end", bytes.len() - off));
            break;
        };
        if raw_type == PCAPNG_SHB {
            e = match be32(bytes, off + 8) {
                Some(0x1A2B_3C4D) => Endian::Big,
                Some(0x4D3C_2B1A) => Endian::Little,
                _ => return Err(format!("pcapng section header at byte {off}: bad byte-order magic")),
            };
            interfaces.clear();
        }
        let (Some(btype), Some(len)) = (u32_at(bytes, off, e), u32_at(bytes, off + 4, e)) else {
            notes.push(format!("pcapng block at byte {off} truncated: reading stopped"));
            break;
        };
        let len = len as usize;
        let block =
            if len >= 12 && len & 3 == 0 { off.checked_add(len).and_then(|end| bytes.get(off..end)) } else { None };
        let Some(block) = block else {
            if out.is_empty() && btype == PCAPNG_SHB && off == 0 {
                return Err(format!("pcapng section header has a bad length {len}"));
            }
            notes.push(format!(
                "pcapng block at byte {off} (type {btype:#x}, length {len}) is damaged: reading stopped"
            ));
            break;
        };
        if u32_at(block, len - 4, e) != Some(len as u32) {
            notes.push(format!("pcapng block at byte {off}: trailing length differs: reading stopped"));
            break;
        }
        let body = &block[8..len - 4];
        match btype {
            1 => {
                let (Some(lt), Some(snaplen)) = (u16_at(body, 0, e), u32_at(body, 4, e)) else {
                    return Err(format!("pcapng interface block at byte {off} truncated"));
                };
                let units_per_second = units_per_second(body.get(8..).unwrap_or_default(), e);
                interfaces.push(Interface { linktype: u32::from(lt), snaplen, units_per_second });
            }
            // Enhanced packet block, and the obsolete packet block (16-bit interface id).
            6 | 2 => {
                let ifid = if btype == 6 { u32_at(body, 0, e) } else { u16_at(body, 0, e).map(u32::from) };
                let caplen = u32_at(body, 12, e).map(|n| n as usize);
                let data = caplen.and_then(|n| body.get(20..20usize.checked_add(n)?));
                let iface = ifid.and_then(|i| interfaces.get(i as usize));
                match (iface, data) {
                    (Some(iface), Some(data)) => {
                        let high = u32_at(body, 4, e).map_or(0, u64::from);
                        let low = u32_at(body, 8, e).map_or(0, u64::from);
                        let time_ns = iface.time_ns(high << 32 | low);
                        out.push(Record { linktype: iface.linktype, time_ns, data });
                    }
                    (None, _) => return Err(format!("pcapng packet at byte {off} names an undeclared interface")),
                    (_, None) => notes.push(format!("pcapng packet at byte {off} is shorter than its length: skipped")),
                }
            }
            // Simple packet block: interface 0, captured length = min(original, snaplen, room).
            3 => {
                let iface =
                    interfaces.first().ok_or(format!("pcapng simple packet at byte {off} before any interface"))?;
                let orig = u32_at(body, 0, e).map_or(0, |n| n as usize);
                let mut caplen = orig.min(body.len().saturating_sub(4));
                if iface.snaplen != 0 {
                    caplen = caplen.min(iface.snaplen as usize);
                }
                // No timestamp in a simple packet block: it counts as the one before it.
                let time_ns = out.last().map_or(0, |r: &Record<'_>| r.time_ns);
                if let Some(data) = body.get(4..4 + caplen) {
                    out.push(Record { linktype: iface.linktype, time_ns, data });
                }
            }
            _ => {}
        }
        off += len;
    }
    if let Some(i) = interfaces.iter().find(|i| !crate::layers::linktype_supported(i.linktype)) {
        notes.push(format!("pcapng interface with unsupported link type {}: its packets skipped", i.linktype));
    }
    Ok(out)
}
