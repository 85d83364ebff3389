package resource

import "testing"

// Sinks keep the compiler from discarding benchmark results.
var (
	sinkString string
	sinkBytes  []byte
)

// fastInputs are typical requests, limits and capacities: all take the int64
// path.
var fastInputs = []string{"100m", "250m", "1", "2", "1.5", "128Mi", "1Gi", "1.5Gi", "500M", "2e3"}

// slowInputs need big integers.
var slowInputs = []string{"123456789012345678901234567890", "12345678901234567890.123456789", "1e90"}

func parseAll(b *testing.B, in []string) []Quantity {
	b.Helper()
	out := make([]Quantity, len(in))
	for i, s := range in {
		out[i] = MustParse(s)
	}
	return out
}

func BenchmarkParse(b *testing.B) {
	for _, c := range []struct {
		name string
		in   []string
	}{{"fast", fastInputs}, {"slow", slowInputs}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, err := ParseQuantity(c.in[i%len(c.in)]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAdd(b *testing.B) {
	for _, c := range []struct {
		name string
		in   []string
	}{{"fast", fastInputs}, {"slow", slowInputs}} {
		b.Run(c.name, func(b *testing.B) {
			values := parseAll(b, c.in)
			var sum Quantity
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if i%1024 == 0 {
					sum = Quantity{}
				}
				sum.Add(values[i%len(values)])
			}
			if sum.Sign() <= 0 {
				b.Fatal(sum)
			}
		})
	}
}

func BenchmarkCmp(b *testing.B) {
	for _, c := range []struct {
		name string
		in   []string
	}{{"fast", fastInputs}, {"slow", slowInputs}} {
		b.Run(c.name, func(b *testing.B) {
			values := parseAll(b, c.in)
			n := 0
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				n += values[i%len(values)].Cmp(values[(i+1)%len(values)])
			}
			_ = n
		})
	}
}

func BenchmarkString(b *testing.B) {
	for _, c := range []struct {
		name string
		in   []string
	}{{"fast", fastInputs}, {"slow", slowInputs}} {
		b.Run(c.name, func(b *testing.B) {
			values := parseAll(b, c.in)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				sinkString = values[i%len(values)].String()
			}
		})
	}
}

func BenchmarkMarshalJSON(b *testing.B) {
	values := parseAll(b, fastInputs)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		var err error
		if sinkBytes, err = values[i%len(values)].MarshalJSON(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshalJSON(b *testing.B) {
	var data [][]byte
	for _, q := range parseAll(b, fastInputs) {
		d, _ := q.MarshalJSON()
		data = append(data, d)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		var q Quantity
		if err := q.UnmarshalJSON(data[i%len(data)]); err != nil {
			b.Fatal(err)
		}
	}
}
