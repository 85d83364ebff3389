package api

import (
	"path"
	"slices"
	"strings"

	"github.com/drover-io/drover/internal/names"
)

// This file holds the rules of pod volumes and volume mounts.

const fileModeMsg = "must be a number between 0 and 0777 (octal), both inclusive"

// validateVolumes checks the volumes of a pod and returns them by name, for
// the volume mounts to refer to.
func validateVolumes(vols []Volume, p *Path) (map[string]VolumeSource, ErrorList) {
	var errs ErrorList
	byName := make(map[string]VolumeSource, len(vols))
	for i := range vols {
		v, vp := &vols[i], p.Index(i)
		if v.Name == "" {
			errs = append(errs, Required(vp.Child("name"), ""))
		} else {
			errs = append(errs, validateDNSLabel(v.Name, vp.Child("name"))...)
			if _, dup := byName[v.Name]; dup {
				errs = append(errs, Duplicate(vp.Child("name"), v.Name))
			} else {
				byName[v.Name] = v.VolumeSource
			}
		}
		errs = append(errs, validateVolumeSource(&v.VolumeSource, vp)...)
	}
	return byName, errs
}

func validateVolumeSource(src *VolumeSource, p *Path) ErrorList {
	var errs ErrorList
	n := 0
	// One is checked, the others are reported as extra, in the order
	// Kubernetes uses.
	for _, s := range []struct {
		name     string
		set      bool
		validate func(*Path) ErrorList
	}{
		{"emptyDir", src.EmptyDir != nil, func(p *Path) ErrorList { return validateEmptyDir(src.EmptyDir, p) }},
		{"hostPath", src.HostPath != nil, func(p *Path) ErrorList { return validateHostPath(src.HostPath, p) }},
		{"secret", src.Secret != nil, func(p *Path) ErrorList {
			s := src.Secret
			return validateProjection("secretName", s.SecretName, s.Items, s.DefaultMode, p)
		}},
		{"downwardAPI", src.DownwardAPI != nil, func(p *Path) ErrorList {
			d := src.DownwardAPI
			errs := validateFileMode(d.DefaultMode, p.Child("defaultMode"))
			for i := range d.Items {
				errs = append(errs, validateDownwardAPIFile(&d.Items[i], p.Child("items").Index(i))...)
			}
			return errs
		}},
		{"configMap", src.ConfigMap != nil, func(p *Path) ErrorList {
			c := src.ConfigMap
			return validateProjection("name", c.Name, c.Items, c.DefaultMode, p)
		}},
		{"projected", src.Projected != nil, func(p *Path) ErrorList { return validateProjected(src.Projected, p) }},
	} {
		if !s.set {
			continue
		}
		if n > 0 {
			errs = append(errs, Forbidden(p.Child(s.name), "may not specify more than 1 volume type"))
			continue
		}
		n++
		errs = append(errs, s.validate(p.Child(s.name))...)
	}
	if n == 0 {
		errs = append(errs, Required(p, "must specify a volume type"))
	}
	return errs
}

func validateEmptyDir(e *EmptyDirVolumeSource, p *Path) ErrorList {
	var errs ErrorList
	if e.Medium != StorageMediumDefault && e.Medium != StorageMediumMemory {
		errs = append(errs, NotSupported(p.Child("medium"), e.Medium, []StorageMedium{StorageMediumDefault, StorageMediumMemory}))
	}
	if q := e.SizeLimit; q != nil && q.Sign() < 0 {
		errs = append(errs, Invalid(p.Child("sizeLimit"), q.String(), nonNegativeMsg))
	}
	return errs
}

var hostPathTypes = []HostPathType{
	HostPathUnset, HostPathDirectoryOrCreate, HostPathDirectory, HostPathFileOrCreate,
	HostPathFile, HostPathSocket, HostPathCharDev, HostPathBlockDev,
}

func validateHostPath(h *HostPathVolumeSource, p *Path) ErrorList {
	var errs ErrorList
	if h.Path == "" {
		errs = append(errs, Required(p.Child("path"), ""))
	} else {
		if !path.IsAbs(h.Path) {
			errs = append(errs, Invalid(p.Child("path"), h.Path, "must be an absolute path"))
		}
		errs = append(errs, validateNoBacksteps(h.Path, p.Child("path"))...)
	}
	if t := h.Type; t != nil && !slices.Contains(hostPathTypes, *t) {
		errs = append(errs, NotSupported(p.Child("type"), *t, hostPathTypes))
	}
	return errs
}

// validateProjection checks a secret or configMap volume (or projection):
// the object's name under nameField, its items and its default mode.
func validateProjection(nameField, name string, items []KeyToPath, mode *int32, p *Path) ErrorList {
	var errs ErrorList
	if name == "" {
		errs = append(errs, Required(p.Child(nameField), ""))
	}
	errs = append(errs, validateFileMode(mode, p.Child("defaultMode"))...)
	for i := range items {
		errs = append(errs, validateKeyToPath(&items[i], p.Child("items").Index(i))...)
	}
	return errs
}

func validateFileMode(mode *int32, p *Path) ErrorList {
	if mode != nil && (*mode < 0 || *mode > 0o777) {
		return ErrorList{Invalid(p, *mode, fileModeMsg)}
	}
	return nil
}

func validateKeyToPath(kp *KeyToPath, p *Path) ErrorList {
	var errs ErrorList
	if kp.Key == "" {
		errs = append(errs, Required(p.Child("key"), ""))
	} else {
		for _, msg := range names.IsConfigMapKey(kp.Key) {
			errs = append(errs, Invalid(p.Child("key"), kp.Key, msg))
		}
	}
	errs = append(errs, validateFilePath(kp.Path, p.Child("path"))...)
	return append(errs, validateFileMode(kp.Mode, p.Child("mode"))...)
}

