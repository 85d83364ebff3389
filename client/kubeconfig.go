package client

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"
)

// Kubeconfig is a kubeconfig file: the clusters, users and contexts that
// kubectl, client-go and Drover read from ~/.kube/config. Only the fields
// Drover uses are kept; others (preferences, extensions) are ignored on
// read and not written back. Fields that change how or as whom requests
// are made (exec, auth-provider, username/password, impersonation,
// proxy-url) are read so that Config can refuse them.
type Kubeconfig struct {
	APIVersion     string         `json:"apiVersion,omitempty"`
	Kind           string         `json:"kind,omitempty"`
	Clusters       []NamedCluster `json:"clusters"`
	Users          []NamedUser    `json:"users"`
	Contexts       []NamedContext `json:"contexts"`
	CurrentContext string         `json:"current-context,omitempty"`
}

// NamedCluster is a cluster of a kubeconfig, under its name.
type NamedCluster struct {
	Name    string            `json:"name"`
	Cluster KubeconfigCluster `json:"cluster"`
}

// KubeconfigCluster is how to reach an API server.
type KubeconfigCluster struct {
	// Server is the API server's URL.
	Server string `json:"server"`
	// CertificateAuthority names a PEM file of the CAs to trust;
	// CertificateAuthorityData holds the PEM itself (base64 in the file)
	// and wins over the file.
	CertificateAuthority     string `json:"certificate-authority,omitempty"`
	CertificateAuthorityData []byte `json:"certificate-authority-data,omitempty"`
	// InsecureSkipTLSVerify skips the verification of the server's
	// certificate.
	InsecureSkipTLSVerify bool `json:"insecure-skip-tls-verify,omitempty"`
	// TLSServerName is the name to verify the server's certificate for.
	TLSServerName string `json:"tls-server-name,omitempty"`
	// ProxyURL is read only to say that Drover does not support it:
	// ignoring it would connect to the server directly, not through the
	// proxy the kubeconfig names.
	ProxyURL string `json:"proxy-url,omitempty"`
}

// NamedUser is a user of a kubeconfig, under its name.
type NamedUser struct {
	Name string         `json:"name"`
	User KubeconfigUser `json:"user"`
}

// KubeconfigUser is a user's credentials.
type KubeconfigUser struct {
	// ClientCertificate and ClientKey name PEM files of a client
	// certificate and its key; the -data fields hold the PEM (base64 in
	// the file) and win over the files.
	ClientCertificate     string `json:"client-certificate,omitempty"`
	ClientCertificateData []byte `json:"client-certificate-data,omitempty"`
	ClientKey             string `json:"client-key,omitempty"`
	ClientKeyData         []byte `json:"client-key-data,omitempty"`
	// Token is a bearer token; TokenFile names a file holding one.
	Token     string `json:"token,omitempty"`
	TokenFile string `json:"tokenFile,omitempty"`
	// Exec, AuthProvider, Username and Password are read only to say
	// that Drover does not support them.
	Exec         any    `json:"exec,omitempty"`
	AuthProvider any    `json:"auth-provider,omitempty"`
	Username     string `json:"username,omitempty"`
	Password     string `json:"password,omitempty"`
	// Impersonate ("as"), ImpersonateUID, ImpersonateGroups and
	// ImpersonateUserExtra are read only to say that Drover does not
	// support impersonation: ignoring them would act with the user's own
	// (usually wider) rights instead of the identity the kubeconfig asks
	// for.
	Impersonate          string              `json:"as,omitempty"`
	ImpersonateUID       string              `json:"as-uid,omitempty"`
	ImpersonateGroups    []string            `json:"as-groups,omitempty"`
	ImpersonateUserExtra map[string][]string `json:"as-user-extra,omitempty"`
}

// NamedContext is a context of a kubeconfig, under its name.
type NamedContext struct {
	Name    string            `json:"name"`
	Context KubeconfigContext `json:"context"`
}

