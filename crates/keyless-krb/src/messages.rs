//! RFC 4120 message plumbing on top of rasn-kerberos: message and padata type numbers, the
//! 32-bit KerberosFlags, the local ASN.1 types rasn-kerberos lacks (PA-PAC-REQUEST, MS-KILE
//! 2.2.3), and the decoding of whatever a KDC sends back.

use crate::Error;
use crate::error::KrbErrorCode;
use rasn::prelude::*;
use rasn_kerberos::{
    AsRep, AsReq, EncAsRepPart, EncKdcRepPart, EncTgsRepPart, KdcReq, KerberosFlags, KrbError, PaData, TgsRep, TgsReq,
};

/// Protocol version number (RFC 4120 5.1).
pub const PVNO: i32 = 5;

keyless_wire_enum::wire_enum! {
    /// msg-type numbers (RFC 4120 5.10).
    pub struct MsgType(i32) {
        /// AS-REQ.
        AS_REQ = 10 => "AS-REQ",
        /// AS-REP.
        AS_REP = 11 => "AS-REP",
        /// TGS-REQ.
        TGS_REQ = 12 => "TGS-REQ",
        /// TGS-REP.
        TGS_REP = 13 => "TGS-REP",
        /// AP-REQ.
        AP_REQ = 14 => "AP-REQ",
        /// AP-REP.
        AP_REP = 15 => "AP-REP",
        /// KRB-CRED.
        KRB_CRED = 22 => "KRB-CRED",
        /// KRB-ERROR.
        KRB_ERROR = 30 => "KRB-ERROR",
    }
}

keyless_wire_enum::wire_enum! {
    /// padata-type numbers (RFC 4120 7.5.2, MS-KILE).
    pub struct PaType(i32) {
        /// PA-TGS-REQ: the AP-REQ of a TGS request.
        TGS_REQ = 1 => "PA-TGS-REQ",
        /// PA-ENC-TIMESTAMP.
        ENC_TIMESTAMP = 2 => "PA-ENC-TIMESTAMP",
        /// PA-PW-SALT.
        PW_SALT = 3 => "PA-PW-SALT",
        /// PA-ETYPE-INFO.
        ETYPE_INFO = 11 => "PA-ETYPE-INFO",
        /// PA-ETYPE-INFO2.
        ETYPE_INFO2 = 19 => "PA-ETYPE-INFO2",
        /// PA-PAC-REQUEST (MS-KILE 2.2.3).
        PAC_REQUEST = 128 => "PA-PAC-REQUEST",
        /// PA-FX-FAST (RFC 6113).
        FX_FAST = 136 => "PA-FX-FAST",
        /// PA-FX-ERROR (RFC 6113): the KRB-ERROR inside a FAST error.
        FX_ERROR = 137 => "PA-FX-ERROR",
    }
}

/// KDCOptions bits (RFC 4120 5.4.1), as a big-endian u32 mask.
pub mod kdc_options {
    /// forwardable.
    pub const FORWARDABLE: u32 = 0x4000_0000;
    /// proxiable.
    pub const PROXIABLE: u32 = 0x1000_0000;
    /// renewable.
    pub const RENEWABLE: u32 = 0x0080_0000;
    /// canonicalize (RFC 6806).
    pub const CANONICALIZE: u32 = 0x0001_0000;
    /// renewable-ok.
    pub const RENEWABLE_OK: u32 = 0x0000_0010;
}

/// TicketFlags bits (RFC 4120 5.3), as a big-endian u32 mask (the form ccache files store).
pub mod ticket_flags {
    /// forwardable.
    pub const FORWARDABLE: u32 = 0x4000_0000;
    /// forwarded.
    pub const FORWARDED: u32 = 0x2000_0000;
    /// proxiable.
    pub const PROXIABLE: u32 = 0x1000_0000;
    /// renewable.
    pub const RENEWABLE: u32 = 0x0080_0000;
    /// initial.
    pub const INITIAL: u32 = 0x0040_0000;
    /// pre-authent.
    pub const PRE_AUTHENT: u32 = 0x0020_0000;
    /// ok-as-delegate.
    pub const OK_AS_DELEGATE: u32 = 0x0004_0000;
    /// enc-pa-rep.
    pub const ENC_PA_REP: u32 = 0x0001_0000;
}

/// A 32-bit KerberosFlags BIT STRING from a big-endian mask.
pub fn flags(mask: u32) -> KerberosFlags {
    KerberosFlags::from_slice(&mask.to_be_bytes())
}

/// The first 32 bits of a KerberosFlags as a big-endian mask (shorter strings are zero-padded).
pub fn flags_mask(bits: &KerberosFlags) -> u32 {
    bits.iter().take(32).enumerate().fold(0u32, |acc, (i, b)| if *b { acc | (0x8000_0000 >> i) } else { acc })
}

/// PA-PAC-REQUEST (MS-KILE 2.2.3).
///
/// ```text
/// KERB-PA-PAC-REQUEST ::= SEQUENCE {
///     include-pac [0] BOOLEAN
/// }
/// ```
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct PaPacRequest {
    /// Whether the ticket should carry a PAC.
    #[rasn(tag(explicit(0)))]
    pub include_pac: bool,
}