// validateFilePath checks the path of a file in a volume: relative, not
// going up with "..", and not starting with "..", which the kubelet uses for
// its own files.
func validateFilePath(file string, p *Path) ErrorList {
	if file == "" {
		return ErrorList{Required(p, "")}
	}
	errs := validateRelativePath(file, p)
	if len(errs) == 0 && strings.HasPrefix(file, "..") {
		errs = append(errs, Invalid(p, file, "must not start with '..'"))
	}
	return errs
}

// validateRelativePath checks a path that must stay inside its root.
func validateRelativePath(file string, p *Path) ErrorList {
	var errs ErrorList
	if path.IsAbs(file) {
		errs = append(errs, Invalid(p, file, "must be a relative path"))
	}
	return append(errs, validateNoBacksteps(file, p)...)
}

func validateNoBacksteps(file string, p *Path) ErrorList {
	if slices.Contains(strings.Split(file, "/"), "..") {
		return ErrorList{Invalid(p, file, "must not contain '..'")}
	}
	return nil
}

func validateDownwardAPIFile(f *DownwardAPIVolumeFile, p *Path) ErrorList {
	errs := validateFilePath(f.Path, p.Child("path"))
	switch {
	case f.FieldRef != nil && f.ResourceFieldRef != nil:
		errs = append(errs, Invalid(p, f.Path, "fieldRef and resourceFieldRef can not be specified simultaneously"))
	case f.FieldRef != nil:
		errs = append(errs, validateFieldSelector(f.FieldRef, volumeFieldPaths, p.Child("fieldRef"))...)
	case f.ResourceFieldRef != nil:
		errs = append(errs, validateResourceFieldSelector(f.ResourceFieldRef, true, p.Child("resourceFieldRef"))...)
	default:
		errs = append(errs, Required(p, "one of fieldRef and resourceFieldRef is required"))
	}
	return append(errs, validateFileMode(f.Mode, p.Child("mode"))...)
}

func validateProjected(pv *ProjectedVolumeSource, p *Path) ErrorList {
	errs := validateFileMode(pv.DefaultMode, p.Child("defaultMode"))
	paths := make(map[string]bool)
	addPath := func(file string, fp *Path) {
		if file == "" {
			return
		}
		if paths[file] {
			errs = append(errs, Invalid(fp, file, "conflicting duplicate paths"))
		}
		paths[file] = true
	}
	for i, src := range pv.Sources {
		sp := p.Child("sources").Index(i)
		n := 0
		if s := src.Secret; s != nil {
			n++
			errs = append(errs, validateProjection("name", s.Name, s.Items, nil, sp.Child("secret"))...)
			for j, it := range s.Items {
				addPath(it.Path, sp.Child("secret", "items").Index(j).Child("path"))
			}
		}
		if c := src.ConfigMap; c != nil {
			n++
			errs = append(errs, validateProjection("name", c.Name, c.Items, nil, sp.Child("configMap"))...)
			for j, it := range c.Items {
				addPath(it.Path, sp.Child("configMap", "items").Index(j).Child("path"))
			}
		}
		if d := src.DownwardAPI; d != nil {
			n++
			for j := range d.Items {
				ip := sp.Child("downwardAPI", "items").Index(j)
				errs = append(errs, validateDownwardAPIFile(&d.Items[j], ip)...)
				addPath(d.Items[j].Path, ip.Child("path"))
			}
		}
		if t := src.ServiceAccountToken; t != nil {
			n++
			tp := sp.Child("serviceAccountToken")
			if e := t.ExpirationSeconds; e != nil {
				switch {
				case *e < 600:
					errs = append(errs, Invalid(tp.Child("expirationSeconds"), *e, "may not specify a duration less than 10 minutes"))
				case *e > 1<<32:
					errs = append(errs, Invalid(tp.Child("expirationSeconds"), *e, "may not specify a duration larger than 2^32 seconds"))
				}
			}
			if t.Path == "" {
				errs = append(errs, Required(tp.Child("path"), ""))
			} else {
				errs = append(errs, validateFilePath(t.Path, tp.Child("path"))...)
				addPath(t.Path, tp.Child("path"))
			}
		}
		switch {
		case n == 0:
			errs = append(errs, Required(sp, "must specify a projection source"))
		case n > 1:
			errs = append(errs, Forbidden(sp, "may not specify more than 1 volume type per source"))
		}
	}
	return errs
}

func validateVolumeMounts(mounts []VolumeMount, vols map[string]VolumeSource, p *Path) ErrorList {
	var errs ErrorList
	seen := make(map[string]bool, len(mounts))
	for i, m := range mounts {
		mp := p.Index(i)
		if m.Name == "" {
			errs = append(errs, Required(mp.Child("name"), ""))
		} else if _, ok := vols[m.Name]; !ok {
			errs = append(errs, notFound(mp.Child("name"), m.Name))
		}
		if m.MountPath == "" {
			errs = append(errs, Required(mp.Child("mountPath"), ""))
		} else {
			if !path.IsAbs(m.MountPath) {
				errs = append(errs, Invalid(mp.Child("mountPath"), m.MountPath, "must be an absolute path"))
			}
			if seen[m.MountPath] {
				errs = append(errs, Invalid(mp.Child("mountPath"), m.MountPath, "must be unique"))
			}
			seen[m.MountPath] = true
		}
		if m.SubPath != "" {
			errs = append(errs, validateRelativePath(m.SubPath, mp.Child("subPath"))...)
		}
	}
	return errs
}