// KubeconfigContext pairs a cluster with a user and a default namespace.
type KubeconfigContext struct {
	Cluster   string `json:"cluster"`
	User      string `json:"user"`
	Namespace string `json:"namespace,omitempty"`
}

// ParseKubeconfig parses a kubeconfig. Relative file names in it are
// resolved against dir (the directory of the file it was read from; "" for
// the working directory).
func ParseKubeconfig(data []byte, dir string) (*Kubeconfig, error) {
	var kc Kubeconfig
	if err := yaml.Unmarshal(data, &kc); err != nil {
		return nil, fmt.Errorf("client: parse kubeconfig: %w", err)
	}
	if kc.Kind != "" && kc.Kind != "Config" {
		return nil, fmt.Errorf("client: parse kubeconfig: kind is %q: a kubeconfig is kind \"Config\"", kc.Kind)
	}
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	if dir != "" {
		for i := range kc.Clusters {
			abs(&kc.Clusters[i].Cluster.CertificateAuthority)
		}
		for i := range kc.Users {
			u := &kc.Users[i].User
			abs(&u.ClientCertificate)
			abs(&u.ClientKey)
			abs(&u.TokenFile)
		}
	}
	return &kc, nil
}

// ReadKubeconfig reads the kubeconfig file at path, resolving the relative
// file names in it against the file's directory.
func ReadKubeconfig(path string) (*Kubeconfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("client: read kubeconfig: %w", err)
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("client: read kubeconfig %s: %w", path, err)
	}
	kc, err := ParseKubeconfig(data, dir)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return kc, nil
}

// MergeKubeconfigs merges kubeconfigs as kubectl does with the files of
// $KUBECONFIG: the first to define a cluster, user or context name wins,
// and the first non-empty current-context is the current one.
func MergeKubeconfigs(kcs ...*Kubeconfig) *Kubeconfig {
	out := &Kubeconfig{APIVersion: "v1", Kind: "Config"}
	for _, kc := range kcs {
		if out.CurrentContext == "" {
			out.CurrentContext = kc.CurrentContext
		}
		for _, c := range kc.Clusters {
			if !slices.ContainsFunc(out.Clusters, func(o NamedCluster) bool { return o.Name == c.Name }) {
				out.Clusters = append(out.Clusters, c)
			}
		}
		for _, u := range kc.Users {
			if !slices.ContainsFunc(out.Users, func(o NamedUser) bool { return o.Name == u.Name }) {
				out.Users = append(out.Users, u)
			}
		}
		for _, x := range kc.Contexts {
			if !slices.ContainsFunc(out.Contexts, func(o NamedContext) bool { return o.Name == x.Name }) {
				out.Contexts = append(out.Contexts, x)
			}
		}
	}
	return out
}

