package deployment

import (
	"encoding/binary"
	"encoding/json"
	"hash/fnv"
	"strconv"

	"github.com/drover-io/drover/api"
)

// PodTemplateHashLabel is the label the controller adds to the selector,
// the template and so the pods of each ReplicaSet it makes, with the
// TemplateHash of the Deployment's template as its value: it keeps the
// ReplicaSets of one Deployment from selecting each other's pods.
const PodTemplateHashLabel = "pod-template-hash"

// safeAlphabet holds the characters of a hash in a name: no vowels (no
// words) and no 0, 1 or 3 (no look-alikes), as Kubernetes names do.
const safeAlphabet = "bcdfghjklmnpqrstvwxz2456789"

// TemplateHash returns the hash that names the ReplicaSet of template t:
// FNV-32a over t's JSON encoding (Go's encoding sorts map keys, so equal
// templates hash alike) and, when collisionCount is set, its value,
// rendered in the safe alphabet of generated names. Bumping the
// collision count gives another name for the same template.
func TemplateHash(t *api.PodTemplateSpec, collisionCount *int32) string {
	h := fnv.New32a()
	data, err := json.Marshal(t)
	if err != nil {
		// The API types always encode; keep the hash defined anyway.
		data = []byte(err.Error())
	}
	h.Write(data)
	if collisionCount != nil {
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], uint32(*collisionCount))
		h.Write(b[:])
	}
	return safeEncode(h.Sum32())
}

// safeEncode renders v's decimal digits in safeAlphabet.
func safeEncode(v uint32) string {
	digits := strconv.FormatUint(uint64(v), 10)
	out := make([]byte, len(digits))
	for i := range len(digits) {
		out[i] = safeAlphabet[int(digits[i])%len(safeAlphabet)]
	}
	return string(out)
}

// equalIgnoringHash reports whether two templates are the same but for
// the PodTemplateHashLabel, which a ReplicaSet's template has and its
// Deployment's has not.
func equalIgnoringHash(a, b *api.PodTemplateSpec) bool {
	return string(templateKey(a)) == string(templateKey(b))
}

// templateKey returns t's JSON encoding without the PodTemplateHashLabel.
func templateKey(t *api.PodTemplateSpec) []byte {
	if _, ok := t.Labels[PodTemplateHashLabel]; ok {
		t = t.DeepCopy()
		delete(t.Labels, PodTemplateHashLabel)
		if len(t.Labels) == 0 {
			t.Labels = nil
		}
	}
	data, err := json.Marshal(t)
	if err != nil {
		return []byte(err.Error())
	}
	return data
}
