package api

import (
	"encoding/json"
	"os"
	"testing"
)

// BenchmarkDecodePod compares the strict decoder with plain encoding/json
// (the reference: what a lenient decoder costs) on the same Pod document.
func BenchmarkDecodePod(b *testing.B) {
	data, err := os.ReadFile("testdata/pod.json")
	if err != nil {
		b.Fatal(err)
	}
	s := NewDefaultScheme()
	b.Run("strict", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := s.Decode(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			var p Pod
			if err := json.Unmarshal(data, &p); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func benchPod(b *testing.B) *Pod {
	b.Helper()
	data, err := os.ReadFile("testdata/pod.json")
	if err != nil {
		b.Fatal(err)
	}
	obj, err := NewDefaultScheme().Decode(data)
	if err != nil {
		b.Fatal(err)
	}
	return obj.(*Pod)
}

func BenchmarkEncodePod(b *testing.B) {
	pod, s := benchPod(b), NewDefaultScheme()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Encode(pod); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDefaultValidatePod(b *testing.B) {
	pod := benchPod(b)
	Default(pod)
	if errs := Validate(pod); len(errs) > 0 {
		b.Fatal(errs)
	}
	b.Run("default", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Default(pod)
		}
	})
	b.Run("validate", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if errs := Validate(pod); len(errs) > 0 {
				b.Fatal(errs)
			}
		}
	})
}
