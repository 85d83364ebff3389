package nodeipam

import (
	"errors"
	"fmt"
	"math/bits"
	"net/netip"
)

// This file is the pure core: a bitmap of the node-sized blocks of one
// cluster CIDR.

// maxBlockBits bounds the blocks of a cluster CIDR to 2^16 (a /16 of /32s,
// a /48 of /64s): the bitmap takes 8 KiB at most.
const maxBlockBits = 16

// errExhausted is returned by cidrSet.allocate when every block is taken.
var errExhausted = errors.New("nodeipam: the cluster CIDR has no free block left")

// cidrSet hands out the blocks of size maskSize of a cluster CIDR, lowest
// free first. It is not safe for concurrent use.
type cidrSet struct {
	cluster  netip.Prefix
	maskSize int
	blocks   int      // 1 << (maskSize - cluster bits)
	used     []uint64 // bit i: block i is taken
	free     int
}

func newCIDRSet(cluster netip.Prefix, maskSize int) (*cidrSet, error) {
	cluster = cluster.Masked()
	if !cluster.IsValid() {
		return nil, errors.New("nodeipam: the cluster CIDR is not valid")
	}
	diff := maskSize - cluster.Bits()
	switch {
	case maskSize > cluster.Addr().BitLen():
		return nil, fmt.Errorf("nodeipam: node mask size /%d is longer than an %s address", maskSize, family(cluster))
	case diff < 0:
		return nil, fmt.Errorf("nodeipam: node mask size /%d is shorter than the cluster CIDR %s", maskSize, cluster)
	case diff > maxBlockBits:
		return nil, fmt.Errorf("nodeipam: cluster CIDR %s has 2^%d blocks of /%d: at most 2^%d are allowed (a longer cluster prefix or a shorter node mask)",
			cluster, diff, maskSize, maxBlockBits)
	}
	n := 1 << diff
	return &cidrSet{cluster: cluster, maskSize: maskSize, blocks: n, used: make([]uint64, (n+63)/64), free: n}, nil
}

func family(p netip.Prefix) string {
	if p.Addr().Is4() {
		return "IPv4"
	}
	return "IPv6"
}

// allocate takes the lowest free block.
func (s *cidrSet) allocate() (netip.Prefix, error) {
	if s.free == 0 {
		return netip.Prefix{}, errExhausted
	}
	for w, word := range s.used {
		if word == ^uint64(0) {
			continue
		}
		i := w*64 + bits.TrailingZeros64(^word)
		if i >= s.blocks {
			break
		}
		s.set(i, true)
		return s.prefix(i), nil
	}
	return netip.Prefix{}, errExhausted
}

// occupy marks the blocks p covers as taken (a p longer than a block takes
// the block holding it). It fails if p is not inside the cluster CIDR.
func (s *cidrSet) occupy(p netip.Prefix) error {
	first, last, err := s.indexes(p)
	if err != nil {
		return err
	}
	for i := first; i <= last; i++ {
		s.set(i, true)
	}
	return nil
}

// release marks the blocks p covers as free.
func (s *cidrSet) release(p netip.Prefix) error {
	first, last, err := s.indexes(p)
	if err != nil {
		return err
	}
	for i := first; i <= last; i++ {
		s.set(i, false)
	}
	return nil
}

// contains reports whether p is inside the cluster CIDR.
func (s *cidrSet) contains(p netip.Prefix) bool {
	return p.Addr().Is4() == s.cluster.Addr().Is4() && p.Bits() >= s.cluster.Bits() && s.cluster.Contains(p.Addr())
}

func (s *cidrSet) set(i int, used bool) {
	w, b := i/64, uint64(1)<<(i%64)
	switch was := s.used[w]&b != 0; {
	case used && !was:
		s.used[w] |= b
		s.free--
	case !used && was:
		s.used[w] &^= b
		s.free++
	}
}

// indexes returns the first and last block p covers.
func (s *cidrSet) indexes(p netip.Prefix) (first, last int, err error) {
	if !s.contains(p) {
		return 0, 0, fmt.Errorf("nodeipam: %s is not inside the cluster CIDR %s", p, s.cluster)
	}
	p = p.Masked()
	first = s.blockBits(p.Addr())
	last = first
	if p.Bits() < s.maskSize {
		last = first + 1<<(s.maskSize-p.Bits()) - 1
	}
	return first, last, nil
}

// blockBits returns the bits of a between the cluster prefix and the node
// mask: the number of its block.
func (s *cidrSet) blockBits(a netip.Addr) int {
	b := a.As16()
	off := 128 - a.BitLen() // IPv4 sits in the last 4 bytes
	i := 0
	for pos := s.cluster.Bits(); pos < s.maskSize; pos++ {
		k := off + pos
		i = i<<1 | int(b[k/8]>>(7-k%8)&1)
	}
	return i
}

// prefix returns block i.
func (s *cidrSet) prefix(i int) netip.Prefix {
	a := s.cluster.Addr()
	b := a.As16()
	off := 128 - a.BitLen()
	for pos := s.maskSize - 1; pos >= s.cluster.Bits(); pos-- {
		k := off + pos
		if i&1 == 1 {
			b[k/8] |= 1 << (7 - k%8)
		}
		i >>= 1
	}
	addr := netip.AddrFrom16(b)
	if a.Is4() {
		addr = addr.Unmap()
	}
	return netip.PrefixFrom(addr, s.maskSize)
}
