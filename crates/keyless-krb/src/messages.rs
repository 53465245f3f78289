//! RFC 4120 message plumbing on top of rasn-kerberos: message and padata type numbers, the
//! 32-bit KerberosFlags, the local ASN.1 types rasn-kerberos lacks (PA-PAC-REQUEST, MS-KILE
//! 2.2.3), and the decoding of whatever a KDC sends back.

use crate::Error;
use crate::error::KrbErrorCode;
use rasn::prelude::*;
use rasn_kerberos::{AsRep, EncAsRepPart, EncKdcRepPart, EncTgsRepPart, KerberosFlags, KrbError, PaData, TgsRep};

/// Protocol version number (RFC 4120 5.1).
pub const PVNO: i32 = 5;

/// msg-type numbers (RFC 4120 5.10).
pub mod msg_type {
    /// AS-REQ.
    pub const AS_REQ: i32 = 10;
    /// AS-REP.
    pub const AS_REP: i32 = 11;
    /// TGS-REQ.
    pub const TGS_REQ: i32 = 12;
    /// TGS-REP.
    pub const TGS_REP: i32 = 13;
    /// AP-REQ.
    pub const AP_REQ: i32 = 14;
    /// AP-REP.
    pub const AP_REP: i32 = 15;
    /// KRB-CRED.
    pub const KRB_CRED: i32 = 22;
    /// KRB-ERROR.
    pub const KRB_ERROR: i32 = 30;
}

/// padata-type numbers (RFC 4120 7.5.2, MS-KILE).
pub mod pa_type {
    /// PA-TGS-REQ: the AP-REQ of a TGS request.
    pub const TGS_REQ: i32 = 1;
    /// PA-ENC-TIMESTAMP.
    pub const ENC_TIMESTAMP: i32 = 2;
    /// PA-PW-SALT.
    pub const PW_SALT: i32 = 3;
    /// PA-ETYPE-INFO.
    pub const ETYPE_INFO: i32 = 11;
    /// PA-ETYPE-INFO2.
    pub const ETYPE_INFO2: i32 = 19;
    /// PA-PAC-REQUEST (MS-KILE 2.2.3).
    pub const PAC_REQUEST: i32 = 128;
    /// PA-FX-FAST (RFC 6113).
    pub const FX_FAST: i32 = 136;
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

/// The enctype and key version a DER Ticket is encrypted with (what `klist -e` and `kvno` show).
pub fn ticket_enc_info(der: &[u8]) -> Option<(keyless_crypto::EncType, Option<u32>)> {
    let t: rasn_kerberos::Ticket = rasn::der::decode(der).ok()?;
    Some((keyless_crypto::EncType(t.enc_part.etype), t.enc_part.kvno))
}

/// A padata value of a given type, if present.
pub fn find_padata(padata: Option<&[PaData]>, pa_type: i32) -> Option<&[u8]> {
    padata?.iter().find(|p| p.r#type == pa_type).map(|p| p.value.as_ref())
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
    match plain.first() {
        Some(0x79) => decode::<EncAsRepPart>("EncASRepPart", plain).map(|p| p.0),
        Some(0x7a) => decode::<EncTgsRepPart>("EncTGSRepPart", plain).map(|p| p.0),
        _ => Err(Error::Malformed { what: "EncKDCRepPart", detail: "neither EncASRepPart nor EncTGSRepPart".into() }),
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
}
