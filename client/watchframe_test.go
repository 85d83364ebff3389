package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
)

// frames reads every event of stream with a frameReader over r(stream).
func frames(t *testing.T, r io.Reader) ([]string, error) {
	t.Helper()
	fr := &frameReader{r: r}
	var out []string
	for {
		f, err := fr.next()
		if err != nil {
			return out, err
		}
		out = append(out, string(f))
	}
}

func TestFrameReader(t *testing.T) {
	events := []string{
		`{"type":"ADDED","object":{"kind":"Pod","metadata":{"name":"a"}}}`,
		`{"type":"MODIFIED","object":{"metadata":{"name":"b {[\"}","annotations":{"x":"]}\\"}}}}`,
		`{ "type" : "DELETED" , "object" : { } }`,
		`{"type":"BOOKMARK","object":{"list":[1,[2,{"a":[]}]]}}`,
	}
	stream := "\n" + events[0] + "\n" + events[1] + events[2] + " \r\n\t" + events[3] + "\n\n"
	big := `{"type":"ADDED","object":{"data":"` + strings.Repeat("x", 100<<10) + `"}}`
	for name, r := range map[string]func() io.Reader{
		"whole":    func() io.Reader { return strings.NewReader(stream) },
		"one byte": func() io.Reader { return iotest.OneByteReader(strings.NewReader(stream)) },
		"half":     func() io.Reader { return iotest.HalfReader(strings.NewReader(stream)) },
	} {
		t.Run(name, func(t *testing.T) {
			got, err := frames(t, r())
			assert.ErrorIs(t, err, io.EOF)
			assert.Equal(t, events, got)
		})
	}
	t.Run("larger than the buffer", func(t *testing.T) {
		got, err := frames(t, iotest.HalfReader(strings.NewReader(big+"\n"+events[0]+big)))
		assert.ErrorIs(t, err, io.EOF)
		assert.Equal(t, []string{big, events[0], big}, got)
	})
	t.Run("cut short", func(t *testing.T) {
		got, err := frames(t, strings.NewReader(events[0]+"\n"+events[1][:20]))
		assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
		assert.Equal(t, events[:1], got)
	})
	t.Run("not an object", func(t *testing.T) {
		got, err := frames(t, strings.NewReader(events[0]+"\n[1]"))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "looking for the beginning of a watch event")
		assert.Equal(t, events[:1], got)
	})
	t.Run("read error", func(t *testing.T) {
		boom := errors.New("boom")
		got, err := frames(t, io.MultiReader(strings.NewReader(events[0]+events[1][:10]), iotest.ErrReader(boom)))
		assert.ErrorIs(t, err, boom)
		assert.Equal(t, events[:1], got)
	})
}

// TestDecodeFrameAgrees checks the one-pass decode against the two-pass
// reference (the envelope, then decodeEvent) on good and bad events.
func TestDecodeFrameAgrees(t *testing.T) {
	k, ok := api.NewDefaultScheme().KindFor(api.CoreV1.WithKind("Pod"))
	require.True(t, ok)
	for _, ev := range []string{
		`{"type":"ADDED","object":{"kind":"Pod","apiVersion":"v1","metadata":{"name":"a","resourceVersion":"7","labels":{"x":"y"}},"spec":{"nodeName":"n","containers":[{"name":"c","image":"i","resources":{"requests":{"cpu":"100m"}}}]}}}`,
		`{"object":{"metadata":{"name":"a"}},"type":"MODIFIED"}`,
		`{"type":"DELETED","object":null}`,
		`{"type":"BOOKMARK","object":{"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":"12"}}}`,
		`{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","message":"too old","reason":"Expired","code":410}}`,
		`{"type":"ADDED","object":{"kind":"Service","apiVersion":"v1","metadata":{"name":"s"}}}`,
		`{"type":"SOMETHING","object":{}}`,
		`{"type":"ADDED","object":{"spec":{"containers":{}}}}`,
		`{"type":5,"object":{}}`,
		`{"type":"ADDED","object":{"metadata":{"name":"a"}}`,
	} {
		got, gotErr := decodeFrame(k, []byte(ev))
		var want Event
		var wantErr error
		var we api.WatchEvent
		envelopeErr := json.NewDecoder(bytes.NewReader([]byte(ev))).Decode(&we)
		if envelopeErr == nil {
			want, wantErr = decodeEvent(k, &we)
		}
		if envelopeErr != nil || wantErr != nil {
			require.Error(t, gotErr, ev)
			_, stream := errors.AsType[*streamError](gotErr)
			assert.Equal(t, envelopeErr != nil, stream, "%s: %v", ev, gotErr)
			if wantErr != nil {
				assert.Equal(t, wantErr.Error(), gotErr.Error(), ev)
			}
			continue
		}
		require.NoError(t, gotErr, ev)
		assert.Equal(t, want.Type, got.Type, ev)
		assert.Equal(t, want.Object, got.Object, ev)
		if want.Err != nil {
			assert.Equal(t, want.Err.Error(), got.Err.Error(), ev)
		}
	}
}

// BenchmarkDecodeWatchEvent compares the watch decode with the two-pass
// one it replaced, on the events of a pod being created and bound.
func BenchmarkDecodeWatchEvent(b *testing.B) {
	k, _ := api.NewDefaultScheme().KindFor(api.CoreV1.WithKind("Pod"))
	ev := []byte(`{"type":"MODIFIED","object":{"kind":"Pod","apiVersion":"v1","metadata":{"name":"pod-1234","namespace":"bench","uid":"0b7f5a4e-8d5c-4a57-9d7a-1f8f8f1b2c3d","resourceVersion":"123456","generation":1,"creationTimestamp":"2026-11-21T11:00:00Z"},"spec":{"containers":[{"name":"c","image":"registry.k8s.io/pause:3.10","resources":{"requests":{"cpu":"100m","memory":"100Mi"}},"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File","imagePullPolicy":"IfNotPresent"}],"restartPolicy":"Always","terminationGracePeriodSeconds":30,"dnsPolicy":"ClusterFirst","nodeName":"node-17","schedulerName":"default-scheduler","enableServiceLinks":true,"preemptionPolicy":"PreemptLowerPriority","priority":0},"status":{"phase":"Pending","conditions":[{"type":"PodScheduled","status":"True","lastProbeTime":null,"lastTransitionTime":"2026-11-21T11:00:01Z"}],"qosClass":"Burstable"}}}` + "\n")
	stream := bytes.Repeat(ev, 64)
	b.Run("frame", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(ev)))
		for b.Loop() {
			fr := &frameReader{r: bytes.NewReader(stream)}
			for range 64 {
				f, err := fr.next()
				if err != nil {
					b.Fatal(err)
				}
				if _, err := decodeFrame(k, f); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("decoder", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(ev)))
		for b.Loop() {
			dec := json.NewDecoder(bytes.NewReader(stream))
			for range 64 {
				var we api.WatchEvent
				if err := dec.Decode(&we); err != nil {
					b.Fatal(err)
				}
				if _, err := decodeEvent(k, &we); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
