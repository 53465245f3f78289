//! Property round trips for everything keyless-krb encodes: principals, ccache and keytab
//! files, and the KDC requests (through rasn's decoder).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use keyless_crypto::{EncType, Key};
use keyless_krb::ccache::{CCache, Entry};
use keyless_krb::keytab::{Keytab, KeytabEntry};
use keyless_krb::{Credential, Principal};
use proptest::prelude::*;
use zeroize::Zeroizing;

fn principal() -> impl Strategy<Value = Principal> {
    (proptest::collection::vec("[a-zA-Z0-9._/@\\\\-]{1,12}", 1..4), "[A-Z0-9.]{1,20}", 0i32..12).prop_map(
        |(components, realm, name_type)| Principal {
            realm,
            name_type: keyless_krb::principal::NameType(name_type),
            components,
        },
    )
}

proptest! {
    #[test]
    fn principal_text_round_trip(p in principal()) {
        let again = Principal::parse(&p.to_string(), None).unwrap();
        prop_assert_eq!(&again.components, &p.components);
        prop_assert_eq!(&again.realm, &p.realm);
    }

    #[test]
    fn ccache_round_trip(
        client in principal(),
        servers in proptest::collection::vec(principal(), 0..4),
        ticket in proptest::collection::vec(any::<u8>(), 0..200),
        times in any::<[u32; 4]>(),
        flags in any::<u32>(),
        key in any::<[u8; 32]>(),
        offset in proptest::option::of(any::<(i32, i32)>()),
    ) {
        let mut cache = CCache::new(client.clone());
        cache.kdc_offset = offset;
        for s in &servers {
            let c = Credential {
                client: client.clone(),
                server: s.clone(),
                session_key: Key::from_bytes(EncType::AES256_CTS_HMAC_SHA1_96, &key).unwrap(),
                auth_time: i64::from(times[0]),
                start_time: i64::from(times[1]),
                end_time: i64::from(times[2]),
                renew_till: i64::from(times[3]),
                flags,
                ticket: ticket.clone(),
            };
            cache.entries.push(Entry::from_credential(&c));
        }
        cache.entries.push(Entry::config(&client, "pa_type", None, b"2"));
        let bytes = cache.to_bytes().unwrap();
        let again = CCache::parse(&bytes).unwrap();
        prop_assert_eq!(again.to_bytes().unwrap(), bytes);
        prop_assert_eq!(again.entries.len(), servers.len() + 1);
        prop_assert_eq!(again.kdc_offset, offset);
    }

    #[test]
    fn keytab_round_trip(
        entries in proptest::collection::vec((principal(), any::<u32>(), any::<u32>(), proptest::collection::vec(any::<u8>(), 16..=32)), 0..5),
    ) {
        let kt = Keytab {
            entries: entries
                .into_iter()
                .map(|(principal, timestamp, kvno, key)| KeytabEntry { principal, timestamp, kvno, enctype: 18, key: Zeroizing::new(key) })
                .collect(),
        };
        let bytes = kt.to_bytes().unwrap();
        let again = Keytab::parse(&bytes).unwrap();
        prop_assert_eq!(again.to_bytes().unwrap(), bytes);
        for (a, b) in again.entries.iter().zip(&kt.entries) {
            prop_assert_eq!(&a.principal, &b.principal);
            prop_assert_eq!(a.kvno, b.kvno);
        }
    }
}

/// A seeded, non-cryptographic source for reproducible requests.
struct Counter(u8);
impl keyless_krb::RandomSource for Counter {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), keyless_krb::Error> {
        for b in buf {
            self.0 = self.0.wrapping_mul(31).wrapping_add(7);
            *b = self.0;
        }
        Ok(())
    }
}

proptest! {
    #[test]
    fn kdc_requests_decode_and_re_encode(client in principal(), service in principal(), secs in 1_000_000_000u64..2_000_000_000, seed in any::<u8>()) {
        use keyless_krb::{AsExchange, AsOptions, ClientSecret, Step, TgsExchange, TgsOptions};
        let now = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
        let mut rng = Counter(seed);
        let (_, step) = AsExchange::start(AsOptions::new(client.clone()), ClientSecret::Keys(vec![]), now, &mut rng).unwrap();
        let Step::Send { message, .. } = step else { panic!("AS exchange must start by sending") };
        let req: rasn_kerberos::AsReq = rasn::der::decode(&message).unwrap();
        prop_assert_eq!(rasn::der::encode(&req).unwrap(), message);

        let tgt = Credential {
            client: client.clone(),
            server: Principal::krbtgt(&client.realm, &client.realm),
            session_key: Key::from_bytes(EncType::AES128_CTS_HMAC_SHA1_96, &[9; 16]).unwrap(),
            auth_time: 0,
            start_time: 0,
            end_time: 0,
            renew_till: 0,
            flags: 0,
            ticket: rasn::der::encode(&rasn_kerberos::Ticket {
                tkt_vno: 5.into(),
                realm: keyless_krb::principal::realm_asn1(&client.realm).unwrap(),
                sname: Principal::krbtgt(&client.realm, &client.realm).to_asn1().unwrap(),
                enc_part: rasn_kerberos::EncryptedData { etype: 18, kvno: Some(1), cipher: vec![1, 2, 3].into() },
            })
            .unwrap(),
        };
        let (_, step) = TgsExchange::start(tgt, TgsOptions::new(service), now, &mut rng).unwrap();
        let Step::Send { message, .. } = step else { panic!("TGS exchange must start by sending") };
        let req: rasn_kerberos::TgsReq = rasn::der::decode(&message).unwrap();
        prop_assert_eq!(rasn::der::encode(&req).unwrap(), message);
    }
}
