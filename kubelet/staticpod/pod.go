package staticpod

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/drover-io/drover/api"
)

// The annotations of static and mirror pods, with the keys Kubernetes uses.
const (
	// AnnotationSource says where the node agent read a pod from: "file"
	// for a static pod of this package, "api" for a pod of the API server.
	AnnotationSource = "kubernetes.io/config.source"
	// AnnotationHash is a static pod's hash, equal to its UID.
	AnnotationHash = "kubernetes.io/config.hash"
	// AnnotationSeen is when the node agent first read the static pod's
	// manifest in its present form (RFC 3339, nanoseconds).
	AnnotationSeen = "kubernetes.io/config.seen"
	// AnnotationMirror marks a mirror pod; its value is the AnnotationHash
	// of the static pod it mirrors.
	AnnotationMirror = "kubernetes.io/config.mirror"
)

// SourceFile is the AnnotationSource of the pods of a Source.
const SourceFile = "file"

// SourceAPI is the AnnotationSource that pods of the API server have, for
// the node agents that set it.
const SourceAPI = "api"

// IsStatic reports whether pod was read from a manifest rather than from
// the API server: it has an AnnotationSource other than SourceAPI, and is
// not a mirror pod (which carries its static pod's annotations, but is
// the API server's copy of it).
func IsStatic(pod *api.Pod) bool {
	if pod == nil || IsMirror(pod) {
		return false
	}
	src, ok := pod.Annotations[AnnotationSource]
	return ok && src != SourceAPI
}

// IsMirror reports whether pod is a mirror pod: it has AnnotationMirror.
func IsMirror(pod *api.Pod) bool {
	if pod == nil {
		return false
	}
	_, ok := pod.Annotations[AnnotationMirror]
	return ok
}

// MirrorHash returns the hash that ties a static pod and its mirror pod:
// a mirror pod's AnnotationMirror, or a static pod's AnnotationHash. It
// returns "" for any other pod. A mirror pod is current when its
// MirrorHash is that of its static pod.
func MirrorHash(pod *api.Pod) string {
	switch {
	case IsMirror(pod):
		return pod.Annotations[AnnotationMirror]
	case IsStatic(pod):
		return pod.Annotations[AnnotationHash]
	}
	return ""
}

// manifestError is a manifest that cannot run: which document of which
// file, and what is wrong, field by field when it is about fields.
type manifestError struct {
	File string
	// Document is the 1-based document of a multi-document file, 0 when
	// not known.
	Document int
	// Fields holds the offending fields; it may be empty.
	Fields api.ErrorList
	Err    error
}

func (e *manifestError) Error() string {
	where := e.File
	if e.Document > 0 {
		where = fmt.Sprintf("%s document %d", e.File, e.Document)
	}
	if e.Err != nil {
		return fmt.Sprintf("static pod manifest %s: %v", where, e.Err)
	}
	return fmt.Sprintf("static pod manifest %s: %v", where, e.Fields)
}

func (e *manifestError) Unwrap() error {
	if e.Err != nil {
		return e.Err
	}
	return e.Fields
}

// fieldNames returns the paths of e's fields, for the log.
func (e *manifestError) fieldNames() []string {
	out := make([]string, 0, len(e.Fields))
	for _, f := range e.Fields {
		out = append(out, f.Field)
	}
	return out
}

// parseManifest decodes the manifest data of file (its base name, the
// source of the pods' UIDs) into static pods for nodeName, seen at seen.
// Every document must be a valid v1 Pod; the first one that is not fails
// the whole file with a *manifestError. A file with no document gives no
// pods and no error.
func parseManifest(scheme *api.Scheme, data []byte, file, nodeName string, seen time.Time) ([]*api.Pod, error) {
	objs, err := scheme.DecodeAll(data)
	if err != nil {
		me := &manifestError{File: file, Err: err}
		var de *api.DecodeError
		if errors.As(err, &de) {
			me.Document = de.Document
			if len(de.Fields) > 0 {
				me.Fields = de.Fields
			}
		}
		return nil, me
	}
	pods := make([]*api.Pod, 0, len(objs))
	for i, obj := range objs {
		doc := i + 1
		if len(objs) == 1 {
			doc = 0
		}
		pod, ok := obj.(*api.Pod)
		if !ok {
			gvk := obj.GetTypeMeta().GroupVersionKind()
			return nil, &manifestError{File: file, Document: doc,
				Fields: api.ErrorList{api.Invalid(api.NewPath("kind"), gvk.Kind,
					"a static pod manifest holds Pods only (apiVersion v1, kind Pod)")}}
		}
		if pod.Name == "" {
			return nil, &manifestError{File: file, Document: doc,
				Fields: api.ErrorList{api.Required(api.NewPath("metadata", "name"), "a static pod needs a name")}}
		}
		raw, err := scheme.Encode(pod)
		if err != nil {
			return nil, &manifestError{File: file, Document: doc, Err: err}
		}
		uid := podUID(raw, nodeName, file)
		setIdentity(pod, nodeName, uid, seen)
		api.Default(pod)
		if errs := scheme.Validate(pod); len(errs) > 0 {
			return nil, &manifestError{File: file, Document: doc, Fields: errs}
		}
		pods = append(pods, pod)
	}
	return pods, nil
}

// podUID is the UID of a static pod: a hash of its document (as decoded
// and encoded again, so that comments and layout do not count), the node
// and the file it came from. It is the same on every node agent start and
// changes with any of the three.
func podUID(doc []byte, nodeName, file string) api.UID {
	h := sha256.New()
	h.Write([]byte("drover static pod\x00"))
	h.Write(doc)
	fmt.Fprintf(h, "\x00host:%s\x00file:%s", nodeName, file)
	sum := h.Sum(nil)
	return api.UID(hex.EncodeToString(sum[:16]))
}

// setIdentity gives pod the identity of a static pod of nodeName: the
// name suffixed with the node's, the "default" namespace when it has none,
// the node, the UID, the annotations of its source, and a toleration of
// every NoExecute taint, since no one may evict a static pod.
func setIdentity(pod *api.Pod, nodeName string, uid api.UID, seen time.Time) {
	pod.Name = pod.Name + "-" + nodeName
	if pod.Namespace == "" {
		pod.Namespace = "default"
	}
	pod.UID = uid
	pod.ResourceVersion = ""
	pod.Spec.NodeName = nodeName
	if pod.Annotations == nil {
		pod.Annotations = make(map[string]string, 3)
	}
	pod.Annotations[AnnotationSource] = SourceFile
	pod.Annotations[AnnotationHash] = string(uid)
	pod.Annotations[AnnotationSeen] = seen.UTC().Format(time.RFC3339Nano)
	if !toleratesAllNoExecute(pod.Spec.Tolerations) {
		pod.Spec.Tolerations = append(pod.Spec.Tolerations, api.Toleration{
			Operator: api.TolerationOpExists,
			Effect:   api.TaintEffectNoExecute,
		})
	}
	pod.Status = api.PodStatus{Phase: api.PodPending}
}

func toleratesAllNoExecute(ts []api.Toleration) bool {
	for _, t := range ts {
		if t.Key == "" && t.Operator == api.TolerationOpExists &&
			(t.Effect == "" || t.Effect == api.TaintEffectNoExecute) {
			return true
		}
	}
	return false
}
