//! FAST, Flexible Authentication Secure Tunneling (RFC 6113): the armored request and reply
//! messages carried in PA-FX-FAST, and the keys they are under. MIT clients armor every
//! TGS-REQ with the TGT itself (implicit armor); AD armors AS-REQs with the machine's TGT when
//! Kerberos armoring is on.

use crate::messages::decode;
use crate::{Error, messages::PaType};
use keyless_crypto::rfc6113::krb_fx_cf2;
use keyless_crypto::{CryptoError, Key};
use rasn::prelude::*;
use rasn_kerberos::{
    Checksum, EncryptedData, EncryptionKey, KerberosFlags, KerberosTime, PaData, PrincipalName, Realm,
};

/// armor-type FX_FAST_ARMOR_AP_REQUEST: the armor is an AP-REQ (RFC 6113 5.4.1).
pub const ARMOR_AP_REQUEST: i32 = 1;

/// ```text
/// PA-FX-FAST-REQUEST ::= CHOICE { armored-data [0] KrbFastArmoredReq, ... }
/// ```
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
#[rasn(choice)]
pub enum PaFxFastRequest {
    /// The armored request.
    #[rasn(tag(explicit(0)))]
    ArmoredData(KrbFastArmoredReq),
}

/// ```text
/// KrbFastArmor ::= SEQUENCE { armor-type [0] Int32, armor-value [1] OCTET STRING, ... }
/// ```
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct KrbFastArmor {
    /// [`ARMOR_AP_REQUEST`] is the only type defined.
    #[rasn(tag(explicit(0)))]
    pub armor_type: i32,
    /// For an AP-REQ armor: the AP-REQ's DER.
    #[rasn(tag(explicit(1)))]
    pub armor_value: OctetString,
}

/// ```text
/// KrbFastArmoredReq ::= SEQUENCE {
///     armor [0] KrbFastArmor OPTIONAL, req-checksum [1] Checksum, enc-fast-req [2] EncryptedData }
/// ```
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct KrbFastArmoredReq {
    /// Explicit armor; absent in a TGS-REQ, whose PA-TGS-REQ is the armor.
    #[rasn(tag(explicit(0)))]
    pub armor: Option<KrbFastArmor>,
    /// Binds the outer request to the armor key (usage 50).
    #[rasn(tag(explicit(1)))]
    pub req_checksum: Checksum,
    /// A [`KrbFastReq`] under the armor key (usage 51).
    #[rasn(tag(explicit(2)))]
    pub enc_fast_req: EncryptedData,
}

/// ```text
/// KrbFastReq ::= SEQUENCE {
///     fast-options [0] FastOptions, padata [1] SEQUENCE OF PA-DATA, req-body [2] KDC-REQ-BODY, ... }
/// ```
/// The inner req-body is kept as its DER: MIT copies the outer one, nonce included, which it
/// encodes as a signed INTEGER (see [`crate::messages::decode_kdc_req`]).
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct KrbFastReq {
    /// FAST options (RFC 6113 5.4.1: hide-client-names is bit 1).
    #[rasn(tag(explicit(0)))]
    pub fast_options: KerberosFlags,
    /// The request's real padata (MIT leaves PA-TGS-REQ outside).
    #[rasn(tag(explicit(1)))]
    pub padata: SequenceOf<PaData>,
    /// The request's real body.
    #[rasn(tag(explicit(2)))]
    pub req_body: Any,
}

/// ```text
/// PA-FX-FAST-REPLY ::= CHOICE { armored-data [0] KrbFastArmoredRep, ... }
/// ```
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
#[rasn(choice)]
pub enum PaFxFastReply {
    /// The armored reply.
    #[rasn(tag(explicit(0)))]
    ArmoredData(KrbFastArmoredRep),
}

/// ```text
/// KrbFastArmoredRep ::= SEQUENCE { enc-fast-rep [0] EncryptedData, ... }
/// ```
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct KrbFastArmoredRep {
    /// A [`KrbFastResponse`] under the armor key (usage 52).
    #[rasn(tag(explicit(0)))]
    pub enc_fast_rep: EncryptedData,
}

/// ```text
/// KrbFastResponse ::= SEQUENCE {
///     padata [0] SEQUENCE OF PA-DATA, strengthen-key [1] EncryptionKey OPTIONAL,
///     finished [2] KrbFastFinished OPTIONAL, nonce [3] UInt32, ... }
/// ```
/// The nonce echoes the request's, which MIT encodes as a signed INTEGER: it is read as one.
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct KrbFastResponse {
    /// The reply's real padata (PA-FX-ERROR in an error).
    #[rasn(tag(explicit(0)))]
    pub padata: SequenceOf<PaData>,
    /// When present, the reply key is strengthened with it ([`strengthened_reply_key`]).
    #[rasn(tag(explicit(1)))]
    pub strengthen_key: Option<EncryptionKey>,
    /// Present in a successful reply.
    #[rasn(tag(explicit(2)))]
    pub finished: Option<KrbFastFinished>,
    /// The request's nonce.
    #[rasn(tag(explicit(3)))]
    pub nonce: Integer,
}

