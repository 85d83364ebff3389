// Package apifill fills API objects with random values, for tests that
// check a property over every field of every kind (JSON codecs, decoders
// that read part of an object).
package apifill

import (
	"math/rand/v2"
	"reflect"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/resource"
)

// Strings are the strings Fill picks from: plain ones, empty, and ones
// that JSON escapes (quotes, control characters, HTML, invalid UTF-8,
// line separators).
var Strings = []string{"", "a", "web-1", "<script>&amp;", "x\"y\\z", "tab\tnl\n", "é€😀", "\u2028\u2029", "\xff\xfe", "\x00\x1f", "1.5", "true", "null"}

var (
	timeType      = reflect.TypeFor[api.Time]()
	microTimeType = reflect.TypeFor[api.MicroTime]()
	quantityType  = reflect.TypeFor[resource.Quantity]()
	intOrStrType  = reflect.TypeFor[api.IntOrString]()
	rawJSONType   = reflect.TypeFor[api.RawJSON]()
	quantities    = []string{"0", "100m", "1", "1.5Gi", "2k", "1e3", "128974848", "-3", "0.001"}
	rawJSONs      = []string{"", "null", "1", `"s"`, `{ "a" : [ 1, 2 ] ,"b":{}}`, "[\n true ]"}
)

// Fill sets v, and everything below it, to random values: every field of
// every struct about four times in five, pointers, slices and maps (of
// string keys) up to a depth of 8, and the API's own value types (times,
// quantities, IntOrString, RawJSON with white space) to values they can
// hold. Interfaces are left nil.
func Fill(rng *rand.Rand, v reflect.Value) { fill(rng, v, 0) }

func fill(rng *rand.Rand, v reflect.Value, depth int) {
	if !v.CanSet() {
		return
	}
	switch v.Type() {
	case timeType, microTimeType:
		if rng.IntN(3) > 0 {
			t := time.Unix(rng.Int64N(4e9), rng.Int64N(1e9)).In(time.FixedZone("z", 3600*rng.IntN(5)))
			if v.Type() == timeType {
				v.Set(reflect.ValueOf(api.NewTime(t)))
			} else {
				v.Set(reflect.ValueOf(api.NewMicroTime(t)))
			}
		}
		return
	case quantityType:
		v.Set(reflect.ValueOf(resource.MustParse(quantities[rng.IntN(len(quantities))])))
		return
	case intOrStrType:
		if rng.IntN(2) == 0 {
			v.Set(reflect.ValueOf(api.FromInt32(int32(rng.IntN(100) - 10))))
		} else {
			v.Set(reflect.ValueOf(api.FromString(Strings[rng.IntN(len(Strings))])))
		}
		return
	case rawJSONType:
		v.SetBytes([]byte(rawJSONs[rng.IntN(len(rawJSONs))]))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(Strings[rng.IntN(len(Strings))])
	case reflect.Bool:
		v.SetBool(rng.IntN(2) == 1)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		vals := []int64{0, 1, -1, 42, 1 << 31, -1 << 40}
		n := vals[rng.IntN(len(vals))]
		if v.OverflowInt(n) {
			n = 7
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(rng.IntN(300)))
	case reflect.Float32, reflect.Float64:
		vals := []float64{0, 0.5, 1e21, 1e-7, -3.25, 123456789}
		v.SetFloat(vals[rng.IntN(len(vals))])
	case reflect.Pointer:
		if depth < 8 && rng.IntN(3) > 0 {
			v.Set(reflect.New(v.Type().Elem()))
			fill(rng, v.Elem(), depth+1)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if rng.IntN(5) > 0 {
				fill(rng, v.Field(i), depth+1)
			}
		}
	case reflect.Slice:
		if depth >= 8 {
			return
		}
		n := rng.IntN(3)
		if v.Type().Elem().Kind() == reflect.Uint8 {
			b := make([]byte, n*3)
			for i := range b {
				b[i] = byte(rng.IntN(256))
			}
			v.SetBytes(b)
			return
		}
		v.Set(reflect.MakeSlice(v.Type(), n, n))
		for i := range n {
			fill(rng, v.Index(i), depth+1)
		}
	case reflect.Map:
		if depth >= 8 || v.Type().Key().Kind() != reflect.String {
			return
		}
		n := rng.IntN(4)
		v.Set(reflect.MakeMapWithSize(v.Type(), n))
		for range n {
			k := reflect.New(v.Type().Key()).Elem()
			k.SetString(Strings[rng.IntN(len(Strings))])
			e := reflect.New(v.Type().Elem()).Elem()
			fill(rng, e, depth+1)
			v.SetMapIndex(k, e)
		}
	case reflect.Interface:
		// Left nil: the API's types hold no interfaces.
	}
}
