package schemas

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParse_Incremental(t *testing.T) {
	t.Parallel()
	const fields = `"fields":[{"name":"id","type":"int64","nullable":false},{"name":"at","type":"timestamp"},` +
		`{"name":"day","type":"date32"},{"name":"code","type":"string"},{"name":"n","type":"float64"}]`
	doc := func(cursorField, modes, inc string) string {
		updates := "snapshot"
		if strings.Contains(modes, "incremental") {
			updates = "cursor"
		}
		s := `{"name":"s","path":"/s","primary_key":["id"],"updates":"` + updates + `","sync_modes":` + modes + `,` + fields
		if cursorField != "" {
			s += `,"cursor_field":"` + cursorField + `"`
		}
		if inc != "" {
			s += `,"incremental":` + inc
		}
		return s + `}`
	}
	const both = `["incremental","full_refresh"]`
	good := []struct {
		name, body string
		cursor     string
		want       *Watermark
	}{
		{"id watermark", doc("id", both, `{"cursor":"id","filter":"id:gt"}`), "id",
			&Watermark{Cursor: "id", Filter: "id:gt"}},
		{"cursor from cursor_field", doc("id", both, `{"filter":"id:gt"}`), "id",
			&Watermark{Cursor: "id", Filter: "id:gt"}},
		{"cursor_field from cursor", doc("", both, `{"cursor":"at","filter":"updatedAfter","lookback":"10m","layout":"2006-01-02 15:04:05"}`), "at",
			&Watermark{Cursor: "at", Filter: "updatedAfter", Lookback: 10 * time.Minute, Layout: "2006-01-02 15:04:05"}},
		{"date lookback", doc("", `["incremental"]`, `{"cursor":"day","filter":"from","lookback":"48h"}`), "day",
			&Watermark{Cursor: "day", Filter: "from", Lookback: 48 * time.Hour}},
		{"string cursor", doc("", both, `{"cursor":"code","filter":"after","lookback":"0s"}`), "code",
			&Watermark{Cursor: "code", Filter: "after"}},
		{"none", doc("id", both, ``), "id", nil},
	}
	for _, tt := range good {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := Parse([]byte(tt.body))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tt.want, s.Incremental); diff != "" {
				t.Errorf("Incremental mismatch (-want +got):\n%s", diff)
			}
			if s.CursorField != tt.cursor {
				t.Errorf("CursorField = %q, want %q", s.CursorField, tt.cursor)
			}
		})
	}
	bad := []struct{ name, body, want string }{
		{"no cursor", doc("", both, `{"filter":"x"}`), "cursor: missing"},
		{"no filter", doc("id", both, `{}`), "filter: missing"},
		{"cursor differs", doc("id", both, `{"cursor":"at","filter":"x"}`), `differs from cursor_field "id"`},
		{"unknown cursor", doc("", both, `{"cursor":"nope","filter":"x"}`), `cursor "nope" is not a column`},
		{"float cursor", doc("", both, `{"cursor":"n","filter":"x"}`), "want int64, string, date32 or timestamp"},
		{"bad lookback", doc("", both, `{"cursor":"at","filter":"x","lookback":"ten minutes"}`), "lookback"},
		{"negative lookback", doc("", both, `{"cursor":"at","filter":"x","lookback":"-1h"}`), "lookback"},
		{"lookback on id", doc("id", both, `{"filter":"id:gt","lookback":"1h"}`), "only date and timestamp"},
		{"layout on id", doc("id", both, `{"filter":"id:gt","layout":"2006"}`), "only date and timestamp"},
		{"not incremental", doc("id", `["full_refresh"]`, `{"filter":"id:gt"}`), "sync_modes does not list"},
		{"unknown key", doc("id", both, `{"filter":"id:gt","window":"1h"}`), "unknown"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tt.body))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse(%s) error = %v, want one containing %q", tt.body, err, tt.want)
			}
		})
	}
}
