package nodeipam

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCIDRSetAllocatesInOrder(t *testing.T) {
	s, err := newCIDRSet(netip.MustParsePrefix("10.244.0.0/16"), 24)
	require.NoError(t, err)
	for _, want := range []string{"10.244.0.0/24", "10.244.1.0/24", "10.244.2.0/24"} {
		p, err := s.allocate()
		require.NoError(t, err)
		require.Equal(t, want, p.String())
	}
	require.NoError(t, s.release(netip.MustParsePrefix("10.244.1.0/24")))
	p, err := s.allocate()
	require.NoError(t, err)
	require.Equal(t, "10.244.1.0/24", p.String(), "the lowest free block")
	require.Equal(t, 256-3, s.free)
}

func TestCIDRSetIPv6(t *testing.T) {
	s, err := newCIDRSet(netip.MustParsePrefix("fd00:10:244::/48"), 64)
	require.NoError(t, err)
	require.Equal(t, 1<<16, s.blocks)
	p, err := s.allocate()
	require.NoError(t, err)
	require.Equal(t, "fd00:10:244::/64", p.String())
	p, err = s.allocate()
	require.NoError(t, err)
	require.Equal(t, "fd00:10:244:1::/64", p.String())
	for _, i := range []int{0, 1, 255, 4242, 1<<16 - 1} {
		require.Equal(t, i, s.blockBits(s.prefix(i).Addr()))
	}
	require.Equal(t, "fd00:10:244:ffff::/64", s.prefix(1<<16-1).String())
}

func TestCIDRSetOccupy(t *testing.T) {
	s, err := newCIDRSet(netip.MustParsePrefix("10.0.0.0/24"), 26) // 4 blocks
	require.NoError(t, err)
	// A /25 takes two blocks; an address range inside a block takes it.
	require.NoError(t, s.occupy(netip.MustParsePrefix("10.0.0.128/25")))
	require.NoError(t, s.occupy(netip.MustParsePrefix("10.0.0.5/32")))
	require.Equal(t, 1, s.free)
	p, err := s.allocate()
	require.NoError(t, err)
	require.Equal(t, "10.0.0.64/26", p.String())
	_, err = s.allocate()
	require.ErrorIs(t, err, errExhausted)
	require.Error(t, s.occupy(netip.MustParsePrefix("10.0.1.0/26")), "outside")
	require.Error(t, s.occupy(netip.MustParsePrefix("10.0.0.0/16")), "larger than the cluster")
	require.Error(t, s.occupy(netip.MustParsePrefix("fd00::/64")), "another family")
	require.NoError(t, s.release(netip.MustParsePrefix("10.0.0.128/25")))
	require.Equal(t, 2, s.free)
}

func TestNewCIDRSetErrors(t *testing.T) {
	for _, tc := range []struct {
		cidr string
		mask int
		want string
	}{
		{"10.0.0.0/16", 33, "longer than an IPv4 address"},
		{"10.0.0.0/16", 8, "shorter than the cluster CIDR"},
		{"10.0.0.0/8", 32, "at most 2^16"},
		{"fd00::/32", 64, "at most 2^16"},
	} {
		_, err := newCIDRSet(netip.MustParsePrefix(tc.cidr), tc.mask)
		require.ErrorContains(t, err, tc.want, tc.cidr)
	}
}

func TestOptionsValidate(t *testing.T) {
	require.NoError(t, Options{}.Validate())
	require.NoError(t, Options{ClusterCIDRs: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/16"), netip.MustParsePrefix("fd00::/48")}}.Validate())
	for _, o := range []Options{
		{Workers: -1},
		{ClusterCIDRs: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/16"), netip.MustParsePrefix("10.1.0.0/16")}},
		{ClusterCIDRs: []netip.Prefix{{}}},
		{ClusterCIDRs: []netip.Prefix{netip.MustParsePrefix("fd00::/48")}, NodeCIDRMaskSizeIPv6: 80},
		{NodeCIDRMaskSizeIPv4: 12},
	} {
		require.Error(t, o.Validate(), "%+v", o)
	}
}
