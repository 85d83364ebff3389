package resource

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

type resources struct {
	CPU    Quantity  `json:"cpu,omitzero"`
	Memory Quantity  `json:"memory,omitzero"`
	Limit  *Quantity `json:"limit,omitempty"`
}

func TestMarshalJSON(t *testing.T) {
	zero := MustParse("1")
	zero.Sub(MustParse("1000m"))
	lim := MustParse("0.5")
	tests := []struct {
		name string
		in   resources
		want string
	}{
		{"canonical strings", resources{CPU: MustParse("1.5"), Memory: MustParse("1024Mi")}, `{"cpu":"1500m","memory":"1Gi"}`},
		{"omitzero", resources{}, `{}`},
		{"omitzero after arithmetic", resources{CPU: zero, Memory: MustParse("0Gi")}, `{}`},
		{"pointer", resources{Limit: &lim}, `{"limit":"500m"}`},
		{"pointer to zero", resources{Limit: &Quantity{}}, `{"limit":"0"}`},
		{"big", resources{CPU: MustParse("-123456789012345678901234567890")}, `{"cpu":"-123456789012345678901234567890"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.want, string(got))
		})
	}
}

func TestUnmarshalJSON(t *testing.T) {
	tests := []struct {
		in     string
		want   string
		format Format
	}{
		{`"1.5"`, "1500m", DecimalSI},
		{`"128Mi"`, "128Mi", BinarySI},
		{`"2e3"`, "2e3", DecimalExponent},
		{`" 1 "`, "1", DecimalSI},
		{`"\u0031Gi"`, "1Gi", BinarySI},
		{`"\t100m\n"`, "100m", DecimalSI},
		// Numbers, as YAML "cpu: 2" becomes.
		{`2`, "2", DecimalSI},
		{`-1`, "-1", DecimalSI},
		{`0.5`, "500m", DecimalSI},
		// The format is the one the canonical form decodes with: 1.5e3
		// prints as 1500, 1.5Ki as 1536, 0Mi as 0 (ParseWire).
		{`1.5e3`, "1500", DecimalSI},
		{`"1.5Ki"`, "1536", DecimalSI},
		{`"0Mi"`, "0", DecimalSI},
		{`"2048Ki"`, "2Mi", BinarySI},
		{`1E+3`, "1e3", DecimalExponent},
		{`-0`, "0", DecimalSI},
		{`123456789012345678901234567890`, "123456789012345678901234567890", DecimalSI},
		{` 1 `, "1", DecimalSI},
		{`null`, "0", DecimalSI},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			q := MustParse("7Ki")
			require.NoError(t, json.Unmarshal([]byte(tt.in), &q))
			assert.Equal(t, tt.want, q.String())
			assert.Equal(t, tt.format, q.Format)
		})
	}
}

func TestUnmarshalJSONErrors(t *testing.T) {
	tests := []struct {
		in   string
		kind error // nil if not a ParseError
		msg  string
	}{
		{`true`, nil, `quantity: cannot decode JSON "true"; want a string such as "500m" or "128Mi", or a number`},
		{`{}`, nil, `quantity: cannot decode JSON "{}"; want a string such as "500m" or "128Mi", or a number`},
		{`[1]`, nil, `quantity: cannot decode JSON "[1]"; want a string such as "500m" or "128Mi", or a number`},
		{``, nil, `quantity: cannot decode JSON ""; want a string such as "500m" or "128Mi", or a number`},
		{`"12x"`, ErrSuffix, `quantity "12x": unknown suffix "x"; allowed: n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei, or an exponent like e3`},
		{`""`, ErrSyntax, `quantity "": empty string; want a number with an optional suffix, e.g. 100m, 1.5 or 128Mi`},
		{`"1e999"`, ErrRange, `quantity "1e999": too large; a decimal quantity must be below 1e100 in magnitude`},
		{`1e999`, ErrRange, `quantity "1e999": too large; a decimal quantity must be below 1e100 in magnitude`},
		{`"abc`, nil, `quantity: invalid JSON string "\"abc": unexpected end of JSON input`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			q := MustParse("7Ki")
			err := q.UnmarshalJSON([]byte(tt.in))
			require.Error(t, err)
			assert.Equal(t, tt.msg, err.Error())
			var pe *ParseError
			assert.Equal(t, tt.kind != nil, errors.As(err, &pe))
			if tt.kind != nil {
				assert.ErrorIs(t, err, tt.kind)
			}
			assert.Equal(t, "7Ki", q.String(), "q is unchanged")
		})
	}
	// Through encoding/json, the message is kept.
	var r resources
	err := json.Unmarshal([]byte(`{"cpu":"1K"}`), &r)
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrSuffix)
	assert.Contains(t, err.Error(), `quantity "1K": unknown suffix "K"`)
}

func TestJSONRoundTrip(t *testing.T) {
	for _, s := range []string{
		"0", "100m", "1.5", "-1.5", "128Mi", "1.5Gi", "0.5Ki", "1.0001Ki", "2e3", "1e-9",
		"0.0000000001", "9Ei", "9223372036854775808", "-123456789012345678901234567890",
		"1000E", "1e99", "12345678901234567890.123456789",
	} {
		t.Run(s, func(t *testing.T) {
			in := resources{CPU: MustParse(s), Limit: new(MustParse(s))}
			data, err := json.Marshal(in)
			require.NoError(t, err)
			var out resources
			require.NoError(t, json.Unmarshal(data, &out))
			assert.Zero(t, out.CPU.Cmp(in.CPU), "%s: %s", s, data)
			assert.Equal(t, in.CPU.String(), out.CPU.String())
			require.NotNil(t, out.Limit)
			assert.Zero(t, out.Limit.Cmp(in.CPU))
		})
	}
}

func TestYAML(t *testing.T) {
	var r resources
	require.NoError(t, yaml.Unmarshal([]byte("cpu: 2\nmemory: 128Mi\nlimit: 0.5\n"), &r))
	assert.Equal(t, "2", r.CPU.String())
	assert.Equal(t, "128Mi", r.Memory.String())
	require.NotNil(t, r.Limit)
	assert.Equal(t, "500m", r.Limit.String())

	out, err := yaml.Marshal(resources{CPU: MustParse("1.5"), Memory: MustParse("1024Mi")})
	require.NoError(t, err)
	assert.Equal(t, "cpu: 1500m\nmemory: 1Gi\n", string(out))
}

func TestText(t *testing.T) {
	q := MustParse("1.5Gi")
	b, err := q.MarshalText()
	require.NoError(t, err)
	assert.Equal(t, "1536Mi", string(b))
	b, err = q.AppendText([]byte("mem="))
	require.NoError(t, err)
	assert.Equal(t, "mem=1536Mi", string(b))

	var p Quantity
	require.NoError(t, p.UnmarshalText([]byte("250m")))
	assert.Equal(t, "250m", p.String())
	err = p.UnmarshalText([]byte(" 1"))
	assert.ErrorIs(t, err, ErrSyntax)
	assert.Equal(t, "250m", p.String(), "p is unchanged")

	// A Quantity works as a flag.
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	mem := MustParse("1Gi")
	fs.TextVar(&mem, "memory", MustParse("1Gi"), "memory limit")
	require.NoError(t, fs.Parse([]string{"-memory=512Mi"}))
	assert.Equal(t, "512Mi", mem.String())

	// fmt uses String for values and pointers alike.
	assert.Equal(t, "1536Mi 1536Mi {1500m 0 <nil>}", fmt.Sprint(q, &q, resources{CPU: MustParse("1.5")}))
}