/// DER-encodes a message.
///
/// # Errors
/// [`Error::Malformed`] if rasn refuses a value (it should not for values this crate builds).
pub fn encode<T: Encode>(what: &'static str, value: &T) -> Result<Vec<u8>, Error> {
    rasn::der::encode(value).map_err(|e| Error::Malformed { what, detail: e.to_string() })
}

/// Decodes a DER (or BER) message.
///
/// # Errors
/// [`Error::Malformed`] naming `what`.
pub fn decode<T: Decode>(what: &'static str, bytes: &[u8]) -> Result<T, Error> {
    rasn::ber::decode(bytes).map_err(|e| Error::Malformed { what, detail: e.to_string() })
}

/// Decodes an AS-REQ or TGS-REQ as clients send it (by its APPLICATION tag). MIT encodes the
/// nonce as a signed 32-bit INTEGER, so a nonce of 2^31 or more arrives as a negative one,
/// which RFC 4120's UInt32 refuses; it is read as the unsigned number its four bytes spell.
/// (keyless's own nonces stay below 2^31.)
///
/// # Errors
/// [`Error::Malformed`] for anything else that does not decode.
pub fn decode_kdc_req(bytes: &[u8]) -> Result<KdcReq, Error> {
    // [APPLICATION] SEQUENCE { ... req-body [4] SEQUENCE { ... nonce [7] INTEGER } }
    let (as_req, what) = match bytes.first() {
        Some(0x6a) => (true, "AS-REQ"),
        _ => (false, "TGS-REQ"),
    };
    let decode_as = |b: &[u8]| {
        if as_req { decode::<AsReq>(what, b).map(|r| r.0) } else { decode::<TgsReq>(what, b).map(|r| r.0) }
    };
    match negative_u32_at(bytes, &[0xa4, 0xa7]) {
        None => decode_as(bytes),
        Some(at) => {
            let mut req = decode_as(&with_top_bit_clear(bytes, at))?;
            req.req_body.nonce |= 0x8000_0000;
            Ok(req)
        }
    }
}

/// Where a four-byte INTEGER with its top bit set starts its value, reached from the
/// [APPLICATION] SEQUENCE at the start of `der` through the context tags `path` (each but the
/// last wrapping a SEQUENCE).
fn negative_u32_at(der: &[u8], path: &[u8]) -> Option<usize> {
    /// (tag, header length, content length) of the TLV starting `b` (definite lengths).
    fn tlv(b: &[u8]) -> Option<(u8, usize, usize)> {
        let (&tag, rest) = b.split_first()?;
        let (&first, rest) = rest.split_first()?;
        if first < 0x80 {
            return Some((tag, 2, usize::from(first)));
        }
        let n = usize::from(first & 0x7f);
        let len = rest.get(..n).filter(|_| (1..=4).contains(&n))?.iter().fold(0, |l, &b| l << 8 | usize::from(b));
        Some((tag, 2 + n, len))
    }
    let mut at = tlv(der)?.1;
    at += tlv(der.get(at..)?)?.1;
    for (i, &want) in path.iter().enumerate() {
        loop {
            let (tag, header, len) = tlv(der.get(at..)?)?;
            at += header;
            if tag == want {
                break;
            }
            at += len;
        }
        if i + 1 < path.len() {
            at += tlv(der.get(at..)?)?.1;
        }
    }
    let (tag, header, len) = tlv(der.get(at..)?)?;
    (tag == 0x02 && len == 4 && *der.get(at + header)? >= 0x80).then_some(at + header)
}

fn with_top_bit_clear(der: &[u8], at: usize) -> Vec<u8> {
    let mut copy = der.to_vec();
    copy[at] &= 0x7f;
    copy
}

/// What a Ticket says in the clear: the service it is for, and the enctype and key version
/// of its encrypted part (which only the service can open).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketHeader {
    /// The service principal (sname at realm).
    pub server: crate::Principal,
    /// The enctype of the encrypted part.
    pub etype: keyless_crypto::EncType,
    /// The service key's version, when the KDC names one.
    pub kvno: Option<u32>,
}

impl TicketHeader {
    /// Decodes a DER Ticket (RFC 4120 5.3), as a credential cache or an AP-REQ carries it.
    ///
    /// # Errors
    /// [`Error::Malformed`] for bytes that are not a Ticket.
    pub fn decode(der: &[u8]) -> Result<Self, Error> {
        let t: rasn_kerberos::Ticket = decode("Ticket", der)?;
        Ok(Self {
            server: crate::Principal::from_asn1(&t.realm, &t.sname),
            etype: keyless_crypto::EncType(t.enc_part.etype),
            kvno: t.enc_part.kvno,
        })
    }
}

