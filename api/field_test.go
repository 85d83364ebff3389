package api

import "testing"

func TestPathString(t *testing.T) {
	for _, tc := range []struct {
		p    *Path
		want string
	}{
		{nil, ""},
		{NewPath("spec"), "spec"},
		{NewPath("spec", "containers").Index(0).Child("image"), "spec.containers[0].image"},
		{NewPath("metadata", "labels").Key("app.kubernetes.io/name"), "metadata.labels[app.kubernetes.io/name]"},
		{NewPath("data").Key(""), "data[]"},
		{NewPath("spec").Child("volumes").Index(12).Child("items").Index(3).Key("k").Child("path"), "spec.volumes[12].items[3][k].path"},
		{NewPath("a").Index(-1), "a[-1]"},
	} {
		if got := tc.p.String(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}
