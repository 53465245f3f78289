//! Protocol numbers as open newtypes: unknown values survive and print as numbers.

use keyless_wire_enum::wire_enum;

wire_enum! {
    /// Kerberos encryption type number (IANA "Kerberos Encryption Type Numbers", RFC 3961 8).
    pub struct EncType(i32) {
        /// RFC 3962.
        AES128_CTS_HMAC_SHA1_96 = 17 => "aes128-cts-hmac-sha1-96",
        /// RFC 3962.
        AES256_CTS_HMAC_SHA1_96 = 18 => "aes256-cts-hmac-sha1-96",
        /// RFC 8009.
        AES128_CTS_HMAC_SHA256_128 = 19 => "aes128-cts-hmac-sha256-128",
        /// RFC 8009.
        AES256_CTS_HMAC_SHA384_192 = 20 => "aes256-cts-hmac-sha384-192",
        /// RFC 4757.
        RC4_HMAC = 23 => "arcfour-hmac",
    }
}

wire_enum! {
    /// Kerberos checksum type number (IANA "Kerberos Checksum Type Numbers", RFC 3961 8).
    pub struct CksumType(i32) {
        /// RFC 3962.
        HMAC_SHA1_96_AES128 = 15 => "hmac-sha1-96-aes128",
        /// RFC 3962.
        HMAC_SHA1_96_AES256 = 16 => "hmac-sha1-96-aes256",
        /// RFC 8009.
        HMAC_SHA256_128_AES128 = 19 => "hmac-sha256-128-aes128",
        /// RFC 8009.
        HMAC_SHA384_192_AES256 = 20 => "hmac-sha384-192-aes256",
        /// RFC 4757 (KERB_CHECKSUM_HMAC_MD5).
        HMAC_MD5 = -138 => "hmac-md5-arcfour",
    }
}

wire_enum! {
    /// Kerberos key usage number (RFC 4120 7.5.1, RFC 4121 2).
    pub struct KeyUsage(u32) {
        /// AS-REQ PA-ENC-TIMESTAMP, client key.
        AS_REQ_PA_ENC_TIMESTAMP = 1 => "as-req-pa-enc-timestamp",
        /// Ticket enc-part, service key.
        TICKET = 2 => "ticket",
        /// AS-REP enc-part, client key.
        AS_REP_ENC_PART = 3 => "as-rep-enc-part",
        /// TGS-REQ authorization data, session key.
        TGS_REQ_AUTHDATA_SESSION_KEY = 4 => "tgs-req-authdata-session-key",
        /// TGS-REQ authorization data, authenticator subkey.
        TGS_REQ_AUTHDATA_SUBKEY = 5 => "tgs-req-authdata-subkey",
        /// TGS-REQ PA-TGS-REQ authenticator checksum.
        TGS_REQ_AUTH_CKSUM = 6 => "tgs-req-authenticator-checksum",
        /// TGS-REQ PA-TGS-REQ authenticator.
        TGS_REQ_AUTHENTICATOR = 7 => "tgs-req-authenticator",
        /// TGS-REP enc-part, session key.
        TGS_REP_ENC_PART_SESSION_KEY = 8 => "tgs-rep-enc-part-session-key",
        /// TGS-REP enc-part, authenticator subkey.
        TGS_REP_ENC_PART_SUBKEY = 9 => "tgs-rep-enc-part-subkey",
        /// AP-REQ authenticator checksum.
        AP_REQ_AUTH_CKSUM = 10 => "ap-req-authenticator-checksum",
        /// AP-REQ authenticator.
        AP_REQ_AUTHENTICATOR = 11 => "ap-req-authenticator",
        /// AP-REP enc-part.
        AP_REP_ENC_PART = 12 => "ap-rep-enc-part",
        /// KRB-PRIV enc-part.
        KRB_PRIV_ENC_PART = 13 => "krb-priv-enc-part",
        /// KRB-CRED enc-part.
        KRB_CRED_ENC_PART = 14 => "krb-cred-enc-part",
        /// KRB-SAFE checksum.
        KRB_SAFE_CKSUM = 15 => "krb-safe-checksum",
        /// GSS krb5 acceptor seal (RFC 4121).
        GSS_ACCEPTOR_SEAL = 22 => "gss-acceptor-seal",
        /// GSS krb5 acceptor sign (RFC 4121).
        GSS_ACCEPTOR_SIGN = 23 => "gss-acceptor-sign",
        /// GSS krb5 initiator seal (RFC 4121).
        GSS_INITIATOR_SEAL = 24 => "gss-initiator-seal",
        /// GSS krb5 initiator sign (RFC 4121).
        GSS_INITIATOR_SIGN = 25 => "gss-initiator-sign",
        /// FAST: the checksum binding an armored request (RFC 6113 5.4.1).
        FAST_REQ_CHKSUM = 50 => "fast-req-checksum",
        /// FAST: KrbFastArmoredReq enc-fast-req, armor key (RFC 6113 5.4.2).
        FAST_ENC = 51 => "fast-enc",
        /// FAST: KrbFastArmoredRep enc-fast-rep, armor key (RFC 6113 5.4.3).
        FAST_REP = 52 => "fast-rep",
        /// FAST: KrbFastFinished ticket checksum (RFC 6113 5.4.3).
        FAST_FINISHED = 53 => "fast-finished",
    }
}
