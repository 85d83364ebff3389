package registry_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver/registry"
)

// TestSecretStringDataIsMerged checks that stringData is write-only: a
// Secret is stored with it merged into data (stringData winning), on
// create and on update, and the answer and later reads say so.
func TestSecretStringDataIsMerged(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	secrets := e.registry(t, api.CoreV1.WithKind("Secret"), registry.Options{})
	in := &api.Secret{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "creds"},
		Data:       map[string][]byte{"user": []byte("admin"), "password": []byte("old")},
		StringData: map[string]string{"password": "s3cr3t"},
	}
	out, err := secrets.Create(ctx, in, registry.CreateOptions{})
	require.NoError(t, err)
	want := map[string][]byte{"user": []byte("admin"), "password": []byte("s3cr3t")}
	require.Equal(t, want, out.(*api.Secret).Data)
	require.Nil(t, out.(*api.Secret).StringData)

	got, err := secrets.Get(ctx, "default", "creds", registry.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, want, got.(*api.Secret).Data)
	require.Nil(t, got.(*api.Secret).StringData)

	upd := got.(*api.Secret)
	upd.StringData = map[string]string{"token": "abc"}
	out, err = secrets.Update(ctx, upd, registry.UpdateOptions{})
	require.NoError(t, err)
	want["token"] = []byte("abc")
	require.Equal(t, want, out.(*api.Secret).Data)
	got, err = secrets.Get(ctx, "default", "creds", registry.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, want, got.(*api.Secret).Data)
	require.Nil(t, got.(*api.Secret).StringData)

	// Validation still names stringData for a bad key given there.
	bad := &api.Secret{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "bad"}, StringData: map[string]string{"no/slash": "x"}}
	_, err = secrets.Create(ctx, bad, registry.CreateOptions{})
	se := requireStatus(t, err, api.StatusReasonInvalid, 422)
	require.Equal(t, "stringData[no/slash]", se.Status.Details.Causes[0].Field)
}
