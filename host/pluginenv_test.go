package host

import (
	"slices"
	"testing"
)

func TestPluginEnvironment(t *testing.T) {
	// base is what a user's environment behind a corporate proxy passes
	// without $QUIVER_PLUGIN_ENV; host adds the secrets a config references
	// and other variables that stay in the host.
	base := []string{
		"HTTPS_PROXY=http://proxy.corp:3128",
		"HTTP_PROXY=http://proxy.corp:3128",
		"NO_PROXY=.corp,10.0.0.0/8",
		"https_proxy=http://proxy.corp:3128",
		"http_proxy=http://proxy.corp:3128",
		"no_proxy=.corp",
		"SSL_CERT_FILE=/etc/corp/ca.pem",
		"SSL_CERT_DIR=/etc/corp/certs",
		"TZ=Europe/Paris",
		"TMPDIR=/var/tmp",
		"HOME=/home/ana",
		"LANG=fr_FR.UTF-8",
		"LC_ALL=fr_FR.UTF-8",
		"PATH=/usr/bin:/bin",
	}
	host := append(slices.Clone(base),
		"ALL_PROXY=socks5://proxy.corp:1080",
		"TRACKTIK_PASSWORD=hunter2",
		"TT_SECRET=s3cret",
		"QUIVER_TRACKVIA_API_KEY=k3y",
		"QUIVER_PLUGIN_DIR=/opt/quiver",
		"AWS_SECRET_ACCESS_KEY=aws",
		"USER=ana",
		"tz=lowercase-is-another-variable",
		"=C:=C:\\",
		"NOEQUALS",
	)
	windows := []string{
		"Path=C:\\Windows",
		"SystemRoot=C:\\Windows",
		"windir=C:\\Windows",
		"LOCALAPPDATA=C:\\Users\\ana\\AppData\\Local",
		"APPDATA=C:\\Users\\ana\\AppData\\Roaming",
		"ProgramData=C:\\ProgramData",
		"USERPROFILE=C:\\Users\\ana",
		"TEMP=C:\\Temp",
		"TMP=C:\\Temp",
		"Https_Proxy=http://proxy.corp:3128",
		"TrackTik_Password=hunter2",
	}
	tests := []struct {
		name    string
		environ []string
		fold    bool
		want    []string
	}{
		{"empty", nil, false, nil},
		{"allowlist only", host, false, base},
		{"extra names", append(slices.Clone(host), "QUIVER_PLUGIN_ENV= GODEBUG, ,USER,NOT_SET"),
			false, append(slices.Clone(base), "USER=ana")},
		{"extra name of a secret the user asked for", append(slices.Clone(host), "QUIVER_PLUGIN_ENV=TT_SECRET"),
			false, append(slices.Clone(base), "TT_SECRET=s3cret")},
		{"the last QUIVER_PLUGIN_ENV counts", append(slices.Clone(host), "QUIVER_PLUGIN_ENV=USER", "QUIVER_PLUGIN_ENV=TT_SECRET"),
			false, append(slices.Clone(base), "TT_SECRET=s3cret")},
		{"empty QUIVER_PLUGIN_ENV", append(slices.Clone(host), "QUIVER_PLUGIN_ENV="), false, base},
		{"unix names are case sensitive", append([]string{"Path=/bin", "SystemRoot=C:\\Windows"}, "QUIVER_PLUGIN_ENV=user"),
			false, nil},
		{"windows names ignore case", windows, true, windows[:len(windows)-1]},
		{"windows extra names ignore case", []string{"quiver_plugin_env=user", "UserName=ana", "User=ana"}, true,
			[]string{"User=ana"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := pluginEnvironment(tt.environ, tt.fold)
			if !slices.Equal(got, tt.want) {
				t.Errorf("pluginEnvironment(fold %v) =\n%q\nwant\n%q", tt.fold, got, tt.want)
			}
		})
	}
}

func TestEnvNames(t *testing.T) {
	got := envNames([]string{"HTTPS_PROXY=http://user:pass@proxy:3128", "TZ=UTC", "EMPTY="})
	if want := []string{"HTTPS_PROXY", "TZ", "EMPTY"}; !slices.Equal(got, want) {
		t.Errorf("envNames = %q, want %q", got, want)
	}
}

func TestWithPluginProcs(t *testing.T) {
	tests := []struct {
		name  string
		env   []string
		fold  bool
		procs int
		want  []string
	}{
		{"half the host's", []string{"TZ=UTC"}, false, 8, []string{"TZ=UTC", "GOMAXPROCS=4"}},
		{"odd rounds down", nil, false, 3, []string{"GOMAXPROCS=1"}},
		{"at least one", nil, false, 1, []string{"GOMAXPROCS=1"}},
		{"the user's, passed by QUIVER_PLUGIN_ENV, wins", []string{"GOMAXPROCS=6"}, false, 2, []string{"GOMAXPROCS=6"}},
		{"unix names are case sensitive", []string{"gomaxprocs=6"}, false, 4, []string{"gomaxprocs=6", "GOMAXPROCS=2"}},
		{"windows names ignore case", []string{"GoMaxProcs=6"}, true, 4, []string{"GoMaxProcs=6"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := withPluginProcs(slices.Clone(tt.env), tt.fold, tt.procs); !slices.Equal(got, tt.want) {
				t.Errorf("withPluginProcs(%q, fold %v, %d) = %q, want %q", tt.env, tt.fold, tt.procs, got, tt.want)
			}
		})
	}
}