// Config returns the client Config of the named context, or of the
// current context when context is "". The errors name the missing
// context, cluster or user.
func (kc *Kubeconfig) Config(context string) (Config, error) {
	name := context
	if name == "" {
		name = kc.CurrentContext
	}
	if name == "" {
		return Config{}, fmt.Errorf("client: kubeconfig has no current-context: name a context (one of %s)", contextNames(kc))
	}
	i := slices.IndexFunc(kc.Contexts, func(c NamedContext) bool { return c.Name == name })
	if i < 0 {
		return Config{}, fmt.Errorf("client: kubeconfig has no context %q (contexts: %s)", name, contextNames(kc))
	}
	ctx := kc.Contexts[i].Context
	if ctx.Cluster == "" {
		return Config{}, fmt.Errorf("client: kubeconfig context %q names no cluster", name)
	}
	ci := slices.IndexFunc(kc.Clusters, func(c NamedCluster) bool { return c.Name == ctx.Cluster })
	if ci < 0 {
		return Config{}, fmt.Errorf("client: kubeconfig context %q uses cluster %q, which is not in the kubeconfig", name, ctx.Cluster)
	}
	cl := kc.Clusters[ci].Cluster
	if cl.Server == "" {
		return Config{}, fmt.Errorf("client: kubeconfig cluster %q has no server", ctx.Cluster)
	}
	if cl.ProxyURL != "" {
		return Config{}, fmt.Errorf("client: kubeconfig cluster %q sets proxy-url, which Drover's client does not support: remove it, or set HTTPS_PROXY", ctx.Cluster)
	}
	cfg := Config{
		Host:      cl.Server,
		Namespace: ctx.Namespace,
		TLS: TLSConfig{
			CAData:     cl.CertificateAuthorityData,
			Insecure:   cl.InsecureSkipTLSVerify,
			ServerName: cl.TLSServerName,
		},
	}
	if len(cfg.TLS.CAData) == 0 {
		cfg.TLS.CAFile = cl.CertificateAuthority
	}
	if ctx.User != "" {
		ui := slices.IndexFunc(kc.Users, func(u NamedUser) bool { return u.Name == ctx.User })
		if ui < 0 {
			return Config{}, fmt.Errorf("client: kubeconfig context %q uses user %q, which is not in the kubeconfig", name, ctx.User)
		}
		u := kc.Users[ui].User
		switch {
		case u.Exec != nil:
			return Config{}, fmt.Errorf("client: kubeconfig user %q uses exec credentials, which Drover's client does not support: use a token, a token file or a client certificate", ctx.User)
		case u.AuthProvider != nil:
			return Config{}, fmt.Errorf("client: kubeconfig user %q uses an auth-provider, which Drover's client does not support: use a token, a token file or a client certificate", ctx.User)
		case u.Username != "" || u.Password != "":
			return Config{}, fmt.Errorf("client: kubeconfig user %q uses basic authentication (username/password), which Drover's client does not support: use a token, a token file or a client certificate", ctx.User)
		case u.Impersonate != "" || u.ImpersonateUID != "" || len(u.ImpersonateGroups) > 0 || len(u.ImpersonateUserExtra) > 0:
			return Config{}, fmt.Errorf("client: kubeconfig user %q impersonates (as, as-uid, as-groups, as-user-extra), which Drover's client does not support: use the credentials of that identity instead", ctx.User)
		}
		cfg.BearerToken = u.Token
		if u.Token == "" {
			cfg.BearerTokenFile = u.TokenFile
		}
		cfg.TLS.CertData, cfg.TLS.KeyData = u.ClientCertificateData, u.ClientKeyData
		if len(cfg.TLS.CertData) == 0 {
			cfg.TLS.CertFile = u.ClientCertificate
		}
		if len(cfg.TLS.KeyData) == 0 {
			cfg.TLS.KeyFile = u.ClientKey
		}
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, fmt.Errorf("client: kubeconfig context %q: %w", name, err)
	}
	return cfg, nil
}

func contextNames(kc *Kubeconfig) string {
	if len(kc.Contexts) == 0 {
		return "none"
	}
	names := make([]string, len(kc.Contexts))
	for i, c := range kc.Contexts {
		names[i] = fmt.Sprintf("%q", c.Name)
	}
	return strings.Join(names, ", ")
}

// LoadKubeconfig reads the kubeconfig file at path and returns the Config
// of the named context, or of its current context when context is "".
func LoadKubeconfig(path, context string) (Config, error) {
	kc, err := ReadKubeconfig(path)
	if err != nil {
		return Config{}, err
	}
	cfg, err := kc.Config(context)
	if err != nil {
		return Config{}, fmt.Errorf("%w (in %s)", err, path)
	}
	return cfg, nil
}

// KubeconfigPaths returns the kubeconfig files kubectl would read: those
// listed in $KUBECONFIG (separated by the OS's list separator, ':' on
// Unix), or ~/.kube/config.
func KubeconfigPaths() []string {
	if env := os.Getenv("KUBECONFIG"); env != "" {
		var paths []string
		for _, p := range filepath.SplitList(env) {
			if p != "" && !slices.Contains(paths, p) {
				paths = append(paths, p)
			}
		}
		return paths
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return nil
	}
	return []string{filepath.Join(home, ".kube", "config")}
}

