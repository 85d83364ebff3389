package verbs

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
)

// fileOpts are the -f and -R flags of apply, create and delete.
type fileOpts struct {
	files     []string
	recursive bool
}

func (o *fileOpts) addFlags(cmd *cobra.Command, what string) {
	cmd.Flags().StringSliceVarP(&o.files, "filename", "f", nil, "files or directories that hold the objects "+what+" (YAML or JSON; - for standard input)")
	cmd.Flags().BoolVarP(&o.recursive, "recursive", "R", false, "read the directories of -f recursively")
}

// manifest is one object read from a file.
type manifest struct {
	source string
	obj    api.Object
}

// read decodes every object of the files, directories and stdin of -f.
func (o *fileOpts) read(s *api.Scheme, stdin io.Reader) ([]manifest, error) {
	if len(o.files) == 0 {
		return nil, errors.New("you must give -f with the files to read: such as -f web.yaml, -f dir/ or -f - for standard input")
	}
	var out []manifest
	for _, f := range o.files {
		paths, err := o.expand(f)
		if err != nil {
			return nil, err
		}
		for _, p := range paths {
			var data []byte
			if p == "-" {
				data, err = io.ReadAll(stdin)
			} else {
				data, err = os.ReadFile(p)
			}
			if err != nil {
				return nil, fmt.Errorf("read %s: %w", p, err)
			}
			name := p
			if p == "-" {
				name = "<stdin>"
			}
			objs, err := s.DecodeAll(data)
			if err != nil {
				return nil, fmt.Errorf("decode %s: %w", name, err)
			}
			for _, obj := range objs {
				out = append(out, manifest{source: name, obj: obj})
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no objects in %s", strings.Join(o.files, ", "))
	}
	return out, nil
}

// expand turns a -f argument into the files to read: a directory gives
// its .yaml, .yml and .json files (all levels with -R).
func (o *fileOpts) expand(f string) ([]string, error) {
	if f == "-" {
		return []string{f}, nil
	}
	st, err := os.Stat(f)
	if err != nil {
		return nil, fmt.Errorf("-f %s: %w", f, err)
	}
	if !st.IsDir() {
		return []string{f}, nil
	}
	var out []string
	err = filepath.WalkDir(f, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != f && !o.recursive {
				return filepath.SkipDir
			}
			return nil
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".yaml", ".yml", ".json":
			out = append(out, p)
		}
		return nil
	})
	return out, err
}

type applyOpts struct {
	conn
	fileOpts
}

func newApply() *cobra.Command {
	o := &applyOpts{}
	cmd := &cobra.Command{
		Use:   "apply -f FILENAME",
		Short: "Create or update objects from files",
		Long: "Create the objects of the files that do not exist, and update those that do with\n" +
			"a three-way merge: fields removed from the file since the last apply are removed,\n" +
			"fields set by others are kept.",
		Example: "  drover apply -f web.yaml\n  drover apply -R -f manifests/\n  cat web.yaml | drover apply -f -",
		Args:    cobra.NoArgs,
		RunE:    o.run,
	}
	o.conn.addFlags(cmd)
	o.fileOpts.addFlags(cmd, "to apply")
	return cmd
}

func (o *applyOpts) run(cmd *cobra.Command, _ []string) error {
	s, err := o.connect(cmd)
	if err != nil {
		return err
	}
	ms, err := o.read(s.scheme, cmd.InOrStdin())
	if err != nil {
		return err
	}
	var errs []error
	for _, m := range ms {
		res, err := s.apply(ctx(cmd), m.obj)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintln(s.out, res)
	}
	return joinErrs(errs)
}

// placeObject fills obj's namespace and checks it against -n.
func (s *session) placeObject(obj api.Object) (api.Kind, error) {
	k, err := s.scheme.ObjectKind(obj)
	if err != nil {
		return k, err
	}
	m := obj.GetObjectMeta()
	if k.Namespaced && s.explicitNS && m.Namespace != "" && m.Namespace != s.namespace {
		return k, fmt.Errorf("%s: the namespace of the object (%s) does not match -n %s: remove one of them", typeName(k, m.Name), m.Namespace, s.namespace)
	}
	s.scheme.SetDefaultNamespace(obj, s.namespace)
	if m.Name == "" {
		return k, fmt.Errorf("a %s in the files has no metadata.name: apply needs a name (use create for generateName)", k.Kind)
	}
	return k, nil
}