impl KrbFastResponse {
    /// The nonce as the four unsigned bytes the request sent.
    pub fn nonce_u32(&self) -> Option<u32> {
        i64::try_from(&self.nonce).ok().map(|n| n as u32)
    }
}

/// ```text
/// KrbFastFinished ::= SEQUENCE {
///     timestamp [0] KerberosTime, usec [1] Microseconds, crealm [2] Realm,
///     cname [3] PrincipalName, ticket-checksum [4] Checksum, ... }
/// ```
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct KrbFastFinished {
    /// The KDC's time.
    #[rasn(tag(explicit(0)))]
    pub timestamp: KerberosTime,
    /// Its microseconds.
    #[rasn(tag(explicit(1)))]
    pub usec: u32,
    /// The client's realm, as the KDC authenticated it.
    #[rasn(tag(explicit(2)))]
    pub crealm: Realm,
    /// The client's name, as the KDC authenticated it.
    #[rasn(tag(explicit(3)))]
    pub cname: PrincipalName,
    /// Over the reply's Ticket, with the armor key (usage 53).
    #[rasn(tag(explicit(4)))]
    pub ticket_checksum: Checksum,
}

/// The armor key from an armor AP-REQ, or from a TGS-REQ's own PA-TGS-REQ (implicit armor):
/// KRB-FX-CF2(authenticator subkey, "subkeyarmor", ticket session key, "ticketarmor")
/// (RFC 6113 5.4.1.1).
///
/// # Errors
/// An enctype keyless does not know.
pub fn armor_key(subkey: &Key, ticket_session_key: &Key) -> Result<Key, CryptoError> {
    krb_fx_cf2(subkey, b"subkeyarmor", ticket_session_key, b"ticketarmor")
}

/// The key a FAST reply's enc-part is under when the KDC sent a strengthen-key:
/// KRB-FX-CF2(strengthen key, "strengthenkey", reply key, "replykey") (RFC 6113 5.4.3).
///
/// # Errors
/// An enctype keyless does not know.
pub fn strengthened_reply_key(strengthen: &Key, reply_key: &Key) -> Result<Key, CryptoError> {
    krb_fx_cf2(strengthen, b"strengthenkey", reply_key, b"replykey")
}

/// The armored part of a PA-FX-FAST in a request's padata, if there is one.
///
/// # Errors
/// [`Error::Malformed`] when the padata is there but does not decode.
pub fn armored_request(padata: Option<&[PaData]>) -> Result<Option<KrbFastArmoredReq>, Error> {
    crate::messages::find_padata(padata, PaType::FX_FAST)
        .map(|v| decode::<PaFxFastRequest>("PA-FX-FAST-REQUEST", v).map(|PaFxFastRequest::ArmoredData(a)| a))
        .transpose()
}

/// The armored part of a PA-FX-FAST in a reply's padata (or an error's METHOD-DATA), if there
/// is one with content (a KDC advertises FAST with an empty PA-FX-FAST).
///
/// # Errors
/// [`Error::Malformed`] when the padata has content that does not decode.
pub fn armored_reply(padata: Option<&[PaData]>) -> Result<Option<KrbFastArmoredRep>, Error> {
    crate::messages::find_padata(padata, PaType::FX_FAST)
        .filter(|v| !v.is_empty())
        .map(|v| decode::<PaFxFastReply>("PA-FX-FAST-REPLY", v).map(|PaFxFastReply::ArmoredData(a)| a))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reply_choice_is_a_context_tag_around_the_sequence() {
        let rep = KrbFastArmoredRep {
            enc_fast_rep: EncryptedData { etype: 18, kvno: None, cipher: OctetString::from_static(&[1, 2, 3]) },
        };
        let der = rasn::der::encode(&PaFxFastReply::ArmoredData(rep.clone())).unwrap();
        assert_eq!(&der[..4], [0xa0, 0x12, 0x30, 0x10], "{der:02x?}");
        let padata = [PaData { r#type: PaType::FX_FAST.0, value: der.into() }];
        assert_eq!(armored_reply(Some(&padata)).unwrap(), Some(rep));
        let advertised = [PaData { r#type: PaType::FX_FAST.0, value: OctetString::from_static(&[]) }];
        assert_eq!(armored_reply(Some(&advertised)).unwrap(), None);
    }

    #[test]
    fn a_negative_nonce_reads_as_its_unsigned_bytes() {
        let r = KrbFastResponse { padata: vec![], strengthen_key: None, finished: None, nonce: Integer::from(-1) };
        assert_eq!(r.nonce_u32(), Some(0xffff_ffff));
    }
}