// KubeconfigFromEnv returns the Config of the named context (the current
// one when context is "") of the kubeconfig files of KubeconfigPaths,
// merged as MergeKubeconfigs does. Files of $KUBECONFIG that do not exist
// are skipped, as kubectl does; it is an error if none does.
func KubeconfigFromEnv(context string) (Config, error) {
	paths := KubeconfigPaths()
	if len(paths) == 0 {
		return Config{}, errors.New("client: no kubeconfig: $KUBECONFIG is empty and the home directory is unknown")
	}
	var kcs []*Kubeconfig
	for _, p := range paths {
		kc, err := ReadKubeconfig(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return Config{}, err
		}
		kcs = append(kcs, kc)
	}
	if len(kcs) == 0 {
		return Config{}, fmt.Errorf("client: no kubeconfig: none of %s exists", strings.Join(paths, ", "))
	}
	cfg, err := MergeKubeconfigs(kcs...).Config(context)
	if err != nil {
		return Config{}, fmt.Errorf("%w (in %s)", err, strings.Join(paths, ", "))
	}
	return cfg, nil
}

// NewKubeconfig returns a kubeconfig with one cluster, one user and one
// context, all named name, the current context, for cfg: its Host, TLS
// (CA, client certificate and key, as data when cfg has data and as file
// names otherwise), bearer token (or token file) and Namespace. This is
// what `drover up` writes for the CLI and kubectl.
func NewKubeconfig(name string, cfg Config) *Kubeconfig {
	return &Kubeconfig{
		APIVersion: "v1",
		Kind:       "Config",
		Clusters: []NamedCluster{{Name: name, Cluster: KubeconfigCluster{
			Server:                   cfg.Host,
			CertificateAuthority:     cfg.TLS.CAFile,
			CertificateAuthorityData: cfg.TLS.CAData,
			InsecureSkipTLSVerify:    cfg.TLS.Insecure,
			TLSServerName:            cfg.TLS.ServerName,
		}}},
		Users: []NamedUser{{Name: name, User: KubeconfigUser{
			ClientCertificate:     cfg.TLS.CertFile,
			ClientCertificateData: cfg.TLS.CertData,
			ClientKey:             cfg.TLS.KeyFile,
			ClientKeyData:         cfg.TLS.KeyData,
			Token:                 cfg.BearerToken,
			TokenFile:             cfg.BearerTokenFile,
		}}},
		Contexts: []NamedContext{{Name: name, Context: KubeconfigContext{
			Cluster: name, User: name, Namespace: cfg.Namespace,
		}}},
		CurrentContext: name,
	}
}

// WriteKubeconfig writes kc to path as YAML, readable by its owner only
// (it holds credentials), creating the directory if needed. The file is
// replaced atomically: a reader sees the old file or the new one.
func WriteKubeconfig(path string, kc *Kubeconfig) error {
	out := *kc
	if out.APIVersion == "" {
		out.APIVersion = "v1"
	}
	if out.Kind == "" {
		out.Kind = "Config"
	}
	data, err := yaml.Marshal(&out)
	if err != nil {
		return fmt.Errorf("client: write kubeconfig %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("client: write kubeconfig: %w", err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("client: write kubeconfig: %w", err)
	}
	tmp := f.Name()
	defer func() { _ = os.Remove(tmp) }() // a no-op once renamed
	if err := f.Chmod(0o600); err != nil {
		_ = f.Close()
		return fmt.Errorf("client: write kubeconfig: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return fmt.Errorf("client: write kubeconfig: %w", err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return fmt.Errorf("client: write kubeconfig: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("client: write kubeconfig: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("client: write kubeconfig: %w", err)
	}
	return nil
}