// apply creates obj, or patches the live object with the three-way merge,
// and says which it did: "deployment.apps/web created".
func (s *session) apply(c ctxT, obj api.Object) (string, error) {
	k, err := s.placeObject(obj)
	if err != nil {
		return "", err
	}
	meta := obj.GetObjectMeta()
	name := typeName(k, meta.Name)
	if meta.Annotations != nil {
		delete(meta.Annotations, lastAppliedAnnotation)
	}
	data, err := s.scheme.Encode(obj)
	if err != nil {
		return "", err
	}
	modified, err := toMap(data)
	if err != nil {
		return "", err
	}
	applied, err := json.Marshal(modified)
	if err != nil {
		return "", err
	}
	setAnnotation(modified, lastAppliedAnnotation, string(applied))

	current := k.New()
	err = s.c.Get(c, meta.Namespace, meta.Name, current)
	if api.IsNotFound(err) {
		if meta.Annotations == nil {
			meta.Annotations = map[string]string{}
		}
		meta.Annotations[lastAppliedAnnotation] = string(applied)
		if err := s.c.Create(c, obj); err != nil {
			return "", fmt.Errorf("create %s: %w", name, err)
		}
		return name + " created", nil
	}
	if err != nil {
		return "", err
	}
	cur, err := s.scheme.Encode(current)
	if err != nil {
		return "", err
	}
	curMap, err := toMap(cur)
	if err != nil {
		return "", err
	}
	var original map[string]any
	if last := current.GetObjectMeta().Annotations[lastAppliedAnnotation]; last != "" {
		if original, err = toMap([]byte(last)); err != nil {
			return "", fmt.Errorf("%s: the %s annotation is not valid JSON (%v): delete it, or the object, and apply again", name, lastAppliedAnnotation, err)
		}
	}
	patch := threeWayPatch(original, modified, curMap, k.GoType())
	if len(patch) == 0 {
		return name + " unchanged", nil
	}
	body, err := json.Marshal(patch)
	if err != nil {
		return "", err
	}
	if err := s.c.Patch(c, current, client.StrategicMergePatch, body); err != nil {
		return "", fmt.Errorf("apply %s: %w", name, err)
	}
	return name + " configured", nil
}

func setAnnotation(obj map[string]any, key, value string) {
	meta, _ := obj["metadata"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
		obj["metadata"] = meta
	}
	ann, _ := meta["annotations"].(map[string]any)
	if ann == nil {
		ann = map[string]any{}
		meta["annotations"] = ann
	}
	ann[key] = value
}

type createOpts struct {
	conn
	fileOpts
}

func newCreate() *cobra.Command {
	o := &createOpts{}
	cmd := &cobra.Command{
		Use:     "create -f FILENAME",
		Short:   "Create objects from files",
		Long:    "Create the objects of the files; an object that exists already is an error (see apply).",
		Example: "  drover create -f web.yaml",
		Args:    cobra.NoArgs,
		RunE:    o.run,
	}
	o.conn.addFlags(cmd)
	o.fileOpts.addFlags(cmd, "to create")
	return cmd
}

func (o *createOpts) run(cmd *cobra.Command, _ []string) error {
	s, err := o.connect(cmd)
	if err != nil {
		return err
	}
	ms, err := o.read(s.scheme, cmd.InOrStdin())
	if err != nil {
		return err
	}
	var errs []error
	for _, m := range ms {
		k, err := s.scheme.ObjectKind(m.obj)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.scheme.SetDefaultNamespace(m.obj, s.namespace)
		if err := s.c.Create(ctx(cmd), m.obj); err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintln(s.out, typeName(k, m.obj.GetObjectMeta().Name)+" created")
	}
	return joinErrs(errs)
}
