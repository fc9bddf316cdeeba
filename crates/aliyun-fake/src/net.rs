//! IPv4 CIDR arithmetic for vSwitch address pools and route validation.

use std::net::Ipv4Addr;

/// An IPv4 network in CIDR notation, normalised to its network address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr4 {
    /// Network address as a number.
    pub base: u32,
    /// Prefix length, 0..=32.
    pub prefix: u8,
}

impl Cidr4 {
    /// Parses `a.b.c.d/n`, or a bare address as `/32`. `None` when malformed.
    /// Host bits set below the prefix are rejected, as the VPC API does.
    pub fn parse(text: &str) -> Option<Self> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, p.parse::<u8>().ok()?),
            None => (text, 32),
        };
        if prefix > 32 {
            return None;
        }
        let base = u32::from(addr.parse::<Ipv4Addr>().ok()?);
        let cidr = Self { base, prefix };
        (base & cidr.mask() == base).then_some(cidr)
    }

    /// The netmask as a number.
    pub fn mask(self) -> u32 {
        if self.prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(self.prefix)) }
    }

    /// Number of addresses in the block.
    pub fn size(self) -> u64 {
        1u64 << (32 - u32::from(self.prefix))
    }

    /// Whether `other` lies entirely within this block (or equals it).
    pub fn contains(self, other: Cidr4) -> bool {
        other.prefix >= self.prefix && other.base & self.mask() == self.base
    }

    /// Whether the two blocks share any address.
    pub fn overlaps(self, other: Cidr4) -> bool {
        self.contains(other) || other.contains(self)
    }

    /// The address at `offset` from the network address.
    pub fn address_at(self, offset: u32) -> Ipv4Addr {
        Ipv4Addr::from(self.base.wrapping_add(offset))
    }

    /// Offset of `ip` inside this block, if it is inside.
    pub fn offset_of(self, ip: Ipv4Addr) -> Option<u32> {
        let n = u32::from(ip);
        (n & self.mask() == self.base).then(|| n - self.base)
    }
}

impl std::fmt::Display for Cidr4 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", Ipv4Addr::from(self.base), self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_normalises() {
        let c = Cidr4::parse("192.168.0.0/16").unwrap();
        assert_eq!(c.prefix, 16);
        assert_eq!(c.size(), 65536);
        assert_eq!(Cidr4::parse("10.0.0.1").unwrap().prefix, 32);
        assert!(Cidr4::parse("192.168.1.0/16").is_none(), "host bits set");
        assert!(Cidr4::parse("300.0.0.0/8").is_none());
        assert!(Cidr4::parse("10.0.0.0/33").is_none());
        assert!(Cidr4::parse("abc").is_none());
        assert_eq!(c.to_string(), "192.168.0.0/16");
    }

    #[test]
    fn containment_and_overlap() {
        let vpc = Cidr4::parse("192.168.0.0/16").unwrap();
        let vsw = Cidr4::parse("192.168.1.0/24").unwrap();
        let pod = Cidr4::parse("172.20.0.0/24").unwrap();
        assert!(vpc.contains(vsw));
        assert!(!vsw.contains(vpc));
        assert!(vsw.overlaps(vpc));
        assert!(!pod.overlaps(vpc));
        assert_eq!(vsw.offset_of("192.168.1.7".parse().unwrap()), Some(7));
        assert_eq!(vsw.address_at(9).to_string(), "192.168.1.9");
    }
}
