//! The cookieless visitor id: a keyed hash of site, IP and user agent under a
//! salt that is rotated and destroyed daily, so visits can be counted within
//! a day but never linked across days or reversed to an IP address.

/// A visitor's id for one site and one day. The salt is the secret: without it
/// the id can't be recomputed from a guessed IP, and after it is deleted
/// nobody can. `site_id` is hashed in so one visitor is unlinkable across sites.
pub fn visitor_id(daily_salt: &[u8; 32], site_id: i64, client_ip: &str, user_agent: &str) -> i64 {
    // SipHash takes a 128-bit key; folding the halves keeps every salt bit in play.
    let mut key = [0u8; 16];
    for (i, k) in key.iter_mut().enumerate() {
        *k = daily_salt[i] ^ daily_salt[i + 16];
    }
    let mut h = SipHasher24::new(&key);
    h.write(&site_id.to_le_bytes());
    // The separators keep ("1.2.3.4", "5x") and ("1.2.3.45", "x") apart.
    h.write(&[0]);
    h.write(client_ip.as_bytes());
    h.write(&[0]);
    h.write(user_agent.as_bytes());
    i64::from_le_bytes(h.finish().to_le_bytes())
}

/// SipHash-2-4 (Aumasson & Bernstein, 2012), written out because the core
/// crate has no hash dependency. Streaming, so the input is never copied.
struct SipHasher24 {
    v: [u64; 4],
    tail: u64,
    tail_len: u32,
    len: u64,
}

impl SipHasher24 {
    fn new(key: &[u8; 16]) -> Self {
        let mut k0 = [0u8; 8];
        let mut k1 = [0u8; 8];
        k0.copy_from_slice(&key[..8]);
        k1.copy_from_slice(&key[8..]);
        let (k0, k1) = (u64::from_le_bytes(k0), u64::from_le_bytes(k1));
        SipHasher24 {
            v: [
                k0 ^ 0x736f_6d65_7073_6575,
                k1 ^ 0x646f_7261_6e64_6f6d,
                k0 ^ 0x6c79_6765_6e65_7261,
                k1 ^ 0x7465_6462_7974_6573,
            ],
            tail: 0,
            tail_len: 0,
            len: 0,
        }
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.tail |= u64::from(b) << (8 * self.tail_len);
            self.tail_len += 1;
            self.len = self.len.wrapping_add(1);
            if self.tail_len == 8 {
                self.compress(self.tail);
                self.tail = 0;
                self.tail_len = 0;
            }
        }
    }

    fn finish(mut self) -> u64 {
        // The last block carries the message length mod 256 in its top byte.
        self.compress(self.tail | (self.len << 56));
        self.v[2] ^= 0xff;
        for _ in 0..4 {
            self.round();
        }
        self.v[0] ^ self.v[1] ^ self.v[2] ^ self.v[3]
    }

    fn compress(&mut self, m: u64) {
        self.v[3] ^= m;
        self.round();
        self.round();
        self.v[0] ^= m;
    }

    fn round(&mut self) {
        let [v0, v1, v2, v3] = &mut self.v;
        *v0 = v0.wrapping_add(*v1);
        *v1 = v1.rotate_left(13);
        *v1 ^= *v0;
        *v0 = v0.rotate_left(32);
        *v2 = v2.wrapping_add(*v3);
        *v3 = v3.rotate_left(16);
        *v3 ^= *v2;
        *v0 = v0.wrapping_add(*v3);
        *v3 = v3.rotate_left(21);
        *v3 ^= *v0;
        *v2 = v2.wrapping_add(*v1);
        *v1 = v1.rotate_left(17);
        *v1 ^= *v2;
        *v2 = v2.rotate_left(32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn siphash(key: &[u8; 16], msg: &[u8]) -> u64 {
        let mut h = SipHasher24::new(key);
        h.write(msg);
        h.finish()
    }

    fn reference_key() -> [u8; 16] {
        std::array::from_fn(|i| i as u8)
    }

    #[test]
    fn siphash_paper_test_vector() {
        // Appendix A of the SipHash paper: key 00..0f, message 00..0e.
        let msg: Vec<u8> = (0u8..15).collect();
        assert_eq!(siphash(&reference_key(), &msg), 0xa129_ca61_49be_45e5);
        // First entry of the reference implementation's vectors.h.
        assert_eq!(siphash(&reference_key(), &[]), 0x726f_db47_dd0e_0e31);
    }

    #[test]
    fn same_inputs_same_id() {
        let salt = [7u8; 32];
        let ua = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X)";
        assert_eq!(
            visitor_id(&salt, 42, "203.0.113.9", ua),
            visitor_id(&salt, 42, "203.0.113.9", ua)
        );
    }

    #[test]
    fn every_input_changes_the_id() {
        let salt = [7u8; 32];
        let mut other_salt = salt;
        other_salt[31] ^= 1;
        let ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64)";
        let base = visitor_id(&salt, 42, "203.0.113.9", ua);
        for changed in [
            visitor_id(&other_salt, 42, "203.0.113.9", ua),
            visitor_id(&salt, 43, "203.0.113.9", ua),
            visitor_id(&salt, 42, "203.0.113.10", ua),
            visitor_id(&salt, 42, "2001:db8::1", ua),
            visitor_id(&salt, 42, "203.0.113.9", "Mozilla/5.0 (Macintosh)"),
            visitor_id(&salt, 42, "203.0.113.9", ""),
        ] {
            assert_ne!(base, changed);
        }
        // The separator keeps the IP/agent boundary in the hash.
        assert_ne!(
            visitor_id(&salt, 1, "1.2.3.4", "5x"),
            visitor_id(&salt, 1, "1.2.3.45", "x")
        );
    }

    #[test]
    fn whole_salt_is_the_key() {
        // Both halves matter: changing either the first or the last 16 bytes
        // changes every id.
        let salt = [0u8; 32];
        let mut first = salt;
        first[0] = 1;
        let mut second = salt;
        second[16] = 1;
        let id = |s: &[u8; 32]| visitor_id(s, 1, "198.51.100.1", "ua");
        assert_ne!(id(&salt), id(&first));
        assert_ne!(id(&salt), id(&second));
    }

    proptest! {
        #[test]
        fn streaming_matches_one_shot(
            key in proptest::array::uniform16(any::<u8>()),
            msg in proptest::collection::vec(any::<u8>(), 0..100),
            split in 0usize..100,
        ) {
            let split = split.min(msg.len());
            let mut h = SipHasher24::new(&key);
            h.write(&msg[..split]);
            h.write(&msg[split..]);
            prop_assert_eq!(h.finish(), siphash(&key, &msg));
        }

        #[test]
        fn matches_std_siphasher(
            key in proptest::array::uniform16(any::<u8>()),
            msg in proptest::collection::vec(any::<u8>(), 0..100),
        ) {
            // std's deprecated SipHasher is SipHash-2-4 and hashes `write`
            // bytes verbatim, so it is an independent implementation to check.
            #[allow(deprecated)]
            let mut std_hasher = std::hash::SipHasher::new_with_keys(
                u64::from_le_bytes(key[..8].try_into().unwrap()),
                u64::from_le_bytes(key[8..].try_into().unwrap()),
            );
            std::hash::Hasher::write(&mut std_hasher, &msg);
            prop_assert_eq!(std::hash::Hasher::finish(&std_hasher), siphash(&key, &msg));
        }
    }
}
