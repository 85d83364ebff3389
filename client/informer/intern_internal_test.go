package informer

import (
	"maps"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/resource"
)

// TestSameQuantityIsDeepEqual checks that the interner's comparison of
// resource lists agrees with reflect.DeepEqual, which decides whether two
// maps may be shared: the same value in another format, or another value,
// is different.
func TestSameQuantityIsDeepEqual(t *testing.T) {
	wire := func(s string) resource.Quantity {
		q, err := resource.ParseWire(s)
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	qs := []resource.Quantity{
		wire("1Gi"), wire("1073741824"), wire("1G"), wire("100m"), wire("0.1"), wire("1e3"), wire("1k"),
		wire("123456789012345678901234567890"), wire("123456789012345678901234567890"), {},
	}
	for _, a := range qs {
		for _, b := range qs {
			assert.Equal(t, reflect.DeepEqual(a, b), sameQuantity(a, b), "%v (%v) and %v (%v)", a, a.Format, b, b.Format)
			la, lb := api.ResourceList{"memory": a}, api.ResourceList{"memory": b}
			assert.Equal(t, reflect.DeepEqual(la, lb), maps.EqualFunc(la, lb, sameQuantity), "%v and %v", la, lb)
		}
	}
}
