//! Deterministic randomness for the sandbox: FNV-1a to fingerprint a render spec, SplitMix64 to
//! expand that fingerprint into a stream.
//!
//! Both are written out here on purpose: a library PRNG may change its stream between versions,
//! and the sandbox promises the same bytes for the same spec forever. Nothing here may read the
//! clock or the OS.

/// 64-bit FNV-1a, fed field by field.
#[derive(Debug, Clone)]
pub(crate) struct Fnv64(u64);

impl Fnv64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    pub(crate) fn new() -> Self {
        Self(Self::OFFSET)
    }

    /// Mixes raw bytes.
    pub(crate) fn write(&mut self, bytes: &[u8]) -> &mut Self {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(Self::PRIME);
        }
        self
    }

    /// Mixes a variable-length field with its length first, so ("ab","c") != ("a","bc").
    pub(crate) fn field(&mut self, bytes: &[u8]) -> &mut Self {
        self.write(&(bytes.len() as u64).to_le_bytes()).write(bytes)
    }

    /// Mixes a number.
    pub(crate) fn u64(&mut self, v: u64) -> &mut Self {
        self.write(&v.to_le_bytes())
    }

    pub(crate) fn finish(&self) -> u64 {
        self.0
    }
}

/// SplitMix64 (Steele, Lea and Flood 2014): tiny, fast, and good enough for pictures and tones.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub(crate) fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Uniform in [lo, hi).
    pub(crate) fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.unit()
    }

    /// Uniform in 0..n (n > 0).
    pub(crate) fn below(&mut self, n: u32) -> u32 {
        (((self.next_u64() >> 32) * u64::from(n)) >> 32) as u32
    }

    /// An independent stream for one purpose, so adding draws to one part of the scene does
    /// not reshuffle another.
    pub(crate) fn fork(&mut self, purpose: &str) -> SplitMix64 {
        SplitMix64::new(Fnv64::new().u64(self.next_u64()).field(purpose.as_bytes()).finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_matches_the_reference_stream_for_seed_zero() {
        let mut r = SplitMix64::new(0);
        assert_eq!(r.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(r.next_u64(), 0x6e78_9e6a_a1b9_65f4);
        assert_eq!(r.next_u64(), 0x06c4_5d18_8009_454f);
    }

    #[test]
    fn fnv1a_matches_the_reference_values() {
        assert_eq!(Fnv64::new().finish(), 0xcbf2_9ce4_8422_2325);
        assert_eq!(Fnv64::new().write(b"a").finish(), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn length_prefixed_fields_do_not_collide_when_split_differently() {
        let ab_c = Fnv64::new().field(b"ab").field(b"c").finish();
        let a_bc = Fnv64::new().field(b"a").field(b"bc").finish();
        assert_ne!(ab_c, a_bc);
    }

    #[test]
    fn draws_stay_inside_their_ranges() {
        let mut r = SplitMix64::new(42);
        for _ in 0..10_000 {
            let u = r.unit();
            assert!((0.0..1.0).contains(&u));
            assert!(r.below(7) < 7);
            let x = r.range(-2.0, 3.0);
            assert!((-2.0..3.0).contains(&x));
        }
    }

    #[test]
    fn forks_for_different_purposes_differ_and_repeat() {
        let a = SplitMix64::new(1).fork("discs").next_u64();
        let b = SplitMix64::new(1).fork("audio").next_u64();
        assert_ne!(a, b);
        assert_eq!(a, SplitMix64::new(1).fork("discs").next_u64());
    }
}
