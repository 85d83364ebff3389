package storebench

import (
	"fmt"
	"io"
	"maps"
	"slices"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// metricKey names one series: the metric name, with "_sum" or "_count"
// for histograms and "/<value>" for every label but member appended, and
// the member it was read from.
type metricKey struct {
	name   string
	member string
}

// metricValues is a scrape of counters, gauges and histogram sums and
// counts, which is all a cell's report needs: their deltas.
type metricValues map[metricKey]float64

// flatten turns metric families into metricValues. A series' member is
// its "member" label, or member if it has none (etcd's metrics do not say
// which member they come from).
func flatten(mfs []*dto.MetricFamily, member string) metricValues {
	out := make(metricValues)
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			name := mf.GetName()
			who := member
			for _, l := range m.GetLabel() {
				if l.GetName() == "member" {
					who = l.GetValue()
					continue
				}
				name += "/" + l.GetValue()
			}
			switch {
			case m.Counter != nil:
				out[metricKey{name, who}] = m.Counter.GetValue()
			case m.Gauge != nil:
				out[metricKey{name, who}] = m.Gauge.GetValue()
			case m.Untyped != nil:
				out[metricKey{name, who}] = m.Untyped.GetValue()
			case m.Histogram != nil:
				out[metricKey{name + "_sum", who}] = m.Histogram.GetSampleSum()
				out[metricKey{name + "_count", who}] = float64(m.Histogram.GetSampleCount())
			case m.Summary != nil:
				out[metricKey{name + "_sum", who}] = m.Summary.GetSampleSum()
				out[metricKey{name + "_count", who}] = float64(m.Summary.GetSampleCount())
			}
		}
	}
	return out
}

// parseMetrics reads the Prometheus text exposition format.
func parseMetrics(r io.Reader, member string) (metricValues, error) {
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("parse metrics: %w", err)
	}
	mfs := make([]*dto.MetricFamily, 0, len(fams))
	for _, name := range slices.Sorted(maps.Keys(fams)) {
		mfs = append(mfs, fams[name])
	}
	return flatten(mfs, member), nil
}

// fmtSeconds formats a mean in seconds as a latency; NaN (no samples)
// gives "-".
func fmtSeconds(s float64) string {
	if s != s { // NaN: 0/0
		return "-"
	}
	return fmtLatency(secondsToDuration(s))
}
