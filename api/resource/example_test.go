package resource_test

import (
	"encoding/json"
	"fmt"

	"github.com/drover-io/drover/api/resource"
)

func Example() {
	// Parse what a manifest says.
	request, err := resource.ParseQuantity("1.5Gi")
	if err != nil {
		panic(err)
	}
	limit := resource.MustParse("2Gi")

	// Compare, whatever the suffixes.
	if request.Cmp(limit) <= 0 {
		fmt.Println(request, "fits in", limit)
	}

	// Add: the sum keeps the receiver's format and stays exact.
	cpu := resource.MustParse("1.5")
	cpu.Add(resource.MustParse("250m"))
	fmt.Println(cpu, cpu.MilliValue())

	// Print in canonical form.
	for _, s := range []string{"1000", "1500", "0.1", "1024Mi", "0.5Ki", "2e3", "0.0000000001"} {
		fmt.Printf("%s -> %s\n", s, resource.MustParse(s))
	}

	// Errors say what is allowed.
	_, err = resource.ParseQuantity("12x")
	fmt.Println(err)
	// Output:
	// 1536Mi fits in 2Gi
	// 1750m 1750
	// 1000 -> 1k
	// 1500 -> 1500
	// 0.1 -> 100m
	// 1024Mi -> 1Gi
	// 0.5Ki -> 512
	// 2e3 -> 2e3
	// 0.0000000001 -> 1n
	// quantity "12x": unknown suffix "x"; allowed: n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei, or an exponent like e3
}

func ExampleQuantity_Add() {
	// Summing from the zero Quantity: the total takes the format of the
	// first addend, so memory sums print in binary SI.
	var total resource.Quantity
	for _, s := range []string{"128Mi", "512Mi", "384Mi"} {
		total.Add(resource.MustParse(s))
	}
	fmt.Println(total, total.Value())

	free := resource.MustParse("4Gi")
	free.Sub(total)
	fmt.Println(free)
	// Output:
	// 1Gi 1073741824
	// 3Gi
}

func ExampleQuantity_UnmarshalJSON() {
	var requests struct {
		CPU    resource.Quantity `json:"cpu"`
		Memory resource.Quantity `json:"memory"`
		GPU    resource.Quantity `json:"gpu,omitzero"`
	}
	// A quantity may be a JSON string or a number.
	if err := json.Unmarshal([]byte(`{"cpu": 0.5, "memory": "1024Mi"}`), &requests); err != nil {
		panic(err)
	}
	out, _ := json.Marshal(requests)
	fmt.Println(string(out))
	// Output:
	// {"cpu":"500m","memory":"1Gi"}
}