/// A padata value of a given type, if present.
pub fn find_padata(padata: Option<&[PaData]>, pa_type: PaType) -> Option<&[u8]> {
    padata?.iter().find(|p| p.r#type == pa_type.0).map(|p| p.value.as_ref())
}

/// What a KDC sent back.
#[derive(Debug)]
#[allow(clippy::large_enum_variant, reason = "decoded once per exchange")]
pub enum KdcReply {
    /// AS-REP.
    As(AsRep),
    /// TGS-REP.
    Tgs(TgsRep),
    /// KRB-ERROR.
    Error(KrbError),
}

/// Decodes a KDC reply by its outer APPLICATION tag.
///
/// # Errors
/// [`Error::Malformed`] for anything that is not a well-formed AS-REP, TGS-REP or KRB-ERROR.
pub fn decode_reply(bytes: &[u8]) -> Result<KdcReply, Error> {
    match bytes.first() {
        Some(0x6b) => decode("AS-REP", bytes).map(KdcReply::As),
        Some(0x6d) => decode("TGS-REP", bytes).map(KdcReply::Tgs),
        Some(0x7e) => decode("KRB-ERROR", bytes).map(KdcReply::Error),
        Some(b) => Err(Error::Malformed { what: "KDC reply", detail: format!("unexpected first byte {b:#04x}") }),
        None => Err(Error::Malformed { what: "KDC reply", detail: "empty".into() }),
    }
}

/// EncASRepPart or EncTGSRepPart: KDCs use either tag in either reply (RFC 4120 5.4.2 note;
/// MIT sends EncTGSRepPart in AS-REPs).
///
/// # Errors
/// [`Error::Malformed`].
pub fn decode_enc_kdc_rep_part(plain: &[u8]) -> Result<EncKdcRepPart, Error> {
    let decode_part = |b: &[u8]| match b.first() {
        Some(0x79) => decode::<EncAsRepPart>("EncASRepPart", b).map(|p| p.0),
        Some(0x7a) => decode::<EncTgsRepPart>("EncTGSRepPart", b).map(|p| p.0),
        _ => Err(Error::Malformed { what: "EncKDCRepPart", detail: "neither EncASRepPart nor EncTGSRepPart".into() }),
    };
    // The nonce [2] echoes the request's: negative when an MIT client sent it (decode_kdc_req).
    match negative_u32_at(plain, &[0xa2]) {
        None => decode_part(plain),
        Some(at) => {
            let mut part = decode_part(&with_top_bit_clear(plain, at))?;
            part.nonce |= 0x8000_0000;
            Ok(part)
        }
    }
}

/// The error code of a KRB-ERROR.
pub fn error_code(err: &KrbError) -> KrbErrorCode {
    KrbErrorCode(err.error_code)
}

/// A KRB-ERROR as this crate's error.
pub fn kdc_error(err: &KrbError, realm: &str) -> Error {
    Error::Kdc {
        code: error_code(err),
        text: err.e_text.as_ref().map(|t| String::from_utf8_lossy(t.as_bytes()).into_owned()),
        realm: realm.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_round_trip() {
        for mask in [0u32, 0x4081_0010, 0xffff_ffff, 0x0000_0001] {
            assert_eq!(flags_mask(&flags(mask)), mask);
        }
        let der = rasn::der::encode(&flags(kdc_options::FORWARDABLE | kdc_options::RENEWABLE_OK)).unwrap();
        assert_eq!(der, [0x03, 0x05, 0x00, 0x40, 0x00, 0x00, 0x10]);
    }

    /// MIT's TGS-REQ with nonce 0xe394bd4d (seen from smbclient) carries it as the negative
    /// INTEGER 02 04 e3 94 bd 4d: strict decoding refuses it, decode_kdc_req reads the nonce.
    #[test]
    fn a_negative_nonce_reads_as_its_unsigned_bytes() {
        let body = rasn_kerberos::KdcReqBody {
            kdc_options: rasn_kerberos::KdcOptions(flags(kdc_options::FORWARDABLE)),
            cname: None,
            realm: crate::principal::realm_asn1("EXAMPLE.TEST").unwrap(),
            sname: None,
            from: None,
            till: crate::time::kerberos_time(2_000_000_000),
            rtime: None,
            nonce: 0x6394_bd4d,
            etype: vec![18, 17],
            addresses: None,
            enc_authorization_data: None,
            additional_tickets: None,
        };
        let req = TgsReq(KdcReq {
            pvno: Integer::from(PVNO),
            msg_type: Integer::from(MsgType::TGS_REQ.0),
            padata: Some(vec![PaData { r#type: 1, value: OctetString::from_static(&[0xa7, 0x06, 0x02, 0x04]) }]),
            req_body: body,
        });
        let mut der = encode("TGS-REQ", &req).unwrap();
        let at = der.windows(6).rposition(|w| w == [0x02, 0x04, 0x63, 0x94, 0xbd, 0x4d]).unwrap();
        der[at + 2] = 0xe3;
        assert!(decode::<TgsReq>("TGS-REQ", &der).is_err(), "rasn refuses a negative UInt32");
        let read = decode_kdc_req(&der).unwrap();
        assert_eq!(read.req_body.nonce, 0xe394_bd4d);
        assert_eq!(read.req_body.etype, [18, 17]);
        assert_eq!(decode_kdc_req(&encode("TGS-REQ", &req).unwrap()).unwrap(), req.0, "positive nonces as they are");
    }
}
